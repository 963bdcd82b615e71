"""
One job of a benchmark run: one method trained with one seed across a continual suite, in its own folder
(``<output-dir>/<method>/seed_<s>/``, :func:`job_dir`).

:func:`run_job` (run in a fresh process by :func:`~sb3_gtr.benchmarks.runner.run_jobs`) locks the folder, trains the
model that :func:`build_model` builds with a :class:`~sb3_gtr.continual.callbacks.ContinualTaskCallback`, and writes
the ``done`` marker last, holding the job's configuration as JSON (:func:`job_config_json`): a rerun skips the jobs
whose marker holds the same configuration (:func:`check_resume`), so an interrupted run resumes. :func:`load_job` reads
a finished job's evaluations back. The settings every job of a run shares are made and checked by
:mod:`~sb3_gtr.benchmarks.settings`.
"""

import datetime
import importlib
import json
import pathlib
import shutil
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any, Optional, Union

from sb3_gtr.benchmarks.arguments import NUM_THREADS, BadArgument
from sb3_gtr.benchmarks.reports import describe
from sb3_gtr.benchmarks.runner import LOCK_FILE, lock_job_dir, progress_file_callback, read_done, write_done
from sb3_gtr.continual.metrics import EvaluationTable
from sb3_gtr.continual.suites import make_suite
from sb3_gtr.continual.tasks import Phase

#: The logger's values of every rollout in a job folder (SB3's CSV output format names it so).
DIAGNOSTICS_FILE = "progress.csv"
#: Offset of the evaluation seeds from the training seed, so that evaluation never replays training episodes.
EVAL_SEED_OFFSET = 10_000
#: Arguments that ``--algo-kwargs`` cannot set: the runner sets them per job.
RESERVED_ALGO_KWARGS = ("policy", "env", "seed", "device", "policy_kwargs", "verbose", "_init_setup_model")
#: Keys of a job's configuration that say how it runs, not what it computes: left out of the comparison with a
#: finished job's ``done`` marker, so that a rerun with other threads resumes.
_EXECUTION_KEYS = ("job_dir", "num_threads")


def policy_name(policy: Union[str, type]) -> str:
    """
    :param policy: A policy alias or a policy class
    :return: A name :func:`resolve_policy` turns back into the policy: the alias, or ``module.ClassName``
    """
    return policy if isinstance(policy, str) else describe(policy)


def resolve_policy(policy: str) -> tuple[type, Union[str, type]]:
    """
    The algorithm and the policy of a policy name: a ``GTRPPO`` alias (``MlpPolicy``, ``SimbaPolicy`` ...), a
    ``RecurrentGTRPPO`` alias (``MlpLnGruPolicy`` ...), or the import path of a policy class.

    :param policy: The policy name
    :return: ``GTRPPO`` or ``RecurrentGTRPPO`` (for a recurrent policy), and the policy to give it
    """
    from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
    from stable_baselines3.common.policies import BasePolicy

    from sb3_gtr import GTRPPO, RecurrentGTRPPO

    if policy in GTRPPO.policy_aliases:
        return GTRPPO, policy
    if policy in RecurrentGTRPPO.policy_aliases:
        return RecurrentGTRPPO, policy
    aliases = ", ".join(sorted({*GTRPPO.policy_aliases, *RecurrentGTRPPO.policy_aliases}))
    module_name, _, class_name = policy.replace(":", ".").rpartition(".")
    if not module_name:
        raise ValueError(f"Unknown policy {policy!r}: use one of {aliases} or the import path of a policy class")
    try:
        policy_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise ValueError(
            f"Unknown policy {policy!r}: cannot import it ({error}); use one of {aliases} or the import path of a policy class"
        ) from error
    if not (isinstance(policy_class, type) and issubclass(policy_class, BasePolicy)):
        raise ValueError(f"{policy!r} is not a policy class (a subclass of stable_baselines3's BasePolicy)")
    return (RecurrentGTRPPO if issubclass(policy_class, RecurrentActorCriticPolicy) else GTRPPO), policy_class


def default_output_dir(suite: str) -> pathlib.Path:
    """
    :param suite: The suite
    :return: The output folder of a benchmark run when none is given: ``results/<suite>``
    """
    return pathlib.Path("results") / suite


