"""
Continual-learning benchmark: PPO, PPO with a KL penalty, SPO and GTR on a named task suite, several
seeds each, one process per (method, seed) job, then one table and one plot comparing them.

Every method is a ``GTRPPO`` (``RecurrentGTRPPO`` for a recurrent policy) that differs only in its
trust-region arguments (:data:`METHODS`), with the same policy, hyperparameters, environment seeds and
evaluation seeds, so the comparison isolates the objective. Each job trains one model across the whole
suite with a :class:`~sb3_gtr.continual.callbacks.ContinualTaskCallback` and writes the callback's files
(``evaluations.csv``, ``metrics.json`` ...) and a ``done`` marker into ``<output-dir>/<method>/seed_<s>/``;
a rerun skips the jobs whose marker holds the same configuration, so an interrupted benchmark resumes.

Every setting is checked before any job starts (:func:`job_settings`, :func:`validate_jobs`: the suite's
environments and each method's model are built once in the runner), so a bad one ends the command with a line
naming its flag rather than failing in every job. While a job runs its process holds a lock on its folder, so a
second runner on the same folder leaves the job alone; Ctrl-C or ``SIGTERM`` stops every job (each runs in its
own process group) and keeps the finished ones.

When every job is done the runner normalises each task's returns by the minimum and maximum evaluation
return of that task over *all* the jobs of the run (shared by every method, so that a score of 1 means
"the best any method reached"), recomputes the metrics of every job with these references
(:func:`~sb3_gtr.continual.metrics.compute_metrics`), and writes, in ``<output-dir>``:

- ``results.csv`` (one row per method and metric: number of seeds, mean, 95% interval) and ``results.md``
  (the same as a table, with the settings);
- ``per_seed.csv`` (every job's metrics) and ``results.json`` (settings, normalisation, per-seed metrics);
- ``comparison.png``: mean normalised performance over training steps per method, with its 95% band.

Intervals are two-sided Student-t intervals over seeds, ``mean +- t(0.975, n - 1) * s / sqrt(n)`` (seeds
are few, so a bootstrap interval would be too narrow); no interval with a single seed.

Usage::

    python -m sb3_gtr.benchmarks.continual --suite flip --methods ppo ppo-kl spo gtr --seeds 0 1 2 \\
        --scale 0.05 --jobs 2 --output-dir results/flip

    # a sweep over sigma: new methods derived from an existing one
    python -m sb3_gtr.benchmarks.continual --suite flip --methods gtr gtr-s0.3 \\
        --method-kwargs '{"gtr-s0.3": {"base": "gtr", "sigma": 0.3}}' --algo-kwargs '{"n_steps": 1024}'
"""

import argparse
import contextlib
import datetime
import importlib
import inspect
import json
import math
import os
import pathlib
import shlex
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import numpy as np

from sb3_gtr.benchmarks._workers import (
    LOCK_FILE,
    JobLocked,
    SignalGuard,
    Worker,
    WorkerError,
    lock_holder,
    lock_job_dir,
    stop_all,
)
from sb3_gtr.common.checks import is_int
from sb3_gtr.continual.metrics import EvaluationTable, area_under_curve, compute_metrics, normalize_returns
from sb3_gtr.continual.suites import SUITES, make_suite
from sb3_gtr.continual.tasks import Phase, TaskSequence

#: Fixed KL coefficient of ``ppo-kl``: the PPO paper's (Schulman et al., 2017, Table 1) fixed-KL sweep over
#: {0.3, 1, 3, 10} found 1 and 3 about equally good (0.71 and 0.72 normalised score); 1 is the lighter one,
#: fitting a penalty added on top of the clipped surrogate. Sweep it with ``--method-kwargs``.
PPO_KL_COEF = 1.0


@dataclass(frozen=True)
class Method:
    """
    A method of the benchmark: ``GTRPPO`` keyword arguments and why they define the method.

    :param kwargs: Keyword arguments of ``GTRPPO`` (the trust-region ones); the rest is shared by all methods
    :param description: One sentence for the results page
    """

    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""


#: The methods, by name. Add one with ``METHODS["name"] = Method({...}, "...")``, or on the command line with
#: ``--method-kwargs '{"name": {"base": "gtr", "sigma": 0.3}}'``.
METHODS: dict[str, Method] = {
    "ppo": Method({"penalty": "none"}, "PPO: clipped surrogate, no penalty."),
    "ppo-kl": Method(
        {"penalty": "kl", "penalty_coef": PPO_KL_COEF, "mixture_anchor": False, "clip_surrogate": True},
        f"PPO with a fixed-coefficient (beta={PPO_KL_COEF:g}) inverse-KL penalty to the behaviour policy, on top of "
        "the clipped surrogate.",
    ),
    "spo": Method(
        {"penalty": "pearson", "penalty_coef": "advantage", "mixture_anchor": False, "clip_surrogate": False},
        "SPO: plain surrogate r A with the Pearson chi-squared penalty (|A| / eps) (r - 1)^2 / 2 to the behaviour "
        "policy, no clipping.",
    ),
    "gtr": Method({}, "GTR: GTRPPO's defaults (Gaussian penalty, advantage-weighted coefficient, mixture anchor)."),
}
#: Torch intra-op threads in each job (``--num-threads``): jobs run side by side, one core each. The networks are
#: small, so one thread trains them fastest on a CPU, and threads beyond the free cores slow every job down: GTRPPO on
#: HalfCheetah for 8,192 steps next to two other jobs on a 2-core machine took 20-27 s with 1 thread, 119-212 s with 2.
NUM_THREADS = 1
#: Evaluations per training phase when ``eval_freq`` is not given (the resolution of adaptation speed); never more often
#: than once per rollout (``n_steps * n_envs`` steps), since the policy only changes between rollouts.
EVALS_PER_PHASE = 10
#: Offset of the evaluation seeds from the training seed, so that evaluation never replays training episodes.
EVAL_SEED_OFFSET = 10_000
#: Confidence level of the intervals.
CONFIDENCE = 0.95
#: Name of the marker file of a finished job.
DONE_FILE = "done"
#: Name of the file in which a running job writes its step count.
PROGRESS_FILE = "progress"
#: The aggregate metrics (besides the final return of every task), with their labels.
METRICS: dict[str, str] = {
    "average_performance": "average performance",
    "forgetting": "forgetting",
    "adaptation_speed": "adaptation speed (steps)",
    "auc_current_task": "AUC current task",
    "auc_all_tasks": "AUC all tasks",
}
#: Prefix of the final-return metrics, followed by the task name.
FINAL_RETURN = "final_return/"
#: Arguments that ``--algo-kwargs`` cannot set: the runner sets them per job.
_RESERVED_ALGO_KWARGS = ("policy", "env", "seed", "device", "policy_kwargs", "verbose", "_init_setup_model")
#: Largest seed: NumPy takes seeds below 2**32, and the evaluation environments add :data:`EVAL_SEED_OFFSET`.
MAX_SEED = 2**31 - 1
#: Keys of a job's configuration that say how it runs, not what it computes: left out of the comparison with a
#: finished job's ``done`` marker, so that a rerun with other threads resumes.
_EXECUTION_KEYS = ("job_dir", "num_threads")


class BadArgument(ValueError):
    """
    A setting that no job could run with, found before any job starts; the message names the command-line flag (the
    keyword argument of the same name in Python) and what it may be.
    """


@contextlib.contextmanager
def timing_command_errors(parser: argparse.ArgumentParser) -> Iterator[None]:
    """
    How the timing commands (``overhead``, ``policies``) end on an error: one ``error:`` line for a bad argument,
    one line and exit 130 (or 143) when interrupted, exit 1 when a timing run fails. They write nothing before
    their last run, so there is nothing to keep.

    :param parser: The command's parser, which prints a bad argument with its usage
    """
    try:
        yield
    except BadArgument as error:
        parser.error(str(error))
    except KeyboardInterrupt as error:
        print("interrupted; no result was written", file=sys.stderr, flush=True)
        sys.exit(getattr(error, "exit_code", 130))
    except WorkerError as error:
        print(f"error: a timing run failed: {error}", file=sys.stderr, flush=True)
        sys.exit(1)


class NothingToAggregate(RuntimeError):
    """No job of the run has finished (all failed, or run in another process), so there are no results to write."""


