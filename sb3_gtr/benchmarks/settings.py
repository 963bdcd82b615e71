"""
The settings every job of a run shares, made from the command line's arguments and the suite's recommendations
(:func:`job_settings`), and checked before any job starts (:func:`validate_jobs`: the suite's environments and each
method's model are built once in the runner), so that a bad one ends the command with a line naming its flag rather
than failing in every job.
"""

import inspect
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np

from sb3_gtr.benchmarks.arguments import (
    EVALS_PER_PHASE,
    NUM_THREADS,
    BadArgument,
    check_count,
    check_device,
    error_text,
    prepare_output_dir,
)
from sb3_gtr.benchmarks.jobs import RESERVED_ALGO_KWARGS, build_model, policy_name, resolve_policy
from sb3_gtr.benchmarks.reports import dumps
from sb3_gtr.common.checks import is_int
from sb3_gtr.continual.suites import SUITES, make_suite
from sb3_gtr.continual.tasks import TaskSequence


def suite_recommendations(sequence: TaskSequence) -> dict[str, Any]:
    """
    The settings a suite recommends for its benchmark, carried by the :class:`~sb3_gtr.continual.tasks.TaskSequence` it
    returns.

    :param sequence: The task sequence built by the suite
    :return: ``policy`` (``None``: no recommendation), ``policy_kwargs`` (meant for that policy) and
        ``normalize_kwargs`` (keyword arguments of ``VecNormalize``; ``None``: no normalisation recommended)
    """
    return {
        "policy": getattr(sequence, "policy", None),
        "policy_kwargs": getattr(sequence, "policy_kwargs", None) or None,
        "normalize_kwargs": getattr(sequence, "normalize_kwargs", None),
    }