def job_dir(output_dir: Union[str, pathlib.Path], method: str, seed: int) -> pathlib.Path:
    """
    :param output_dir: The benchmark's output folder
    :param method: Method name
    :param seed: Seed
    :return: The folder of the job's files
    """
    return pathlib.Path(output_dir) / method / f"seed_{seed}"


def normalized_json(value: Any) -> Any:
    """
    :param value: A value
    :return: The value as JSON would give it back (tuples as lists, classes as import paths): what ``done`` stores
    """
    return json.loads(json.dumps(value, sort_keys=True, default=describe))


def job_config_json(config: Mapping[str, Any]) -> dict[str, Any]:
    """
    :param config: A job's configuration
    :return: What its ``done`` marker stores and a rerun compares: the configuration as JSON, without the keys that
        only say how the job runs (:data:`_EXECUTION_KEYS`: its folder, its threads)
    """
    return normalized_json({key: value for key, value in config.items() if key not in _EXECUTION_KEYS})


def check_resume(directory: pathlib.Path, config: Mapping[str, Any]) -> bool:
    """Whether the job is finished with this configuration; a different one is an error (results would mix)."""
    done = read_done(directory)
    if done is None:
        return False
    stored, current = done["config"], job_config_json(config)
    if stored != current:
        keys = sorted(key for key in set(stored) | set(current) if stored.get(key) != current.get(key))
        raise BadArgument(
            f"{directory} holds a job finished with another configuration (differing: {', '.join(keys)}): use another "
            "--output-dir, or --force to rerun every job"
        )
    return True


def _clear_job_dir(directory: pathlib.Path) -> None:
    """Remove the files of an interrupted attempt, keeping the lock file (held by this process)."""
    for entry in directory.iterdir():
        if entry.name == LOCK_FILE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def build_model(config: Mapping[str, Any], env: Any, device: Optional[str] = None, **extra: Any) -> Any:
    """
    The model of a job, as the job builds it: used by :func:`run_job` and by
    :func:`~sb3_gtr.benchmarks.settings.validate_jobs`, so that the
    check before the jobs builds the very model each job will train.

    :param config: The job's settings (of :func:`~sb3_gtr.benchmarks.settings.job_settings`) with ``method_kwargs`` and
        ``seed``
    :param env: The training env
    :param device: Torch device (``None``: the job's ``device``)
    :param extra: Further keyword arguments of the algorithm (``_init_setup_model`` ...)
    :return: The ``GTRPPO`` (or ``RecurrentGTRPPO``) model
    """
    algorithm_class, policy = resolve_policy(config["policy"])
    return algorithm_class(
        policy,
        env,
        policy_kwargs=config["policy_kwargs"],
        seed=config["seed"],
        device=config["device"] if device is None else device,
        verbose=0,
        **config["algo_kwargs"],
        **config["method_kwargs"],
        **extra,
    )