# --------------------------------------------------------------------------------------------------
# Methods, suites and policies
# --------------------------------------------------------------------------------------------------


def resolve_methods(names: Sequence[str], overrides: Optional[Mapping[str, Mapping[str, Any]]] = None) -> dict[str, dict]:
    """
    The ``GTRPPO`` keyword arguments of each method to run.

    :param names: Method names: keys of :data:`METHODS`, or new names defined in ``overrides``
    :param overrides: Per method name, keyword arguments replacing or adding to the method's; a new name needs
        ``"base"``, the name of the method it starts from (``{"gtr-s0.3": {"base": "gtr", "sigma": 0.3}}``)
    :return: ``{name: kwargs}`` in the order of ``names``
    """
    if overrides is not None and not isinstance(overrides, Mapping):
        raise BadArgument(f"--method-kwargs must be a JSON object of method names, got {overrides!r}")
    overrides = dict(overrides or {})
    repeated = sorted({name for name in names if list(names).count(name) > 1})
    if repeated:
        raise BadArgument(f"--methods: Methods are repeated: {repeated} (each method is run once per seed)")
    unused = sorted(set(overrides) - set(names))
    if unused:
        raise BadArgument(
            f"--method-kwargs: Method kwargs given for methods that are not run: {unused} (methods: {list(names)})"
        )
    resolved = {}
    for name in names:
        spec = overrides.get(name, {})
        if not isinstance(spec, Mapping):
            raise BadArgument(
                f"--method-kwargs: the value of method {name!r} must be a JSON object of GTRPPO kwargs, got {spec!r}"
            )
        spec = dict(spec)
        base = spec.pop("base", name)
        if base not in METHODS:
            if name in overrides and "base" in overrides[name]:
                raise BadArgument(
                    f"--method-kwargs: Unknown base {base!r} of method {name!r}: known methods are {', '.join(METHODS)}"
                )
            raise BadArgument(
                f"--methods: Unknown method {name!r}: known methods are {', '.join(METHODS)}; define a new one in the "
                f'method kwargs with a base method, e.g. {{"{name}": {{"base": "gtr", "sigma": 0.3}}}}'
            )
        resolved[name] = {**METHODS[base].kwargs, **spec}
    return resolved


