"""
The numbers of a run: the metrics of each job with returns normalised by references shared by every job of the run,
and their aggregation into the rows of the results, with the statistics of :mod:`sb3_gtr.benchmarks.statistics`
(rliable).

A row is the interquartile mean over seeds with its stratified bootstrap interval (Agarwal et al., 2021: robust to the
outlying seed that a mean follows, with intervals that do not assume normal scores); no interval with a single seed.
:func:`aggregate` normalises each task's returns by the minimum and maximum evaluation return of that task over *all*
the jobs of the run (shared by every method, so that a score of 1 means "the best any method reached",
:func:`shared_references`) and recomputes the metrics of every job with these references (:func:`run_metrics`).
"""

import math
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np

from sb3_gtr.benchmarks.jobs import job_dir, load_job
from sb3_gtr.benchmarks.runner import read_done
from sb3_gtr.benchmarks.statistics import CONFIDENCE, iqm_intervals, mean_band
from sb3_gtr.continual.metrics import EvaluationTable, area_under_curve, compute_metrics, normalize_returns
from sb3_gtr.continual.tasks import Phase

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


class NothingToAggregate(RuntimeError):
    """No job of the run has finished (all failed, or run in another process), so there are no results to write."""


# --------------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------------


def interval_estimate(values: Sequence[Optional[float]], confidence: float = CONFIDENCE) -> dict[str, float]:
    """
    The interquartile mean of values (one per seed) with rliable's stratified bootstrap interval, and their mean and
    standard deviation; ``None`` and NaN values are left out.

    :param values: The values
    :param confidence: Confidence level
    :return: ``n`` (values used), ``iqm``, ``mean``, ``std`` (sample standard deviation), ``ci_low`` and ``ci_high``
        (the interval of the IQM; NaN when undefined: no value, or one value for the interval)
    """
    array = np.array([math.nan if value is None else float(value) for value in values], dtype=np.float64)
    array = array[~np.isnan(array)]
    n = len(array)
    mean = float(np.mean(array)) if n else math.nan
    if n < 2:
        return {"n": n, "iqm": mean, "mean": mean, "std": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    estimate = iqm_intervals({"values": array}, confidence=confidence)["values"]
    return {
        "n": n,
        "iqm": estimate["iqm"],
        "mean": mean,
        "std": float(np.std(array, ddof=1)),
        "ci_low": estimate["low"],
        "ci_high": estimate["high"],
    }


def band(curves: Sequence[np.ndarray], confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Pointwise mean and bootstrap interval of curves sampled on the same steps (one curve per seed; see
    :func:`~sb3_gtr.benchmarks.statistics.mean_band`).

    :param curves: The curves, each of shape ``(n_steps,)``
    :param confidence: Confidence level
    :return: ``mean``, ``low`` and ``high``, each ``(n_steps,)``; the interval collapses to the mean with one curve
    """
    stacked = np.asarray(curves, dtype=np.float64)
    if len(stacked) < 2:
        mean = stacked.mean(axis=0)
        return mean, mean.copy(), mean.copy()
    return mean_band(stacked, confidence=confidence)


# --------------------------------------------------------------------------------------------------
# Metrics of one run, with shared normalisation
# --------------------------------------------------------------------------------------------------


def shared_references(tables: Sequence[EvaluationTable]) -> tuple[list[Optional[float]], list[Optional[float]]]:
    """
    Per task, the minimum and maximum evaluation return over every table (every method and seed of a run).

    :param tables: Evaluation tables over the same tasks
    :return: ``(reference_min, reference_max)``, one entry per task; ``None`` for both when the task's returns
        are all equal (no span to normalise by: the task then scores 0, see
        :func:`~sb3_gtr.continual.metrics.normalize_returns`)
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
    IQM, mean and interval over seeds of every metric of every method (:func:`interval_estimate`).

    :param per_seed: One entry per job: ``method``, ``seed`` and ``metrics`` (of :func:`run_metrics`)
    :param methods: The methods, in the order of the rows
    :param confidence: Confidence level of the intervals
    :return: One row per (method, metric): ``method``, ``metric``, ``n``, ``iqm``, ``mean``, ``std``, ``ci_low``, ``ci_high``
    """
    rows = []
    for method in methods:
        runs = [run for run in per_seed if run["method"] == method]
        if not runs:
            continue
        metric_names = list(dict.fromkeys(name for run in runs for name in run["metrics"]))
        for metric in metric_names:
            values = [run["metrics"].get(metric) for run in runs]
            rows.append({"method": method, "metric": metric, **interval_estimate(values, confidence)})
    return rows


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