def done_marker(config: Mapping[str, Any], model: Any, wall_time: float) -> dict[str, Any]:
    """
    :param config: The job's configuration
    :param model: The trained model
    :param wall_time: Seconds of ``learn()``
    :return: The content of the job's ``done`` marker: its configuration as JSON, the algorithm, steps, wall time,
        torch threads (as set, read back: what the job trained with) and when it finished
    """
    import torch as th

    return {
        "config": job_config_json(config),
        "algorithm": type(model).__name__,
        "num_timesteps": int(model.num_timesteps),
        "wall_time_s": wall_time,
        "num_threads": th.get_num_threads(),
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def run_in_job_folder(
    config: Mapping[str, Any], keep_done: bool, train: Callable[[pathlib.Path], tuple[Any, float]]
) -> dict[str, Any]:
    """
    The job-folder protocol every benchmark job follows: take the folder's lock (held until this returns, or until the
    process ends, however it ends), return the finished marker as it is when ``keep_done`` and it holds this
    configuration, otherwise clear the folder, train, and write the ``done`` marker last. On an error the traceback
    goes to ``error.txt`` and the error is raised again.

    :param config: The job's configuration, with ``job_dir``
    :param keep_done: Return a ``done`` marker already in the folder that holds this configuration, without training
    :param train: Trains into the folder, returning the model and the seconds of ``learn()``
    :return: The content of the ``done`` marker (with ``"reused": True`` when kept)
    :raises JobLocked: If another process holds the folder's lock (nothing in the folder is touched)
    """
    directory = pathlib.Path(config["job_dir"])
    lock = lock_job_dir(directory)
    try:
        if keep_done:
            done = read_done(directory)
            if done is not None and done["config"] == job_config_json(config):
                return {**done, "reused": True}
        _clear_job_dir(directory)
        try:
            model, wall_time = train(directory)
        except BaseException:
            (directory / "error.txt").write_text(traceback.format_exc())
            raise
        done = done_marker(config, model, wall_time)
        write_done(directory, done)
        return done
    finally:
        if lock is not None:
            lock.close()


def run_job(config: dict[str, Any], keep_done: bool = False) -> dict[str, Any]:
    """
    Train one method with one seed across the suite; meant to run in its own process.

    Takes the job folder's lock first (:func:`~sb3_gtr.benchmarks.runner.lock_job_dir`; held until it returns, or
    until the process ends, however it ends), so that two runners never train into one folder. Then clears the
    folder, trains with a :class:`~sb3_gtr.continual.callbacks.ContinualTaskCallback` writing into it, writes the step
    count to its ``progress`` file after every rollout and the logger's values of every rollout to ``progress.csv``
    (:data:`DIAGNOSTICS_FILE`), then writes the ``done`` marker last. On an error the
    traceback goes to ``error.txt`` and the error is raised again.

    :param config: The job: ``job_dir``, ``suite``, ``scale``, ``n_cycles``, ``suite_kwargs``, ``method``,
        ``method_kwargs``, ``algo_kwargs``, ``policy``, ``policy_kwargs``, ``seed``, ``n_envs``, ``normalize_kwargs``,
        ``eval_freq``, ``n_eval_episodes``, ``device`` and optionally ``num_threads`` (torch threads, default
        :data:`~sb3_gtr.benchmarks.arguments.NUM_THREADS`)
    :param keep_done: Return the ``done`` marker already in the folder, without training, when it holds this
        configuration (another runner finished the job between the runner's check and this call)
    :return: The content of the ``done`` marker (with ``"reused": True`` when kept)
    :raises JobLocked: If another process holds the folder's lock (nothing in the folder is touched)
    """
    import torch as th
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.vec_env import VecNormalize

    from sb3_gtr.continual.callbacks import ContinualTaskCallback
    from sb3_gtr.continual.vec_env import make_continual_vec_env

    th.set_num_threads(int(config.get("num_threads", NUM_THREADS)))

    def train(directory: pathlib.Path) -> tuple[Any, float]:
        sequence = make_suite(config["suite"], scale=config["scale"], n_cycles=config["n_cycles"], **config["suite_kwargs"])
        env = make_continual_vec_env(sequence, n_envs=config["n_envs"], seed=config["seed"])
        if config["normalize_kwargs"] is not None:
            env = VecNormalize(env, **config["normalize_kwargs"])
        model = build_model(config, env)
        # The training diagnostics of every rollout (the paper's Section 3: policy shift, gradient norm, entropy,
        # penalty), read by sb3_gtr.benchmarks.diagnostics
        model.set_logger(configure(str(directory), ["csv"]))
        callback = ContinualTaskCallback(
            sequence,
            eval_freq=config["eval_freq"],
            n_eval_episodes=config["n_eval_episodes"],
            log_dir=str(directory),
            eval_seed=config["seed"] + EVAL_SEED_OFFSET,
        )
        start = time.perf_counter()
        model.learn(sequence.total_timesteps, callback=[callback, progress_file_callback(directory)])
        wall_time = time.perf_counter() - start
        model.logger.close()
        env.close()
        return model, wall_time

    return run_in_job_folder(config, keep_done, train)


def load_job(directory: Union[str, pathlib.Path]) -> tuple[EvaluationTable, list[Phase]]:
    """
    The evaluations and the phases of a finished job.

    :param directory: The job folder
    :return: The evaluation table and the phases trained
    """
    directory = pathlib.Path(directory)
    table = EvaluationTable.from_csv(str(directory / "evaluations.csv"))
    metrics = json.loads((directory / "metrics.json").read_text())
    phases = [Phase(phase["task_id"], phase["start"], phase["end"]) for phase in metrics["phases"]]
    return table, phases