def suite_recommendations(sequence: TaskSequence) -> dict[str, Any]:
    """
    The settings a suite recommends for its benchmark, carried by the :class:`TaskSequence` it returns.

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
    :return: ``policy`` (as a name, see :func:`policy_name`), ``policy_kwargs`` and ``normalize_kwargs`` (``None``:
        no ``VecNormalize``)
    :raises BadArgument: If ``normalize_kwargs`` is given with ``normalize=False``
    """
    if normalize is False and normalize_kwargs is not None:
        # They would be dropped without a word: the user asked for two contradicting things.
        raise BadArgument(
            f"--normalize-kwargs {_dumps(normalize_kwargs)} is given with --no-normalize, which uses no VecNormalize: "
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


def gtr_defaults() -> dict[str, Any]:
    """
    :return: ``GTRPPO``'s default trust-region arguments, recorded with the results (a method's kwargs only say what
        it changes, and the defaults may be retuned later)
    """
    import inspect

    from sb3_gtr import GTRPPO

    names = ("penalty", "sigma", "penalty_coef", "mixture_anchor", "anchor_window", "clip_surrogate", "clip_range")
    parameters = inspect.signature(GTRPPO.__init__).parameters
    return {name: parameters[name].default for name in names}


def policy_name(policy: Union[str, type]) -> str:
    """
    :param policy: A policy alias or a policy class
    :return: A name :func:`resolve_policy` turns back into the policy: the alias, or ``module.ClassName``
    """
    return policy if isinstance(policy, str) else f"{policy.__module__}.{policy.__qualname__}"


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


# --------------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------------


def _two_sided_t_probability(theta: float, df: int) -> float:
    """P(|T| <= sqrt(df) tan(theta)) for Student's t with integer ``df`` (Abramowitz & Stegun 26.7.3-4)."""
    sin, cos = math.sin(theta), math.cos(theta)
    if df % 2 == 1:
        series, term = 0.0, cos
        for j in range(1, (df - 1) // 2 + 1):
            series += term
            term *= (2 * j) / (2 * j + 1) * cos * cos
        return 2.0 / math.pi * (theta + sin * series)
    series, term = 0.0, 1.0
    for j in range(1, df // 2 + 1):
        series += term
        term *= (2 * j - 1) / (2 * j) * cos * cos
    return sin * series


def t_quantile(confidence: float, df: int) -> float:
    """
    The half-width factor of a two-sided Student-t interval: ``t`` with ``P(|T| <= t) = confidence``.

    :param confidence: Confidence level, in ``(0, 1)``
    :param df: Degrees of freedom, a positive integer
    :return: The quantile (``t(0.975, df)`` for ``confidence=0.95``)
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if df < 1 or int(df) != df:
        raise ValueError(f"df must be a positive integer, got {df}")
    low, high = 0.0, math.pi / 2
    for _ in range(100):  # bisection on the angle: the probability is increasing in it
        middle = (low + high) / 2
        if _two_sided_t_probability(middle, int(df)) < confidence:
            low = middle
        else:
            high = middle
    return math.sqrt(df) * math.tan((low + high) / 2)


def mean_confidence_interval(values: Sequence[Optional[float]], confidence: float = CONFIDENCE) -> dict[str, float]:
    """
    Mean and two-sided Student-t interval of values (one per seed); ``None`` and NaN values are left out.

    :param values: The values
    :param confidence: Confidence level
    :return: ``n`` (values used), ``mean``, ``std`` (sample standard deviation), ``ci_low`` and ``ci_high``
        (NaN when undefined: no value, or one value for the interval)
    """
    array = np.array([math.nan if value is None else float(value) for value in values], dtype=np.float64)
    array = array[~np.isnan(array)]
    n = len(array)
    mean = float(np.mean(array)) if n else math.nan
    if n < 2:
        return {"n": n, "mean": mean, "std": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    std = float(np.std(array, ddof=1))
    half_width = t_quantile(confidence, n - 1) * std / math.sqrt(n)
    return {"n": n, "mean": mean, "std": std, "ci_low": mean - half_width, "ci_high": mean + half_width}


# --------------------------------------------------------------------------------------------------
# Metrics of one run, with shared normalisation
# --------------------------------------------------------------------------------------------------


def shared_references(tables: Sequence[EvaluationTable]) -> tuple[list[Optional[float]], list[Optional[float]]]:
    """
    Per task, the minimum and maximum evaluation return over every table (every method and seed of a run).

    :param tables: Evaluation tables over the same tasks
    :return: ``(reference_min, reference_max)``, one entry per task; ``None`` for both when the task's returns
        are all equal (no span to normalise by: the task then scores 0, see :func:`normalize_returns`)
    """
    if not tables:
        raise ValueError("No evaluation tables to normalise")
    names = tables[0].task_names
    for table in tables[1:]:
        if table.task_names != names:
            raise ValueError(f"Evaluation tables over different tasks: {names} and {table.task_names}")
    returns = np.concatenate([table.returns for table in tables], axis=0)
    low, high = np.nanmin(returns, axis=0), np.nanmax(returns, axis=0)
    spans = high > low
    return (
        [float(value) if span else None for value, span in zip(low, spans, strict=True)],
        [float(value) if span else None for value, span in zip(high, spans, strict=True)],
    )


def current_task_ids(steps: np.ndarray, phases: Sequence[Phase]) -> np.ndarray:
    """
    :param steps: Evaluation steps
    :param phases: The phases trained, in order
    :return: The task trained at each step: that of the phase with ``start <= step < end`` (the last phase for
        steps at or past its end)
    """
    starts = np.array([phase.start for phase in phases])
    index = np.clip(np.searchsorted(starts, np.asarray(steps), side="right") - 1, 0, len(phases) - 1)
    return np.array([phases[i].task_id for i in index], dtype=np.int64)


def performance_curves(
    table: EvaluationTable,
    phases: Sequence[Phase],
    reference_min: Optional[Sequence[Optional[float]]] = None,
    reference_max: Optional[Sequence[Optional[float]]] = None,
) -> dict[str, np.ndarray]:
    """
    The normalised-performance curves of a run.

    :param table: The evaluations
    :param phases: The phases trained, in order
    :param reference_min: Return mapped to 0, per task
    :param reference_max: Return mapped to 1, per task
    :return: ``steps``, ``all_tasks`` (mean normalised performance over the tasks) and ``current_task`` (normalised
        performance of the task being trained: how well the agent does what it is asked to do right now)
    """
    normalized = normalize_returns(table.returns, reference_min, reference_max)
    current = normalized[np.arange(len(table.steps)), current_task_ids(table.steps, phases)]
    return {"steps": table.steps.copy(), "all_tasks": normalized.mean(axis=1), "current_task": current}


def run_metrics(
    table: EvaluationTable,
    phases: Sequence[Phase],
    reference_min: Optional[Sequence[Optional[float]]] = None,
    reference_max: Optional[Sequence[Optional[float]]] = None,
) -> dict[str, Optional[float]]:
    """
    The aggregate metrics of one run (one method, one seed), normalised by the given references.

    :param table: The evaluations
    :param phases: The phases trained, in order
    :param reference_min: Return mapped to 0, per task (see :func:`shared_references`)
    :param reference_max: Return mapped to 1, per task
    :return: The keys of :data:`METRICS` (``average_performance``, ``forgetting``, ``adaptation_speed`` in steps,
        ``auc_current_task`` and ``auc_all_tasks``, the means over the run of the curves of
        :func:`performance_curves`) and ``final_return/<task>`` (raw return at the last evaluation); ``None`` when
        undefined (adaptation speed with no task revisited, or no revisit reaching its target)
    """
    metrics = compute_metrics(table, phases, reference_min, reference_max)
    curves = performance_curves(table, phases, reference_min, reference_max)
    start, end = float(table.steps[0]), float(table.steps[-1])
    result: dict[str, Optional[float]] = {
        "average_performance": metrics["average_performance"],
        "forgetting": metrics["forgetting"],
        "adaptation_speed": metrics["adaptation_speed"],
        "auc_current_task": area_under_curve(curves["steps"], curves["current_task"], start, end),
        "auc_all_tasks": area_under_curve(curves["steps"], curves["all_tasks"], start, end),
    }
    for task in metrics["tasks"]:
        result[FINAL_RETURN + task["task"]] = task["final_return"]
    return {key: None if value is None or math.isnan(value) else float(value) for key, value in result.items()}


def summarize(
    per_seed: Sequence[Mapping[str, Any]], methods: Sequence[str], confidence: float = CONFIDENCE
) -> list[dict[str, Any]]:
    """
    Mean and interval over seeds of every metric of every method.

    :param per_seed: One entry per job: ``method``, ``seed`` and ``metrics`` (of :func:`run_metrics`)
    :param methods: The methods, in the order of the rows
    :param confidence: Confidence level of the intervals
    :return: One row per (method, metric): ``method``, ``metric``, ``n``, ``mean``, ``std``, ``ci_low``, ``ci_high``
    """
    rows = []
    for method in methods:
        runs = [run for run in per_seed if run["method"] == method]
        if not runs:
            continue
        metric_names = list(dict.fromkeys(name for run in runs for name in run["metrics"]))
        for metric in metric_names:
            values = [run["metrics"].get(metric) for run in runs]
            rows.append({"method": method, "metric": metric, **mean_confidence_interval(values, confidence)})
    return rows


# --------------------------------------------------------------------------------------------------
# Jobs
# --------------------------------------------------------------------------------------------------


def default_output_dir(suite: str) -> pathlib.Path:
    """
    :param suite: The suite
    :return: The output folder of a benchmark run when none is given: ``results/<suite>``
    """
    return pathlib.Path("results") / suite


def prepare_output_dir(
    folder: Union[str, pathlib.Path], flag: str = "--output-dir", given: Optional[str] = None, create: bool = True
) -> pathlib.Path:
    """
    Check, before any job or run, that an output folder can be created and written, and create it: a folder that
    cannot be written found once the work is done loses the work (or, for the runner, fails with a traceback).

    :param folder: The folder (created with its parents when missing)
    :param flag: The command-line flag that gave it, for the message
    :param given: The value given to the flag when it is not the folder itself (a path prefix, kwargs), for the message
    :param create: Create the folder; ``False``: leave it as it is and only check that it could be created and
        written (for a folder that the jobs create themselves)
    :return: The folder
    :raises BadArgument: If the folder (or its nearest existing parent) is a file, or cannot be created or written
    """
    folder = pathlib.Path(folder)
    shown = f"{flag} {str(folder) if given is None else given!r}" + ("" if given is None else f" (folder {folder})")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise BadArgument(f"{shown}: {existing} is a file, not a folder")
    try:
        # Write access tested by writing: os.access says yes to root even where nothing can be written (/proc).
        if create:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        else:
            with tempfile.TemporaryDirectory(dir=existing):
                pass
    except OSError as error:
        raise BadArgument(f"{shown}: cannot create or write in it: {_error_text(error)}") from None
    return folder


def output_prefix(
    output: Union[str, pathlib.Path], name: str, suffixes: Sequence[str] = (".json", ".md", ".rst")
) -> pathlib.Path:
    """
    The path prefix of a benchmark's result files (``<prefix>.json`` ...), checked before the first run: a folder
    (an existing one, or a path ending with ``/``) holds the files as ``<folder>/<name>.json`` ..., rather than
    getting them written next to it as ``<folder>.json``; the folder of the files is created and must be writable.

    :param output: The ``--output`` value
    :param name: The file name used inside a folder (the benchmark's name)
    :param suffixes: The suffixes of the files written
    :return: The prefix
    :raises BadArgument: If ``output`` is empty, one of the files would be a folder, or the folder cannot be written
    """
    text = str(output)
    if not text.strip():
        raise BadArgument(f"--output must be a path prefix of the result files (or a folder), got {text!r}")
    prefix = pathlib.Path(text)
    if text.endswith(("/", os.sep)) or prefix.is_dir():
        prefix = prefix / name
    for suffix in suffixes:
        if pathlib.Path(f"{prefix}{suffix}").is_dir():
            raise BadArgument(f"--output {text!r}: {prefix}{suffix} is a folder, the result file cannot be written")
    prepare_output_dir(prefix.parent, "--output", given=text)
    return prefix


def job_dir(output_dir: Union[str, pathlib.Path], method: str, seed: int) -> pathlib.Path:
    """
    :param output_dir: The benchmark's output folder
    :param method: Method name
    :param seed: Seed
    :return: The folder of the job's files
    """
    return pathlib.Path(output_dir) / method / f"seed_{seed}"


def _describe(value: Any) -> str:
    """JSON stand-in of a value JSON cannot hold: a class (``activation_fn`` ...) by its import path, else its repr."""
    return policy_name(value) if isinstance(value, type) else repr(value)


def _normalized_json(value: Any) -> Any:
    """The value as JSON would give it back (tuples as lists, classes as import paths): what ``done`` stores."""
    return json.loads(json.dumps(value, sort_keys=True, default=_describe))


def read_done(directory: Union[str, pathlib.Path]) -> Optional[dict[str, Any]]:
    """
    :param directory: A job folder
    :return: The content of its ``done`` marker (``config``, ``wall_time_s``, ``finished`` ...), ``None`` if unfinished
    """
    path = pathlib.Path(directory) / DONE_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def job_config_json(config: Mapping[str, Any]) -> dict[str, Any]:
    """
    :param config: A job's configuration
    :return: What its ``done`` marker stores and a rerun compares: the configuration as JSON, without the keys that
        only say how the job runs (:data:`_EXECUTION_KEYS`: its folder, its threads)
    """
    return _normalized_json({key: value for key, value in config.items() if key not in _EXECUTION_KEYS})


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
    The model of a job, as the job builds it: used by :func:`run_job` and by :func:`validate_jobs`, so that the
    check before the jobs builds the very model each job will train.

    :param config: The job's settings (of :func:`job_settings`) with ``method_kwargs`` and ``seed``
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


def run_job(config: dict[str, Any], keep_done: bool = False) -> dict[str, Any]:
    """
    Train one method with one seed across the suite; meant to run in its own process.

    Takes the job folder's lock first (:func:`~sb3_gtr.benchmarks._workers.lock_job_dir`; held until it returns, or
    until the process ends, however it ends), so that two runners never train into one folder. Then clears the
    folder, trains with a :class:`~sb3_gtr.continual.callbacks.ContinualTaskCallback` writing into it, writes the step
    count to its ``progress`` file after every rollout, then writes the ``done`` marker last. On an error the
    traceback goes to ``error.txt`` and the error is raised again.

    :param config: The job: ``job_dir``, ``suite``, ``scale``, ``n_cycles``, ``suite_kwargs``, ``method``,
        ``method_kwargs``, ``algo_kwargs``, ``policy``, ``policy_kwargs``, ``seed``, ``n_envs``, ``normalize_kwargs``,
        ``eval_freq``, ``n_eval_episodes``, ``device`` and optionally ``num_threads`` (torch threads, default
        :data:`NUM_THREADS`)
    :param keep_done: Return the ``done`` marker already in the folder, without training, when it holds this
        configuration (another runner finished the job between the runner's check and this call)
    :return: The content of the ``done`` marker (with ``"reused": True`` when kept)
    :raises JobLocked: If another process holds the folder's lock (nothing in the folder is touched)
    """
    import torch as th
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import VecNormalize

    from sb3_gtr.continual.callbacks import ContinualTaskCallback
    from sb3_gtr.continual.vec_env import make_continual_vec_env

    num_threads = int(config.get("num_threads", NUM_THREADS))
    th.set_num_threads(num_threads)
    directory = pathlib.Path(config["job_dir"])
    lock = lock_job_dir(directory)
    try:
        if keep_done:
            done = read_done(directory)
            if done is not None and done["config"] == job_config_json(config):
                return {**done, "reused": True}
        _clear_job_dir(directory)
        progress_path = directory / PROGRESS_FILE

        class ProgressFile(BaseCallback):
            def _write(self) -> None:
                progress_path.write_text(str(self.num_timesteps))

            def _on_step(self) -> bool:
                return True

            def _on_rollout_end(self) -> None:
                self._write()

            def _on_training_end(self) -> None:
                self._write()

        try:
            sequence = make_suite(
                config["suite"], scale=config["scale"], n_cycles=config["n_cycles"], **config["suite_kwargs"]
            )
            env = make_continual_vec_env(sequence, n_envs=config["n_envs"], seed=config["seed"])
            if config["normalize_kwargs"] is not None:
                env = VecNormalize(env, **config["normalize_kwargs"])
            model = build_model(config, env)
            callback = ContinualTaskCallback(
                sequence,
                eval_freq=config["eval_freq"],
                n_eval_episodes=config["n_eval_episodes"],
                log_dir=str(directory),
                eval_seed=config["seed"] + EVAL_SEED_OFFSET,
            )
            start = time.perf_counter()
            model.learn(sequence.total_timesteps, callback=[callback, ProgressFile()])
            wall_time = time.perf_counter() - start
            env.close()
        except BaseException:
            (directory / "error.txt").write_text(traceback.format_exc())
            raise
        done = {
            "config": job_config_json(config),
            "algorithm": type(model).__name__,
            "num_timesteps": int(model.num_timesteps),
            "wall_time_s": wall_time,
            "num_threads": th.get_num_threads(),  # as set, read back: what the job trained with
            "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        temporary = directory / (DONE_FILE + ".tmp")
        temporary.write_text(json.dumps(done, indent=2) + "\n")
        os.replace(temporary, directory / DONE_FILE)
        return done
    finally:
        if lock is not None:
            lock.close()


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


# --------------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------------


def _format(value: Optional[float], metric: str) -> str:
    if value is None or math.isnan(value):
        return "-"
    if metric == "adaptation_speed":
        return f"{value:.0f}"
    if metric.startswith(FINAL_RETURN):
        return f"{value:.1f}"
    return f"{value:.3f}"


def _cell(row: Optional[Mapping[str, Any]]) -> str:
    if row is None or row["n"] == 0:
        return "-"
    mean = _format(row["mean"], row["metric"])
    if math.isnan(row["ci_low"]):
        return mean
    return f"{mean} [{_format(row['ci_low'], row['metric'])}, {_format(row['ci_high'], row['metric'])}]"


def _nan_to_none(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def _csv_value(value: Any) -> Any:
    value = _nan_to_none(value)
    return "" if value is None else value


def write_results_csv(rows: Sequence[Mapping[str, Any]], path: Union[str, pathlib.Path]) -> None:
    """
    Write the rows of :func:`summarize` as CSV (empty cells for NaN).

    :param rows: The rows
    :param path: The CSV file
    """
    import csv

    columns = ["method", "metric", "n", "mean", "std", "ci_low", "ci_high"]
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_value(row[column]) for column in columns])


def write_per_seed_csv(per_seed: Sequence[Mapping[str, Any]], path: Union[str, pathlib.Path]) -> None:
    """
    Write every job's metrics, one row per job.

    :param per_seed: Entries with ``method``, ``seed``, ``metrics`` and ``wall_time_s``
    :param path: The CSV file
    """
    import csv

    metric_names = list(dict.fromkeys(name for run in per_seed for name in run["metrics"]))
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["method", "seed", *metric_names, "wall_time_s"])
        for run in per_seed:
            values = [run["metrics"].get(name) for name in metric_names]
            writer.writerow([run["method"], run["seed"], *map(_csv_value, values), run["wall_time_s"]])


def _description(name: str, kwargs: Mapping[str, Any]) -> str:
    """The description of a method of :data:`METHODS` run as defined there, else nothing."""
    method = METHODS.get(name)
    return f" — {method.description}" if method is not None and dict(kwargs) == method.kwargs else ""


def to_markdown(report: Mapping[str, Any]) -> str:
    """
    The results page: the settings, the methods, the normalisation and one table (mean [95% interval]).

    :param report: A report of :func:`run_benchmark` (``settings``, ``methods``, ``normalization``, ``rows``)
    :return: The Markdown text
    """
    settings, rows = report["settings"], report["rows"]
    task_names = report["normalization"]["tasks"]
    columns = [*METRICS, *(FINAL_RETURN + name for name in task_names)]
    labels = [*METRICS.values(), *(f"final return {name}" for name in task_names)]
    by_key = {(row["method"], row["metric"]): row for row in rows}
    percent = f"{100 * settings['confidence']:g}%"

    def dumps(value: Any) -> str:
        return json.dumps(value, default=_describe)

    lines = [
        f"# Continual benchmark: {settings['suite']}",
        "",
        f"Suite `{settings['suite']}` (scale {settings['scale']:g}, {settings['total_timesteps']} steps per job, "
        f"tasks {', '.join(task_names)}), seeds {', '.join(map(str, settings['seeds']))}; policy "
        f"`{settings['policy']}` with policy_kwargs `{dumps(settings['policy_kwargs'])}`, shared hyperparameters "
        f"`{dumps(settings['algo_kwargs'])}`, {settings['n_envs']} env(s), VecNormalize "
        f"{'off' if settings['normalize_kwargs'] is None else '`' + dumps(settings['normalize_kwargs']) + '`'}; "
        f"evaluation every {settings['eval_freq']} steps, at every task switch and at the end, "
        f"{settings['n_eval_episodes']} episode(s) per task.",
        "",
        "Methods (all `GTRPPO`, differing only in these arguments; GTRPPO's defaults for the others: "
        f"`{dumps(settings['gtr_defaults'])}`):",
        "",
        *(f"- `{name}`: `{dumps(kwargs)}`{_description(name, kwargs)}" for name, kwargs in report["methods"].items()),
        "",
        "Normalisation, shared by all methods: per task, the minimum and maximum evaluation return over every "
        "evaluation of every method and seed of this run map to 0 and 1: "
        + "; ".join(
            f"{name} [{_format(low, FINAL_RETURN)}, {_format(high, FINAL_RETURN)}]"
            for name, low, high in zip(
                task_names, report["normalization"]["reference_min"], report["normalization"]["reference_max"], strict=True
            )
        )
        + ".",
        "",
        f"Cells: mean over seeds [{percent} Student-t interval, mean +- t(n-1) s / sqrt(n)]. Average performance: mean "
        "normalised performance over the tasks at the end; forgetting: performance at the end of a task's last "
        "phase minus at the end, averaged over tasks; adaptation speed: steps until a revisited task is back to "
        f"{settings['adaptation_fraction']:g} of its best earlier performance (mean over the revisits that get there); "
        "AUC: mean over training of the normalised performance of the task being trained (current task) or of all "
        "tasks. Final returns are raw.",
        "",
        "| method | seeds | " + " | ".join(labels) + " |",
        "|---|---:|" + "---:|" * len(labels),
    ]
    for method in report["methods"]:
        n_seeds = sum(1 for run in report["per_seed"] if run["method"] == method)
        cells = [_cell(by_key.get((method, column))) for column in columns]
        lines.append(f"| {method} | {n_seeds} | " + " | ".join(cells) + " |")
    if report.get("missing"):
        lines += ["", f"Missing (unfinished or failed) jobs: {', '.join(report['missing'])}."]
    return "\n".join(lines) + "\n"


def band(curves: Sequence[np.ndarray], confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Pointwise mean and Student-t interval of curves sampled on the same steps (one curve per seed).

    :param curves: The curves, each of shape ``(n_steps,)``
    :param confidence: Confidence level
    :return: ``mean``, ``low`` and ``high``, each ``(n_steps,)``; the interval collapses to the mean with one curve
    """
    stacked = np.asarray(curves, dtype=np.float64)
    mean = stacked.mean(axis=0)
    if len(stacked) < 2:
        return mean, mean.copy(), mean.copy()
    half_width = t_quantile(confidence, len(stacked) - 1) * stacked.std(axis=0, ddof=1) / math.sqrt(len(stacked))
    return mean, mean - half_width, mean + half_width


def plot_comparison(
    curves: Mapping[str, Sequence[Mapping[str, np.ndarray]]],
    phases: Sequence[Phase],
    task_names: Sequence[str],
    path: Union[str, pathlib.Path],
    title: Optional[str] = None,
    confidence: float = CONFIDENCE,
) -> None:
    """
    Plot, per method, the mean normalised performance over training steps with its interval band: the task being
    trained (top) and the mean over all tasks (bottom); dashed lines at the task switches. Every run is
    interpolated onto the union of the evaluation steps; the bands are clipped to ``[0, 1]``.

    :param curves: Per method, the :func:`performance_curves` of each seed
    :param phases: The phases (of any run: the schedule is shared), for the task switches
    :param task_names: The task names, indexed by task id
    :param path: The image file (PNG)
    :param title: Title of the figure
    :param confidence: Confidence level of the bands
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 7))
    FigureCanvasAgg(figure)
    axes_current, axes_all = figure.subplots(2, 1, sharex=True)
    all_steps = [run["steps"] for runs in curves.values() for run in runs]
    grid = np.unique(np.concatenate(all_steps)) if all_steps else np.array([0])
    for index, (method, runs) in enumerate(curves.items()):
        color = f"C{index % 10}"
        for axes, key in ((axes_current, "current_task"), (axes_all, "all_tasks")):
            mean, low, high = band([np.interp(grid, run["steps"], run[key]) for run in runs], confidence)
            axes.plot(grid, mean, color=color, label=f"{method} (n={len(runs)})")
            # Normalised performance lies in [0, 1]: so does the band drawn (the numbers in results.csv are not clipped).
            axes.fill_between(grid, np.clip(low, 0, 1), np.clip(high, 0, 1), color=color, alpha=0.2, linewidth=0)
    for phase in phases:
        axes_current.text(
            (phase.start + phase.end) / 2,
            1.0,
            task_names[phase.task_id],
            transform=axes_current.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=8,
            clip_on=False,
        )
    for axes in (axes_current, axes_all):
        for phase in phases[1:]:
            axes.axvline(phase.start, color="grey", linestyle="--", linewidth=0.8)
        axes.set_ylim(-0.05, 1.05)
    percent = f"{100 * confidence:g}%"
    axes_current.set_ylabel("normalised performance\n(task being trained)")
    axes_all.set_ylabel("normalised performance\n(mean over tasks)")
    axes_all.set_xlabel("training steps")
    axes_current.legend(loc="best", fontsize=8, title=f"mean, {percent} band")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def aggregate(
    output_dir: Union[str, pathlib.Path],
    methods: Sequence[str],
    seeds: Sequence[int],
    confidence: float = CONFIDENCE,
) -> dict[str, Any]:
    """
    Read every finished job of the given methods and seeds, normalise with shared references, and compute the
    per-seed metrics, the summary rows and the curves.

    :param output_dir: The benchmark's output folder
    :param methods: Method names
    :param seeds: Seeds
    :param confidence: Confidence level
    :return: ``per_seed``, ``rows`` (of :func:`summarize`), ``curves`` (per method), ``phases``, ``normalization``
        and ``missing`` (the jobs without a ``done`` marker)
    """
    runs, missing = [], []
    for method in methods:
        for seed in seeds:
            directory = job_dir(output_dir, method, seed)
            done = read_done(directory)
            if done is None:
                missing.append(f"{method}/seed_{seed}")
                continue
            table, phases = load_job(directory)
            runs.append({"method": method, "seed": seed, "table": table, "phases": phases, "done": done})
    if not runs:
        raise NothingToAggregate(f"No finished job in {output_dir} to aggregate")
    reference_min, reference_max = shared_references([run["table"] for run in runs])
    per_seed, curves = [], {}
    for run in runs:
        metrics = run_metrics(run["table"], run["phases"], reference_min, reference_max)
        per_seed.append(
            {"method": run["method"], "seed": run["seed"], "metrics": metrics, "wall_time_s": run["done"]["wall_time_s"]}
        )
        curve = performance_curves(run["table"], run["phases"], reference_min, reference_max)
        curves.setdefault(run["method"], []).append(curve)
    task_names = runs[0]["table"].task_names
    return {
        "per_seed": per_seed,
        "rows": summarize(per_seed, methods, confidence),
        "curves": curves,
        "phases": runs[0]["phases"],
        "normalization": {"tasks": task_names, "reference_min": reference_min, "reference_max": reference_max},
        "missing": missing,
    }


# --------------------------------------------------------------------------------------------------
# Runner
# --------------------------------------------------------------------------------------------------


def _check_resume(directory: pathlib.Path, config: Mapping[str, Any]) -> bool:
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


def _read_progress(directory: pathlib.Path) -> Optional[int]:
    try:
        return int((directory / PROGRESS_FILE).read_text())
    except (OSError, ValueError):
        return None


def _failure_hint(config: Mapping[str, Any], error: WorkerError) -> str:
    """Where to read why a job failed: its ``error.txt``, else the last line the worker printed."""
    error_file = pathlib.Path(config["job_dir"]) / "error.txt"
    if error_file.is_file():
        return f" (see {error_file})"
    lines = error.details.strip().splitlines()
    return f" (its last output: {lines[-1]})" if lines else ""


def _run_jobs(
    configs: Sequence[dict[str, Any]],
    n_jobs: int,
    total_timesteps: int,
    n_finished: int,
    verbose: bool,
    keep_done: bool = True,
) -> dict[str, list[str]]:
    """
    Run the jobs, ``n_jobs`` at a time, each in a fresh interpreter in its own process group (a
    :class:`~sb3_gtr.benchmarks._workers.Worker`: no state leaks from one job into the next), with a progress display.

    On ``SIGINT`` or ``SIGTERM`` every running worker's group is stopped (``SIGTERM``, then ``SIGKILL``) before
    :class:`~sb3_gtr.benchmarks._workers.Interrupted` is raised: no worker outlives the runner, the unfinished jobs
    have no ``done`` marker (a rerun runs them again) and the finished ones keep theirs.

    :param configs: The jobs' configurations (see :func:`run_job`)
    :param n_jobs: Jobs run at the same time
    :param total_timesteps: Steps of one job, for the progress bars
    :param n_finished: Jobs already done, for the overall bar
    :param verbose: Show the progress and a line per finished job
    :param keep_done: Passed to :func:`run_job` (``False`` with ``--force``)
    :return: ``ran``, ``failed`` and ``busy`` (jobs whose folder another process holds), as ``method/seed_<s>``
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    ran: list[str] = []
    failed: list[str] = []
    busy: list[str] = []
    console = Console(quiet=not verbose)
    columns = [TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with SignalGuard() as guard, Progress(*columns, console=console, disable=not verbose) as progress:
        overall = progress.add_task("jobs", total=n_finished + len(configs), completed=n_finished)
        queue = list(configs)
        running: dict[Worker, dict[str, Any]] = {}
        bars: dict[Worker, Any] = {}
        try:
            while queue or running:
                while queue and len(running) < n_jobs:
                    guard.check()
                    config = queue.pop(0)
                    running[Worker(run_job, config, keep_done=keep_done)] = config
                guard.sleep(0.5)
                for worker, config in list(running.items()):
                    name = f"{config['method']}/seed_{config['seed']}"
                    if worker.poll() is None:
                        steps = _read_progress(pathlib.Path(config["job_dir"]))
                        if steps is not None:
                            if worker not in bars:
                                bars[worker] = progress.add_task(
                                    f"{config['method']} seed {config['seed']}", total=total_timesteps
                                )
                            progress.update(bars[worker], completed=steps)
                        continue
                    del running[worker]
                    if worker in bars:
                        progress.remove_task(bars.pop(worker))
                    try:
                        done = worker.result()
                    except JobLocked as error:
                        busy.append(name)
                        progress.console.print(f"skip {name}: {error}")
                    except WorkerError as error:
                        failed.append(name)
                        progress.console.print(f"FAILED {name}: {error}{_failure_hint(config, error)}")
                    else:
                        ran.append(name)
                        if done.get("reused"):
                            progress.console.print(f"{name} was finished by another runner meanwhile: kept")
                        else:
                            progress.console.print(f"finished {name} in {done['wall_time_s']:.1f} s")
                    progress.advance(overall)
        except BaseException:  # Interrupted, or anything else: no worker may outlive the loop
            stop_all(list(running))
            raise
    return {"ran": ran, "failed": failed, "busy": busy}


def _dumps(value: Any) -> str:
    """A value as JSON on one line, for messages (classes by their import path)."""
    return json.dumps(value, default=_describe)


def _error_text(error: BaseException) -> str:
    """``Type: message`` of an error, on one line."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _check_count(flag: str, value: Any, hint: str = "") -> int:
    """A count, budget or frequency: an integer >= 1, else :class:`BadArgument` naming ``flag``."""
    if is_int(value) and value >= 1:
        return int(value)
    raise BadArgument(f"{flag} must be an integer >= 1, got {value!r}{hint}")


def check_seeds(seeds: Sequence[Any], flag: str = "--seeds") -> list[int]:
    """
    :param seeds: Seeds of a run, one job (per method) each
    :param flag: The command-line flag, for the message
    :return: The seeds as a list
    :raises BadArgument: If there is none, one is not an integer in ``[0, MAX_SEED]``, or one is repeated (it would run
        the same job twice into one folder and count it twice)
    """
    seeds = list(seeds)
    if not seeds:
        raise BadArgument(f"{flag}: give at least one seed")
    for seed in seeds:
        if not is_int(seed) or not 0 <= seed <= MAX_SEED:
            raise BadArgument(f"{flag}: every seed must be an integer in [0, {MAX_SEED}], got {seed!r}")
    repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
    if repeated:
        raise BadArgument(
            f"{flag}: seeds are repeated: {repeated}; each seed is one job per method, so a repeat would train the same "
            "job twice into one folder and count it twice"
        )
    return [int(seed) for seed in seeds]


def _check_device(device: Any) -> None:
    """Refuse a device torch does not know, or one this machine lacks (torch would fail in every job, or SB3 fall back)."""
    import torch as th

    if device == "auto":
        return
    try:
        parsed = th.device(device)
    except (RuntimeError, TypeError, ValueError) as error:
        raise BadArgument(f"--device {device!r}: {_error_text(error)} (use cpu, cuda, cuda:<n>, mps or auto)") from error
    if parsed.type == "cuda":
        available, count = th.cuda.is_available(), th.cuda.device_count()
        if not available or (parsed.index is not None and parsed.index >= count):
            raise BadArgument(
                f"--device {device!r}: there is no such CUDA device here (torch.cuda.is_available() is {available}, "
                f"torch.cuda.device_count() is {count}); use cpu, auto (a GPU when there is one) or an existing cuda:<n>"
            )
    elif parsed.type == "mps" and not th.backends.mps.is_available():
        raise BadArgument(f"--device {device!r}: MPS is not available here (torch.backends.mps.is_available() is False)")


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
    The evaluation interval when none is given: :data:`EVALS_PER_PHASE` evaluations in the shortest phase, but never
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
    the arguments are those of :func:`run_benchmark`. Checks every value that needs no environment or model (see
    :func:`validate_jobs` for the rest).

    :return: The suite's task sequence and the settings
    :raises BadArgument: For a value no job could run with, naming its flag
    """
    if suite not in SUITES:
        raise BadArgument(f"Unknown suite {suite!r} (--suite), available suites: {', '.join(sorted(SUITES))}")
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.number)) or not (math.isfinite(scale) and scale > 0):
        raise BadArgument(f"--scale must be a positive finite number (a factor on every task's step budget), got {scale!r}")
    if n_cycles is not None:
        _check_count("--n-cycles", n_cycles)
    _check_count("--n-envs", n_envs)
    _check_count("--n-eval-episodes", n_eval_episodes)
    _check_count("--num-threads", num_threads)
    if eval_freq is not None:
        _check_count(
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
    _check_device(device)
    suite_kwargs = dict(suite_kwargs or {})
    algo_kwargs = dict(algo_kwargs or {})
    try:
        sequence = make_suite(suite, scale=scale, n_cycles=n_cycles, **suite_kwargs)
    except ImportError as error:
        raise BadArgument(f"--suite {suite}: {_error_text(error)}") from error
    except (TypeError, ValueError) as error:
        raise BadArgument(
            f"--suite-kwargs {_dumps(suite_kwargs)}: {_error_text(error)} ({_suite_parameters(suite)})"
        ) from error
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
    return [name for name in parameters if name != "self" and name not in _RESERVED_ALGO_KWARGS]


def validate_jobs(
    sequence: TaskSequence, settings: Mapping[str, Any], methods: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """
    Build once, in this process, what every job builds: the suite's environments (every task's, with
    ``VecNormalize``), the policy, and each method's model with the shared hyperparameters (by :func:`build_model`, as
    the job does, on the CPU), and check the schedule as the job's callback does (no phase shorter than ``n_envs``
    steps), so that a bad setting fails here, before any job starts or any folder is written, with a message naming its
    flag, instead of in every job. Warns when a rollout
    (``n_steps * n_envs`` steps) is longer than a phase or than the whole sequence: the policy is then not updated
    between some task switches (or not at all), which a quick run at a small ``--scale`` easily hits.

    :param sequence: The task sequence (of :func:`job_settings`)
    :param settings: The shared settings (of :func:`job_settings`)
    :param methods: ``{name: kwargs}`` of the methods to run (of :func:`resolve_methods`)
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
        raise BadArgument(f"--suite {settings['suite']}: cannot build its environments: {_error_text(error)}") from error
    except Exception as error:
        raise BadArgument(
            f"--suite-kwargs {_dumps(settings['suite_kwargs'])}: cannot build the suite's environments: {_error_text(error)} "
            f"({_suite_parameters(settings['suite'])})"
        ) from error
    try:
        if settings["normalize_kwargs"] is not None:
            try:
                env = VecNormalize(env, **settings["normalize_kwargs"])
            except Exception as error:
                raise BadArgument(
                    f"--normalize-kwargs {_dumps(settings['normalize_kwargs'])}: {_error_text(error)}"
                ) from error

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
                f"{flag}: cannot build policy {settings['policy']} with policy_kwargs {_dumps(settings['policy_kwargs'])} "
                f"for the suite's spaces: {_error_text(error)}"
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
                        f"--method-kwargs: method {name!r} ({_dumps(dict(kwargs))}): {_error_text(error)}"
                    ) from error
                raise BadArgument(f"--algo-kwargs {_dumps(algo_kwargs)}: {_error_text(error)}") from error
            info["n_steps"][name], info["n_epochs"][name] = int(model.n_steps), int(model.n_epochs)
            if model.tensorboard_log is not None:
                # Each job creates it at its first step: one that cannot be created would fail every job there.
                flag = "--algo-kwargs" if "tensorboard_log" in algo_kwargs else f"--method-kwargs (method {name!r})"
                shown = _dumps(algo_kwargs if "tensorboard_log" in algo_kwargs else dict(kwargs))
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


def run_benchmark(
    suite: str,
    methods: Optional[Sequence[str]] = None,
    seeds: Sequence[int] = (0, 1, 2),
    scale: float = 1.0,
    n_cycles: Optional[int] = None,
    suite_kwargs: Optional[dict[str, Any]] = None,
    method_kwargs: Optional[dict[str, dict[str, Any]]] = None,
    algo_kwargs: Optional[dict[str, Any]] = None,
    policy: Optional[str] = None,
    policy_kwargs: Optional[dict[str, Any]] = None,
    n_envs: int = 1,
    normalize: Optional[bool] = None,
    normalize_kwargs: Optional[dict[str, Any]] = None,
    eval_freq: Optional[int] = None,
    n_eval_episodes: int = 5,
    device: str = "cpu",
    jobs: int = 1,
    num_threads: int = NUM_THREADS,
    output_dir: Optional[Union[str, pathlib.Path]] = None,
    force: bool = False,
    confidence: float = CONFIDENCE,
    command: Optional[str] = None,
    verbose: bool = True,
) -> dict[str, Any]:
    """
    Run every (method, seed) job not finished yet, then aggregate all of them into the result files.

    :param suite: A key of :data:`~sb3_gtr.continual.suites.SUITES`
    :param methods: Method names (keys of :data:`METHODS` or defined in ``method_kwargs``; ``None``: all of
        :data:`METHODS`)
    :param seeds: Seeds; job ``(method, seed)`` trains and evaluates on environments seeded from ``seed`` alone, so
        all methods see the same environment seeds
    :param scale: Factor on every task's step budget
    :param n_cycles: Passes over the tasks (``None``: the suite's default)
    :param suite_kwargs: Suite-specific keyword arguments (for ``flip``: environment kwargs such as
        ``max_episode_steps``)
    :param method_kwargs: Per method, overrides of its ``GTRPPO`` kwargs, or new methods (see :func:`resolve_methods`)
    :param algo_kwargs: ``GTRPPO`` hyperparameters shared by all methods (``n_steps``, ``batch_size`` ...); a key that
        a method sets itself is an error (it would silently change that method)
    :param policy: Policy alias or import path (``None``: the suite's recommendation, else ``MlpPolicy``)
    :param policy_kwargs: Policy keyword arguments (``None``: the suite's recommendation when the policy is the
        suite's, else none)
    :param n_envs: Parallel environments per job
    :param normalize: Wrap the training env in ``VecNormalize``: ``None`` as the suite recommends, ``True`` always
        (with ``normalize_kwargs``, else the suite's, else VecNormalize's defaults), ``False`` never
    :param normalize_kwargs: Keyword arguments of ``VecNormalize`` (``None``: the suite's)
    :param eval_freq: Evaluate every ``eval_freq`` steps (``None``: :func:`default_eval_freq`, :data:`EVALS_PER_PHASE`
        times per phase but at most once per rollout)
    :param n_eval_episodes: Evaluation episodes per task
    :param device: Torch device of every job
    :param jobs: Jobs run at the same time, each in its own process
    :param num_threads: Torch threads of each job (see :data:`NUM_THREADS` for why one)
    :param output_dir: Output folder (``None``: ``results/<suite>``)
    :param force: Rerun finished jobs too
    :param confidence: Confidence level of the intervals
    :param command: The command line to record in ``results.json``
    :param verbose: Show the progress and log lines
    :return: The report: ``settings``, ``methods``, ``ran``, ``skipped``, ``busy`` (jobs left alone because another
        process holds their folder), ``failed``, ``missing``, ``per_seed``, ``rows``, ``normalization`` and ``files``
    :raises BadArgument: Before any job starts or any folder is written, for a setting no job could run with; also for
        an ``output_dir`` that is a file or cannot be created or written (checked last, before the first job)
    :raises ~sb3_gtr.benchmarks._workers.Interrupted: On ``SIGINT`` or ``SIGTERM`` while jobs run, once every worker
        is stopped (finished jobs are kept: a rerun resumes)
    :raises NothingToAggregate: If no job of the run has finished
    """
    if suite not in SUITES:
        raise BadArgument(f"Unknown suite {suite!r} (--suite), available suites: {', '.join(sorted(SUITES))}")
    _check_count("--jobs", jobs)
    seeds = check_seeds(seeds)
    methods = list(METHODS) if methods is None else list(methods)
    resolved = resolve_methods(methods, method_kwargs)
    if algo_kwargs is not None and not isinstance(algo_kwargs, Mapping):
        raise BadArgument(f"--algo-kwargs must be a JSON object (a dict of keyword arguments), got {algo_kwargs!r}")
    algo_kwargs = dict(algo_kwargs or {})
    reserved = sorted(set(algo_kwargs) & set(_RESERVED_ALGO_KWARGS))
    if reserved:
        raise BadArgument(
            f"--algo-kwargs cannot set {reserved}: the runner sets them (see --policy, --policy-kwargs, --seeds)"
        )
    for name, kwargs in resolved.items():
        clash = sorted(set(algo_kwargs) & set(kwargs))
        if clash:
            raise BadArgument(f"--algo-kwargs sets {clash}, which define method {name!r}: set them with --method-kwargs")
    sequence, settings = job_settings(
        suite,
        scale=scale,
        n_cycles=n_cycles,
        suite_kwargs=suite_kwargs,
        algo_kwargs=algo_kwargs,
        policy=policy,
        policy_kwargs=policy_kwargs,
        n_envs=n_envs,
        normalize=normalize,
        normalize_kwargs=normalize_kwargs,
        eval_freq=eval_freq,
        n_eval_episodes=n_eval_episodes,
        device=device,
        num_threads=num_threads,
    )
    validate_jobs(sequence, settings, resolved)
    output_dir = prepare_output_dir(output_dir if output_dir is not None else default_output_dir(suite))

    def log(message: str) -> None:
        if verbose:
            print(message, flush=True)

    pending, skipped, busy = [], [], []
    for seed in seeds:  # seed-major: a partial run has every method on its first seeds
        for method in methods:
            directory = job_dir(output_dir, method, seed)
            # Kept as is (classes in policy_kwargs travel to the job by pickling); `done` stores its JSON form.
            config = {**settings, "method": method, "method_kwargs": resolved[method], "seed": seed, "job_dir": str(directory)}
            if not force and _check_resume(directory, config):
                skipped.append(f"{method}/seed_{seed}")
                log(f"skip {method}/seed_{seed}: already done")
            elif (holder := lock_holder(directory)) is not None:
                # Another runner trains this job right now: training here too would mix two runs in one folder.
                busy.append(f"{method}/seed_{seed}")
                log(f"skip {method}/seed_{seed}: running in another process (pid {holder} holds {directory / LOCK_FILE})")
            else:
                pending.append(config)
    log(
        f"{len(pending)} job(s) to run, {len(skipped)} already done, {len(busy)} running elsewhere, {jobs} at a time, "
        f"output in {output_dir}"
    )
    outcome = _run_jobs(
        pending, min(jobs, max(1, len(pending))), sequence.total_timesteps, len(skipped) + len(busy), verbose, not force
    )
    outcome["busy"] = busy + outcome["busy"]

    try:
        results = aggregate(output_dir, methods, seeds, confidence)
    except NothingToAggregate as error:
        details = "; ".join(f"{key}: {', '.join(outcome[key])}" for key in ("failed", "busy") if outcome[key])
        raise NothingToAggregate(f"{error}{' (' + details + ')' if details else ''}") from None
    settings.update(
        gtr_defaults=gtr_defaults(),
        seeds=list(seeds),
        total_timesteps=sequence.total_timesteps,
        confidence=confidence,
        adaptation_fraction=0.8,
        tasks=sequence.task_names,
    )
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "settings": settings,
        "methods": {name: resolved[name] for name in methods},
        "skipped": skipped,
        **outcome,
        "missing": results["missing"],
        "per_seed": results["per_seed"],
        "rows": results["rows"],
        "normalization": results["normalization"],
    }
    files = {
        name: output_dir / name for name in ("results.csv", "results.md", "per_seed.csv", "results.json", "comparison.png")
    }
    write_results_csv(results["rows"], files["results.csv"])
    write_per_seed_csv(results["per_seed"], files["per_seed.csv"])
    files["results.md"].write_text(to_markdown(report))
    plot_comparison(
        results["curves"],
        results["phases"],
        sequence.task_names,
        files["comparison.png"],
        f"{suite} (scale {scale:g})",
        confidence,
    )
    rows_json = [{key: _nan_to_none(value) for key, value in row.items()} for row in report["rows"]]
    json_ready = {**report, "rows": rows_json}
    files["results.json"].write_text(json.dumps(json_ready, indent=2, default=_describe) + "\n")
    report["files"] = {name: str(path) for name, path in files.items()}
    log(f"results in {files['results.md']} and {files['comparison.png']}")
    return report


def _json_argument(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON: {error}") from error
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """An ``argparse`` type: an integer >= ``minimum``, refused with a message that says so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return value

    return parse


#: ``argparse`` type of counts, budgets and frequencies: an integer >= 1.
positive_int = _int_at_least(1)
#: ``argparse`` type: an integer >= 0.
non_negative_int = _int_at_least(0)


def seed_argument(text: str) -> int:
    """
    An ``argparse`` type: a seed, an integer in ``[0, MAX_SEED]``.

    :param text: The argument
    :return: The seed
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a seed must be an integer in [0, {MAX_SEED}], got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"a seed must be an integer in [0, {MAX_SEED}], got {text!r}")
    return value


def positive_float(text: str) -> float:
    """
    An ``argparse`` type: a finite number > 0 (NaN and infinities refused).

    :param text: The argument
    :return: The number
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text!r}")
    return value


def reject_repeats(parser: argparse.ArgumentParser, flag: str, values: Sequence[Any], why: str) -> None:
    """
    Exit through ``parser.error`` when a list argument holds a value twice.

    :param parser: The parser
    :param flag: The argument, for the message
    :param values: Its values
    :param why: Why a repeat is refused, for the message
    """
    repeated = [value for index, value in enumerate(values) if value in values[:index]]
    if repeated:
        parser.error(f"{flag}: {' '.join(map(str, dict.fromkeys(repeated)))} given more than once; {why}")


#: The command-line arguments shared by every runner of jobs (:func:`add_job_arguments`): those of :func:`job_settings`,
#: ``jobs`` and ``quiet``.
JOB_ARGUMENTS = (
    "suite",
    "scale",
    "n_cycles",
    "suite_kwargs",
    "algo_kwargs",
    "policy",
    "policy_kwargs",
    "n_envs",
    "normalize",
    "normalize_kwargs",
    "eval_freq",
    "n_eval_episodes",
    "device",
    "jobs",
    "num_threads",
)
#: Why ``--num-threads`` defaults to one thread, for the help text.
NUM_THREADS_HELP = (
    f"torch threads of each job (default: {NUM_THREADS}; small networks train fastest on one CPU thread, and threads "
    "beyond the free cores make every job several times slower)"
)


def add_job_arguments(parser: argparse.ArgumentParser, n_eval_episodes: int = 5) -> None:
    """
    Add the arguments that say how to run the jobs (the suite, its scale, the shared hyperparameters, the policy,
    normalisation, evaluation, device, parallel jobs, threads and ``--quiet``) to a command line.

    :param parser: The parser
    :param n_eval_episodes: Default number of evaluation episodes per task
    """
    parser.add_argument("--suite", required=True, choices=sorted(SUITES), help="the continual suite")
    parser.add_argument("--scale", type=positive_float, default=1.0, help="factor on every task's step budget")
    parser.add_argument("--n-cycles", type=positive_int, default=None, help="passes over the tasks (default: the suite's)")
    parser.add_argument("--suite-kwargs", type=_json_argument, default={}, help="JSON object of suite keyword arguments")
    parser.add_argument("--algo-kwargs", type=_json_argument, default={}, help="JSON object of hyperparameters shared by all")
    parser.add_argument("--policy", default=None, help="policy alias or import path (default: the suite's, else MlpPolicy)")
    parser.add_argument(
        "--policy-kwargs", type=_json_argument, default=None, help="JSON object of policy kwargs (default: suite's)"
    )
    parser.add_argument("--n-envs", type=positive_int, default=1, help="parallel environments per job")
    normalize = parser.add_mutually_exclusive_group()
    normalize.add_argument(
        "--normalize", dest="normalize", action="store_true", default=None, help="use VecNormalize (default: as the suite)"
    )
    normalize.add_argument("--no-normalize", dest="normalize", action="store_false", help="do not use VecNormalize")
    parser.add_argument(
        "--normalize-kwargs", type=_json_argument, default=None, help="JSON object of VecNormalize kwargs (default: suite's)"
    )
    parser.add_argument(
        "--eval-freq",
        type=positive_int,
        default=None,
        help=f"steps between evaluations (default: {EVALS_PER_PHASE} per phase, at most one per rollout)",
    )
    parser.add_argument("--n-eval-episodes", type=positive_int, default=n_eval_episodes, help="evaluation episodes per task")
    parser.add_argument("--device", default="cpu", help="torch device of every job")
    parser.add_argument("--jobs", type=positive_int, default=1, help="jobs run at the same time, one process each")
    parser.add_argument("--num-threads", type=positive_int, default=NUM_THREADS, help=NUM_THREADS_HELP)
    parser.add_argument("--quiet", action="store_true", help="no progress display or log lines")


def job_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """
    :param args: Arguments parsed by a parser given :func:`add_job_arguments`
    :return: Those arguments (:data:`JOB_ARGUMENTS`) as keyword arguments, and ``verbose``
    """
    return {**{name: getattr(args, name) for name in JOB_ARGUMENTS}, "verbose": not args.quiet}


def interrupted_message(output_dir: Union[str, pathlib.Path]) -> str:
    """
    :param output_dir: The run's output folder
    :return: The one line printed when a run is interrupted
    """
    return f"interrupted; finished jobs are kept in {output_dir}, rerun the same command to resume"


def main(argv: Optional[Sequence[str]] = None) -> dict[str, Any]:
    """
    Command-line entry point. A bad argument exits with status 2 and a one-line ``error: --flag ...`` before any job
    starts; Ctrl-C (or ``SIGTERM``) stops every job and exits with status 130 (143), printing one line; a run in which
    no job finished exits with status 1.

    :param argv: The arguments (default: ``sys.argv[1:]``)
    :return: The report of :func:`run_benchmark`
    """
    parser = argparse.ArgumentParser(
        prog="python -m sb3_gtr.benchmarks.continual", description=" ".join(__doc__.strip().split("\n\n")[0].split())
    )
    add_job_arguments(parser)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), help=f"methods to run (default: {' '.join(METHODS)})")
    parser.add_argument("--seeds", nargs="+", type=seed_argument, default=[0, 1, 2], help="seeds (default: 0 1 2)")
    parser.add_argument(
        "--method-kwargs",
        type=_json_argument,
        default={},
        help='JSON object: per method, GTRPPO kwargs overriding its own; a new method needs "base", '
        'e.g. \'{"gtr-s0.3": {"base": "gtr", "sigma": 0.3}}\'',
    )
    parser.add_argument("--output-dir", default=None, help="output folder (default: results/<suite>)")
    parser.add_argument("--force", action="store_true", help="rerun finished jobs too")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    reject_repeats(parser, "--seeds", args.seeds, "each seed is one job per method, a repeat would run it twice")
    reject_repeats(parser, "--methods", args.methods, "each method is one job per seed, a repeat would run it twice")
    output_dir = args.output_dir if args.output_dir is not None else default_output_dir(args.suite)
    try:
        return run_benchmark(
            **job_arguments(args),
            methods=args.methods,
            seeds=args.seeds,
            method_kwargs=args.method_kwargs,
            output_dir=output_dir,
            force=args.force,
            command=shlex.join(["python", "-m", "sb3_gtr.benchmarks.continual", *argv]),
        )
    except BadArgument as error:
        parser.error(str(error))
    except KeyboardInterrupt as error:  # Ctrl-C anywhere, or Interrupted (SIGINT / SIGTERM) while jobs run
        print(interrupted_message(output_dir), file=sys.stderr, flush=True)
        sys.exit(getattr(error, "exit_code", 130))
    except NothingToAggregate as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    report = main()
    sys.exit(1 if report["failed"] or report["busy"] else 0)