def resolve_setup(
    sequence: TaskSequence,
    policy: Optional[Union[str, type]] = None,
    policy_kwargs: Optional[dict[str, Any]] = None,
    normalize: Optional[bool] = None,
    normalize_kwargs: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """
    The policy and the observation/reward normalisation of every job: the user's choices, else the suite's
    recommendations (:func:`suite_recommendations`), else ``MlpPolicy`` without normalisation.

    :param sequence: The task sequence built by the suite
    :param policy: Policy alias, import path or class (``None``: the suite's, else ``MlpPolicy``)
    :param policy_kwargs: Policy keyword arguments (``None``: the suite's when the policy is the suite's, else none,
        since they are meant for that policy)
    :param normalize: ``None``: as the suite recommends; ``True``: always (with ``normalize_kwargs``, else the
        suite's, else VecNormalize's defaults); ``False``: never
    :param normalize_kwargs: Keyword arguments of ``VecNormalize`` (``None``: the suite's); not with
        ``normalize=False``
    :return: ``policy`` (as a name, see :func:`~sb3_gtr.benchmarks.jobs.policy_name`), ``policy_kwargs`` and
        ``normalize_kwargs`` (``None``:
        no ``VecNormalize``)
    :raises BadArgument: If ``normalize_kwargs`` is given with ``normalize=False``
    """
    if normalize is False and normalize_kwargs is not None:
        # They would be dropped without a word: the user asked for two contradicting things.
        raise BadArgument(
            f"--normalize-kwargs {dumps(normalize_kwargs)} is given with --no-normalize, which uses no VecNormalize: "
            "drop one of them"
        )
    recommended = suite_recommendations(sequence)
    suite_policy = recommended["policy"]
    if policy is None:
        policy = suite_policy if suite_policy is not None else "MlpPolicy"
    if policy_kwargs is None and suite_policy is not None and policy_name(policy) == policy_name(suite_policy):
        policy_kwargs = recommended["policy_kwargs"]
    if normalize_kwargs is None:
        normalize_kwargs = recommended["normalize_kwargs"]
    if normalize is False:
        normalize_kwargs = None
    elif normalize and normalize_kwargs is None:
        normalize_kwargs = {}
    return {"policy": policy_name(policy), "policy_kwargs": policy_kwargs, "normalize_kwargs": normalize_kwargs}


def _suite_parameters(suite: str) -> str:
    """What a suite's keyword arguments may be, for messages."""
    function = SUITES[suite]
    parameters = [
        parameter for name, parameter in inspect.signature(function).parameters.items() if name not in ("scale", "n_cycles")
    ]
    named = [p.name for p in parameters if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    text = f"suite {suite!r} takes {', '.join(named) if named else 'no named argument'}"
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        text += f" and keyword arguments that sb3_gtr.continual.suites.{function.__name__} passes on"
    return text


def _default_n_steps(algorithm_class: type, algo_kwargs: Mapping[str, Any]) -> int:
    """``n_steps`` of the jobs: the shared hyperparameter, else the algorithm's default."""
    n_steps = algo_kwargs.get("n_steps")
    if is_int(n_steps) and n_steps >= 1:
        return int(n_steps)
    return int(inspect.signature(algorithm_class.__init__).parameters["n_steps"].default)


def default_eval_freq(sequence: TaskSequence, n_steps: int, n_envs: int = 1) -> int:
    """
    The evaluation interval when none is given: :data:`~sb3_gtr.benchmarks.arguments.EVALS_PER_PHASE` evaluations in the
    shortest phase, but never
    more often than once per rollout (``n_steps * n_envs`` steps): the policy only changes between rollouts, so more
    evaluations would re-measure the same policy (a tiny ``--scale`` once evaluated a million steps to train 2,048).

    :param sequence: The task sequence
    :param n_steps: Rollout length per environment
    :param n_envs: Parallel environments
    :return: Steps between evaluations
    """
    shortest = min(sequence.task_timesteps(task_id) for task_id in range(len(sequence)))
    return max(1, n_steps * n_envs, shortest // EVALS_PER_PHASE)


def job_settings(
    suite: str,
    scale: float = 1.0,
    n_cycles: Optional[int] = None,
    suite_kwargs: Optional[dict[str, Any]] = None,
    algo_kwargs: Optional[dict[str, Any]] = None,
    policy: Optional[str] = None,
    policy_kwargs: Optional[dict[str, Any]] = None,
    n_envs: int = 1,
    normalize: Optional[bool] = None,
    normalize_kwargs: Optional[dict[str, Any]] = None,
    eval_freq: Optional[int] = None,
    n_eval_episodes: int = 5,
    device: str = "cpu",
    num_threads: int = NUM_THREADS,
) -> tuple[TaskSequence, dict[str, Any]]:
    """
    The settings every job of a run shares (a job adds ``method``, ``method_kwargs``, ``seed`` and ``job_dir``);
    the arguments are those of :func:`~sb3_gtr.benchmarks.continual.run_benchmark`. Checks every value that needs no
    environment or model (see
    :func:`validate_jobs` for the rest).

    :return: The suite's task sequence and the settings
    :raises BadArgument: For a value no job could run with, naming its flag
    """
    if suite not in SUITES:
        raise BadArgument(f"Unknown suite {suite!r} (--suite), available suites: {', '.join(sorted(SUITES))}")
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.number)) or not (math.isfinite(scale) and scale > 0):
        raise BadArgument(f"--scale must be a positive finite number (a factor on every task's step budget), got {scale!r}")
    if n_cycles is not None:
        check_count("--n-cycles", n_cycles)
    check_count("--n-envs", n_envs)
    check_count("--n-eval-episodes", n_eval_episodes)
    check_count("--num-threads", num_threads)
    if eval_freq is not None:
        check_count(
            "--eval-freq",
            eval_freq,
            " (every task is also evaluated at each switch and at the end: a value above the budget evaluates only there)",
        )
    for flag, value in (
        ("--suite-kwargs", suite_kwargs),
        ("--algo-kwargs", algo_kwargs),
        ("--policy-kwargs", policy_kwargs),
        ("--normalize-kwargs", normalize_kwargs),
    ):
        if value is not None and not isinstance(value, Mapping):
            raise BadArgument(f"{flag} must be a JSON object (a dict of keyword arguments), got {value!r}")
    check_device(device)
    suite_kwargs = dict(suite_kwargs or {})
    algo_kwargs = dict(algo_kwargs or {})
    try:
        sequence = make_suite(suite, scale=scale, n_cycles=n_cycles, **suite_kwargs)
    except ImportError as error:
        raise BadArgument(f"--suite {suite}: {error_text(error)}") from error
    except (TypeError, ValueError) as error:
        raise BadArgument(f"--suite-kwargs {dumps(suite_kwargs)}: {error_text(error)} ({_suite_parameters(suite)})") from error
    setup = resolve_setup(sequence, policy, policy_kwargs, normalize, normalize_kwargs)
    try:
        algorithm_class, _ = resolve_policy(setup["policy"])
    except ValueError as error:
        raise BadArgument(f"--policy: {error}") from error
    if eval_freq is None:
        eval_freq = default_eval_freq(sequence, _default_n_steps(algorithm_class, algo_kwargs), n_envs)
    settings = {
        "suite": suite,
        "scale": scale,
        "n_cycles": n_cycles,
        "suite_kwargs": suite_kwargs,
        "algo_kwargs": algo_kwargs,
        **setup,
        "n_envs": n_envs,
        "eval_freq": int(eval_freq),
        "n_eval_episodes": n_eval_episodes,
        "device": device,
        "num_threads": int(num_threads),
    }
    return sequence, settings


def _algorithm_parameters(algorithm_class: type) -> list[str]:
    """The keyword arguments of the algorithm that the shared hyperparameters and the methods may set."""
    parameters = inspect.signature(algorithm_class.__init__).parameters
    return [name for name in parameters if name != "self" and name not in RESERVED_ALGO_KWARGS]


def validate_jobs(
    sequence: TaskSequence, settings: Mapping[str, Any], methods: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """
    Build once, in this process, what every job builds: the suite's environments (every task's, with
    ``VecNormalize``), the policy, and each method's model with the shared hyperparameters (by
    :func:`~sb3_gtr.benchmarks.jobs.build_model`, as
    the job does, on the CPU), and check the schedule as the job's callback does (no phase shorter than ``n_envs``
    steps), so that a bad setting fails here, before any job starts or any folder is written, with a message naming its
    flag, instead of in every job. Warns when a rollout
    (``n_steps * n_envs`` steps) is longer than a phase or than the whole sequence: the policy is then not updated
    between some task switches (or not at all), which a quick run at a small ``--scale`` easily hits.

    :param sequence: The task sequence (of :func:`job_settings`)
    :param settings: The shared settings (of :func:`job_settings`)
    :param methods: ``{name: kwargs}`` of the methods to run (of :func:`~sb3_gtr.benchmarks.methods.resolve_methods`)
    :return: ``algorithm`` (the class of every job) and, per method, its ``n_steps`` and ``n_epochs``
    :raises BadArgument: For a setting no job could run with, naming its flag
    """
    from stable_baselines3.common.vec_env import VecNormalize

    from sb3_gtr.continual.vec_env import check_phases_fit, make_continual_vec_env

    algorithm_class, _ = resolve_policy(settings["policy"])
    # What the job's callback refuses when its training starts, refused here for every job at once.
    try:
        check_phases_fit(sequence, settings["n_envs"])
    except ValueError as error:
        raise BadArgument(f"--scale {settings['scale']:g} / --n-envs {settings['n_envs']}: {error}") from None
    allowed = _algorithm_parameters(algorithm_class)
    algo_kwargs = dict(settings["algo_kwargs"])
    unknown = sorted(set(algo_kwargs) - set(allowed))
    if unknown:
        raise BadArgument(
            f"--algo-kwargs: unknown argument(s) {unknown} of {algorithm_class.__name__}; allowed: {', '.join(allowed)}"
        )
    for name, kwargs in methods.items():
        unknown = sorted(set(kwargs) - set(allowed))
        if unknown:
            raise BadArgument(
                f"--method-kwargs: method {name!r} sets unknown argument(s) {unknown} of {algorithm_class.__name__}; "
                f"allowed: {', '.join(allowed)}"
            )
    try:
        env = make_continual_vec_env(sequence, n_envs=settings["n_envs"], seed=0)
        # Every task's environment, as the job's callback builds them before its first step (once is enough here).
        env.env_method("build_task_envs", indices=[0])
    except ImportError as error:
        raise BadArgument(f"--suite {settings['suite']}: cannot build its environments: {error_text(error)}") from error
    except Exception as error:
        raise BadArgument(
            f"--suite-kwargs {dumps(settings['suite_kwargs'])}: cannot build the suite's environments: {error_text(error)} "
            f"({_suite_parameters(settings['suite'])})"
        ) from error
    try:
        if settings["normalize_kwargs"] is not None:
            try:
                env = VecNormalize(env, **settings["normalize_kwargs"])
            except Exception as error:
                raise BadArgument(f"--normalize-kwargs {dumps(settings['normalize_kwargs'])}: {error_text(error)}") from error

        def build(method_kwargs: Mapping[str, Any], shared: bool = True, **extra: Any) -> Any:
            # The job's own model (build_model), with or without the shared hyperparameters; on the CPU whatever the
            # jobs' device: the check needs no accelerator (--device is checked by job_settings).
            config = {
                **settings,
                "algo_kwargs": algo_kwargs if shared else {},
                "method_kwargs": dict(method_kwargs),
                "seed": 0,
            }
            return build_model(config, env, device="cpu", **extra)

        try:
            bare = build({}, shared=False, _init_setup_model=False)
            bare._setup_lr_schedule()
            bare.policy_class(
                bare.observation_space, bare.action_space, bare.lr_schedule, use_sde=bare.use_sde, **bare.policy_kwargs
            )
        except Exception as error:
            flag = "--policy-kwargs" if settings["policy_kwargs"] else "--policy"
            raise BadArgument(
                f"{flag}: cannot build policy {settings['policy']} with policy_kwargs {dumps(settings['policy_kwargs'])} "
                f"for the suite's spaces: {error_text(error)}"
            ) from error
        info: dict[str, Any] = {"algorithm": algorithm_class, "n_steps": {}, "n_epochs": {}}
        for name, kwargs in methods.items():
            try:
                model = build(kwargs)
            except Exception as error:
                try:
                    build(kwargs, shared=False)
                except Exception:  # the method fails on its own: its kwargs are to blame
                    raise BadArgument(
                        f"--method-kwargs: method {name!r} ({dumps(dict(kwargs))}): {error_text(error)}"
                    ) from error
                raise BadArgument(f"--algo-kwargs {dumps(algo_kwargs)}: {error_text(error)}") from error
            info["n_steps"][name], info["n_epochs"][name] = int(model.n_steps), int(model.n_epochs)
            if model.tensorboard_log is not None:
                # Each job creates it at its first step: one that cannot be created would fail every job there.
                flag = "--algo-kwargs" if "tensorboard_log" in algo_kwargs else f"--method-kwargs (method {name!r})"
                shown = dumps(algo_kwargs if "tensorboard_log" in algo_kwargs else dict(kwargs))
                prepare_output_dir(model.tensorboard_log, f"{flag} {shown}: tensorboard_log", create=False)
    finally:
        env.close()
    _warn_about_rollouts(sequence, settings["n_envs"], sorted(set(info["n_steps"].values())))
    return info


def _warn_about_rollouts(sequence: TaskSequence, n_envs: int, n_steps_values: Sequence[int]) -> None:
    """Warn when a rollout is longer than a phase, or than the whole sequence (see :func:`validate_jobs`)."""
    shortest = min(sequence.task_timesteps(task_id) for task_id in range(len(sequence)))
    total = sequence.total_timesteps
    for n_steps in n_steps_values:
        rollout = n_steps * n_envs
        if rollout > total:
            warnings.warn(
                f"n_steps * n_envs = {n_steps} * {n_envs} = {rollout} steps per rollout is more than the whole sequence "
                f"({total} steps): each job collects a single rollout, updates the policy once at the end and evaluates "
                "the same initial policy at every task switch. Lower n_steps in --algo-kwargs or raise --scale.",
                UserWarning,
                stacklevel=3,
            )
        elif rollout > shortest:
            warnings.warn(
                f"n_steps * n_envs = {n_steps} * {n_envs} = {rollout} steps per rollout is more than the shortest phase "
                f"({shortest} steps): rollouts span task switches and some phases end before the policy is updated on "
                "them. Lower n_steps in --algo-kwargs or raise --scale.",
                UserWarning,
                stacklevel=3,
            )
