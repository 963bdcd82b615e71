"""
The evaluation table of a continual run and Continual World's metrics: pure functions of the table
(:func:`normalize_returns`, :func:`average_performance`, :func:`forgetting`, :func:`forward_transfer`,
:func:`adaptation_speed`, :func:`compute_metrics`) and :func:`write_metrics`.
"""

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from sb3_gtr.common.checks import check_finite_float, check_instance, check_length, check_str, describe
from sb3_gtr.continual.tasks import Phase


@dataclass
class EvaluationTable:
    """
    Periodic evaluations of one model on every task of a sequence.

    :param task_names: The task names, indexed by task id
    :param steps: Training step of each evaluation, shape ``(n_evaluations,)``, non-decreasing
    :param returns: Mean evaluation return, shape ``(n_evaluations, n_tasks)``
    :param std_returns: Standard deviation of the evaluation returns, same shape (``None``: unknown)
    """

    task_names: list[str]
    steps: np.ndarray
    returns: np.ndarray
    std_returns: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        if isinstance(self.task_names, str) or not isinstance(self.task_names, Iterable):
            raise ValueError(f"`task_names` must be a list of task names, got {describe(self.task_names)}")
        self.task_names = [check_str("task_names", name) for name in self.task_names]
        if not self.task_names:
            raise ValueError("`task_names` is empty: an evaluation table needs at least one task")
        steps = np.asarray(self.steps)
        if steps.ndim != 1 or (steps.size and not np.issubdtype(steps.dtype, np.integer)):
            raise ValueError(f"`steps` must be a 1-D list of integer training steps, got {describe(self.steps)}")
        self.steps = steps.astype(np.int64)
        if np.any(np.diff(self.steps) < 0):
            raise ValueError(f"`steps` must be non-decreasing (evaluations in training order), got {self.steps.tolist()}")
        shape = (len(self.steps), len(self.task_names))
        for name in ("returns", "std_returns"):
            values = getattr(self, name)
            if values is None:
                continue
            array = np.asarray(values, dtype=np.float64)
            if array.size != shape[0] * shape[1]:
                raise ValueError(
                    f"`{name}` must hold one value per evaluation and task, shape {shape} ({shape[0]} steps x "
                    f"{shape[1]} tasks), got shape {array.shape}"
                )
            setattr(self, name, array.reshape(shape))

    def __len__(self) -> int:
        return len(self.steps)

    def to_csv(self, path: str) -> None:
        """
        Write the table in long format, one row per (evaluation, task): ``step,task_id,task,mean_return,std_return``.

        :param path: The CSV file
        """
        with open(path, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["step", "task_id", "task", "mean_return", "std_return"])
            for row, step in enumerate(self.steps):
                for task_id, name in enumerate(self.task_names):
                    std = "" if self.std_returns is None else repr(float(self.std_returns[row, task_id]))
                    writer.writerow([int(step), task_id, name, repr(float(self.returns[row, task_id])), std])

    @classmethod
    def from_csv(cls, path: str) -> "EvaluationTable":
        """
        Read a table written by :meth:`to_csv`.

        :param path: The CSV file
        :return: The table
        """
        with open(path, newline="") as file:
            rows = list(csv.DictReader(file))
        names: dict[int, str] = {}
        by_step: dict[int, dict[int, tuple[float, float]]] = {}
        for row in rows:
            task_id = int(row["task_id"])
            names[task_id] = row["task"]
            std = float(row["std_return"]) if row.get("std_return") else math.nan
            by_step.setdefault(int(row["step"]), {})[task_id] = (float(row["mean_return"]), std)
        task_ids = sorted(names)
        steps = sorted(by_step)
        returns = [[by_step[step].get(task_id, (math.nan, math.nan))[0] for task_id in task_ids] for step in steps]
        stds = [[by_step[step].get(task_id, (math.nan, math.nan))[1] for task_id in task_ids] for step in steps]
        return cls([names[task_id] for task_id in task_ids], np.array(steps), np.array(returns), np.array(stds))


def check_references(
    reference_min: Optional[Sequence[Optional[float]]],
    reference_max: Optional[Sequence[Optional[float]]],
    task_names: Sequence[str],
) -> None:
    """
    Check the per-task references of :func:`normalize_returns`: ``None`` or one entry per task, each ``None`` or
    a finite number, and ``min < max`` for every task where both are given.

    :param reference_min: Return mapped to 0, per task
    :param reference_max: Return mapped to 1, per task
    :param task_names: The task names (their number is the expected length)
    :raises ValueError: On a wrong length, a non-finite or non-numeric entry, or ``min >= max``
    """
    tasks = f"task (tasks {', '.join(map(repr, task_names))})"
    for name, values in (("reference_min", reference_min), ("reference_max", reference_max)):
        if values is None:
            continue
        check_length(name, values, len(task_names), tasks)
        for task_name, value in zip(task_names, values, strict=True):
            if value is not None:
                check_finite_float(f"{name}[{task_name!r}]", value)
    if reference_min is not None and reference_max is not None:
        for task_name, low, high in zip(task_names, reference_min, reference_max, strict=True):
            if low is not None and high is not None and not float(high) > float(low):
                raise ValueError(
                    f"Reference max must exceed reference min for every task: task {task_name!r} has "
                    f"reference_min={low} and reference_max={high}"
                )


def _per_task(values: Optional[Sequence[Optional[float]]], n_tasks: int, fallback: np.ndarray) -> np.ndarray:
    if values is None:
        return fallback.copy()
    return np.array([fallback[i] if value is None else float(value) for i, value in enumerate(values)])


def check_phases(phases: Sequence[Phase], n_tasks: int) -> list[Phase]:
    """The phases as :class:`Phase` s, refusing tasks that do not exist and phases out of training order."""
    if isinstance(phases, (str, bytes, Mapping)) or not isinstance(phases, Iterable):
        raise ValueError(f"`phases` must be a list of Phase, got {describe(phases)}")
    checked: list[Phase] = []
    for phase in phases:
        phase = phase if isinstance(phase, Phase) else Phase(*phase)
        if phase.task_id >= n_tasks:
            raise ValueError(f"`phases` refers to task {phase.task_id}, but there are {n_tasks} tasks: {phase}")
        if checked and phase.start < checked[-1].end:
            raise ValueError(f"`phases` must be in training order, without overlap: {phase} starts before {checked[-1]} ends")
        checked.append(phase)
    return checked


def check_fraction(fraction: Any, name: str = "fraction") -> float:
    """The fraction of the final performance that counts as re-adapted, a float in ``(0, 1]``."""
    # A target of 0 is reached at once, above 1 never: neither measures re-adaptation.
    return check_finite_float(name, fraction, low=0.0, high=1.0, low_inclusive=False)


def normalize_returns(
    returns: np.ndarray,
    reference_min: Optional[Sequence[Optional[float]]] = None,
    reference_max: Optional[Sequence[Optional[float]]] = None,
) -> np.ndarray:
    """
    Per-task performance in ``[0, 1]``: ``(return - min) / (max - min)``, clipped, the stand-in for
    Continual World's success rate.

    The reference ``min``/``max`` of a task is given by the user (for example a random policy's and an
    expert's return, which makes numbers comparable across runs), or else taken as the minimum and
    maximum of that task's evaluations over the whole run (the default: self-contained, but only
    comparable within the run; the best evaluation of every task scores 1). ``None`` entries in a given
    list fall back to the run's values. A task whose run-derived span is zero (every evaluation equal)
    scores 0 throughout: the run carries no information about it. When only one reference of a task is
    given and the run's returns all lie beyond it (every return below a given min, or above a given max),
    the task scores 0, or 1 above a given max.

    :param returns: Mean evaluation returns, shape ``(n_evaluations, n_tasks)``
    :param reference_min: Return mapped to 0, per task
    :param reference_max: Return mapped to 1, per task
    :return: Normalised performance, same shape
    """
    returns = np.asarray(returns, dtype=np.float64)
    if returns.ndim != 2 or returns.shape[0] == 0:
        raise ValueError(f"`returns` must have shape (n_evaluations >= 1, n_tasks), got shape {returns.shape}")
    n_tasks = returns.shape[1]
    check_references(reference_min, reference_max, [str(task_id) for task_id in range(n_tasks)])
    low = _per_task(reference_min, n_tasks, np.nanmin(returns, axis=0))
    high = _per_task(reference_max, n_tasks, np.nanmax(returns, axis=0))
    given_max = np.zeros(n_tasks, dtype=bool) if reference_max is None else np.array([v is not None for v in reference_max])
    span = high - low
    safe_span = np.where(span > 0, span, 1.0)
    # An empty span with one reference given means that every return lies beyond it (all below a given min:
    # 0; all above a given max: 1), not an error to find at the end of a run.
    degenerate = np.where(given_max & (returns >= high), 1.0, 0.0)
    normalized = np.where(span > 0, (returns - low) / safe_span, degenerate)
    return np.clip(normalized, 0.0, 1.0)


def performance_at(steps: np.ndarray, normalized: np.ndarray, step: int) -> np.ndarray:
    """
    :param steps: Evaluation steps, shape ``(n_evaluations,)``, non-decreasing
    :param normalized: Normalised performance, shape ``(n_evaluations, n_tasks)``
    :param step: A training step
    :return: The performance of every task at the last evaluation made at or before ``step`` (NaN if none)
    """
    index = np.searchsorted(np.asarray(steps), step, side="right") - 1
    if index < 0:
        return np.full(normalized.shape[1], math.nan)
    return np.asarray(normalized[index], dtype=np.float64)


def average_performance(normalized: np.ndarray) -> float:
    """
    Continual World's average performance: the mean over tasks of the normalised performance at the
    end of training (the last evaluation).

    :param normalized: Normalised performance, shape ``(n_evaluations, n_tasks)``
    :return: The average performance, in ``[0, 1]``
    """
    return float(np.mean(np.asarray(normalized)[-1]))


def forgetting(steps: np.ndarray, normalized: np.ndarray, phases: Sequence[Phase]) -> np.ndarray:
    """
    Continual World's forgetting, per task: normalised performance at the end of the task's last
    training phase minus that at the end of training. Positive: forgotten; negative: improved by later
    tasks (backward transfer). The task of the final phase has 0. Average with ``np.nanmean``.

    :param steps: Evaluation steps, shape ``(n_evaluations,)``, non-decreasing
    :param normalized: Normalised performance, shape ``(n_evaluations, n_tasks)``
    :param phases: The phases actually trained, in order
    :return: Forgetting per task, shape ``(n_tasks,)``; NaN for a task that was never trained
    """
    normalized = np.asarray(normalized, dtype=np.float64)
    phases = check_phases(phases, normalized.shape[1])
    final = normalized[-1]
    result = np.full(normalized.shape[1], math.nan)
    for phase in phases:  # later phases overwrite earlier ones: the last phase of each task wins
        result[phase.task_id] = performance_at(steps, normalized, phase.end)[phase.task_id] - final[phase.task_id]
    return result


def area_under_curve(steps: np.ndarray, values: np.ndarray, start: float, end: float) -> float:
    """
    Mean value of a curve over ``[start, end]``: the trapezoidal area under the evaluations made in that
    interval divided by the span they cover (Continual World's ``AUC / Delta``).

    :param steps: Evaluation steps
    :param values: Values at those steps
    :param start: Start of the interval
    :param end: End of the interval
    :return: The mean value; NaN with fewer than two evaluations in the interval
    """
    steps, values = np.asarray(steps, dtype=np.float64), np.asarray(values, dtype=np.float64)
    inside = (steps >= start) & (steps <= end)
    steps, values = steps[inside], values[inside]
    if len(steps) < 2 or steps[-1] <= steps[0]:
        return math.nan
    area = float(np.sum((values[1:] + values[:-1]) * np.diff(steps)) / 2.0)
    return area / float(steps[-1] - steps[0])


def forward_transfer(
    steps: np.ndarray,
    normalized: np.ndarray,
    phases: Sequence[Phase],
    reference_curves: Optional[Sequence[Optional[tuple[np.ndarray, np.ndarray]]]] = None,
) -> np.ndarray:
    """
    Continual World's forward transfer, per task: ``(AUC_task - AUC_reference) / (1 - AUC_reference)``,
    where ``AUC_task`` is the mean normalised performance of the task during its first training phase
    and ``AUC_reference`` that of a reference curve, the same task trained alone from scratch for as
    long (steps counted from 0). Without reference curves forward transfer is undefined: NaN (reported
    as ``None`` in the metrics files).

    :param steps: Evaluation steps, shape ``(n_evaluations,)``
    :param normalized: Normalised performance, shape ``(n_evaluations, n_tasks)``
    :param phases: The phases actually trained, in order
    :param reference_curves: Per task, ``(steps, normalised performance)`` of single-task training, or ``None``
    :return: Forward transfer per task, shape ``(n_tasks,)``; NaN without a reference, for an untrained
        task, or when the reference already reaches 1 throughout
    """
    normalized = np.asarray(normalized, dtype=np.float64)
    n_tasks = normalized.shape[1]
    phases = check_phases(phases, n_tasks)
    result = np.full(n_tasks, math.nan)
    if reference_curves is None:
        return result
    check_length("reference_curves", reference_curves, n_tasks, "task")
    first_phases: dict[int, Phase] = {}
    for phase in phases:
        first_phases.setdefault(phase.task_id, phase)
    for task_id, phase in first_phases.items():
        reference = reference_curves[task_id]
        if reference is None:
            continue
        auc_task = area_under_curve(steps, normalized[:, task_id], phase.start, phase.end)
        auc_reference = area_under_curve(reference[0], reference[1], 0, phase.end - phase.start)
        if auc_reference < 1.0:
            result[task_id] = (auc_task - auc_reference) / (1.0 - auc_reference)
    return result


def adaptation_speed(steps: np.ndarray, normalized: np.ndarray, phases: Sequence[Phase], fraction: float = 0.8) -> np.ndarray:
    """
    How fast a task is recovered when it comes back: for each phase, the number of steps from the
    phase start until the task's normalised performance first reaches ``fraction`` of its best
    performance at any earlier evaluation (at or before the phase start), looking at the evaluations
    made during the phase. Normalised performance, rather than raw return, keeps the target meaningful
    for negative returns (80% of -100 would be above -100).

    NaN for a task's first phase (nothing to recover) and when the target is not reached before the
    phase ends. 0 when the task was not forgotten at all.

    :param steps: Evaluation steps, shape ``(n_evaluations,)``
    :param normalized: Normalised performance, shape ``(n_evaluations, n_tasks)``
    :param phases: The phases actually trained, in order
    :param fraction: Fraction of the best earlier performance to reach
    :return: Steps to adapt, per phase, shape ``(len(phases),)``
    """
    steps, normalized = np.asarray(steps), np.asarray(normalized, dtype=np.float64)
    phases = check_phases(phases, normalized.shape[1])
    fraction = check_fraction(fraction)
    result = np.full(len(phases), math.nan)
    seen: set[int] = set()
    for index, phase in enumerate(phases):
        if phase.task_id not in seen:
            seen.add(phase.task_id)
            continue
        earlier = normalized[steps <= phase.start, phase.task_id]
        if len(earlier) == 0:
            continue
        target = fraction * np.nanmax(earlier)
        during = np.flatnonzero((steps >= phase.start) & (steps <= phase.end) & (normalized[:, phase.task_id] >= target))
        if len(during) > 0:
            result[index] = float(steps[during[0]] - phase.start)
    return result


def steps_to_threshold(
    steps: np.ndarray, returns: np.ndarray, phases: Sequence[Phase], thresholds: Sequence[Optional[float]]
) -> np.ndarray:
    """
    How long each phase took to solve its task: the steps from the phase start to the first evaluation made during
    the phase (the one at its start included) whose mean return on the phase's task reaches the task's threshold.
    0 when the task was solved as the phase began; NaN when the threshold is not reached before the phase ends, or
    the task has no threshold.

    :param steps: Evaluation steps, shape ``(n_evaluations,)``
    :param returns: Mean evaluation returns, shape ``(n_evaluations, n_tasks)``
    :param phases: The phases actually trained, in order
    :param thresholds: Return threshold of each task (``Task.reward_threshold``; ``None``: no threshold)
    :return: Steps to the threshold, per phase, shape ``(len(phases),)``
    """
    steps, returns = np.asarray(steps), np.asarray(returns, dtype=np.float64)
    phases = check_phases(phases, returns.shape[1])
    if isinstance(thresholds, (str, bytes)) or len(thresholds) != returns.shape[1]:
        raise ValueError(f"`thresholds` needs one entry per task ({returns.shape[1]}), got {describe(thresholds)}")
    result = np.full(len(phases), math.nan)
    for index, phase in enumerate(phases):
        threshold = thresholds[phase.task_id]
        if threshold is None:
            continue
        check_finite_float(f"thresholds[{phase.task_id}]", threshold)
        during = np.flatnonzero((steps >= phase.start) & (steps <= phase.end) & (returns[:, phase.task_id] >= threshold))
        if len(during) > 0:
            result[index] = float(steps[during[0]] - phase.start)
    return result


def relearning_cost(phase_steps: np.ndarray, phases: Sequence[Phase], from_scratch: Sequence[Optional[float]]) -> np.ndarray:
    """
    The plasticity signal of a continual run: for each phase after the first, the steps it took to reach its task's
    threshold (:func:`steps_to_threshold`) divided by the steps PPO needs to reach it from scratch on that task alone
    (the single-task reference runs). 1 means the switch cost as much as learning anew, above 1 that the earlier
    tasks made it harder (lost plasticity), below 1 that they helped. NaN for the first phase, for a task without a
    reference and when the threshold was not reached (count those apart: they are the worst case).

    :param phase_steps: Steps to the threshold per phase (:func:`steps_to_threshold`), shape ``(len(phases),)``
    :param phases: The phases actually trained, in order
    :param from_scratch: Steps to the threshold from scratch, per task (for example the median over seeds of the
        reference runs; ``None``: no reference)
    :return: The cost per phase, shape ``(len(phases),)``
    """
    phase_steps = np.asarray(phase_steps, dtype=np.float64)
    phases = check_phases(phases, len(from_scratch))
    if phase_steps.shape != (len(phases),):
        raise ValueError(f"`phase_steps` needs one entry per phase ({len(phases)}), got shape {phase_steps.shape}")
    result = np.full(len(phases), math.nan)
    for index, phase in enumerate(phases[1:], start=1):
        reference = from_scratch[phase.task_id]
        if reference is None:
            continue
        reference = check_finite_float(f"from_scratch[{phase.task_id}]", reference, low=0.0, low_inclusive=False)
        result[index] = phase_steps[index] / reference
    return result


def check_reference_curves(
    reference_curves: Optional[Mapping[str, tuple[Sequence[float], Sequence[float]]]], task_names: Sequence[str]
) -> None:
    """
    Check the single-task curves of :func:`compute_metrics`: ``None`` or a mapping from known task names to
    ``(steps, returns)``, two 1-D lists of finite numbers of the same length, the steps non-decreasing.

    :param reference_curves: The curves, per task name
    :param task_names: The task names of the run
    :raises ValueError: On an unknown task name or a malformed curve
    """
    if reference_curves is None:
        return
    if not isinstance(reference_curves, Mapping):
        raise ValueError(
            f"`reference_curves` must be a dict of task name -> (steps, returns), got {describe(reference_curves)}"
        )
    unknown = sorted(set(reference_curves) - set(task_names), key=str)
    if unknown:
        raise ValueError(f"Reference curves for unknown tasks {unknown}, tasks are {list(task_names)}")
    for name, curve in reference_curves.items():
        where = f"`reference_curves[{name!r}]`"
        try:
            curve_steps, curve_returns = (np.asarray(values, dtype=np.float64) for values in curve)
        except (TypeError, ValueError):
            raise ValueError(f"{where} must be a pair (steps, returns) of lists of numbers, got {describe(curve)}") from None
        if curve_steps.ndim != 1 or curve_steps.shape != curve_returns.shape:
            raise ValueError(
                f"{where} must be (steps, returns) of the same length, "
                f"got shapes {curve_steps.shape} and {curve_returns.shape}"
            )
        if not (np.all(np.isfinite(curve_steps)) and np.all(np.isfinite(curve_returns))):
            raise ValueError(f"{where} must hold finite numbers only, got {describe(curve)}")
        if np.any(np.diff(curve_steps) < 0):
            raise ValueError(f"{where}: the steps must be non-decreasing, got {curve_steps.tolist()}")


def _none_if_nan(value: Any) -> Optional[float]:
    value = float(value)
    return None if math.isnan(value) else value


def compute_metrics(
    table: EvaluationTable,
    phases: Sequence[Phase],
    reference_min: Optional[Sequence[Optional[float]]] = None,
    reference_max: Optional[Sequence[Optional[float]]] = None,
    reference_curves: Optional[Mapping[str, tuple[Sequence[float], Sequence[float]]]] = None,
    fraction: float = 0.8,
) -> dict[str, Any]:
    """
    Every continual-learning metric of a run, as a JSON-ready dictionary (NaN written as ``None``).

    The time axis is the periodic evaluation of every task, never an average over training episodes:
    when failing ends episodes early (a falling robot), most episodes are failures, so an episode
    average is dominated by them and hides a late recovery, while an evaluation every ``eval_freq``
    steps weighs every point of the run alike.

    :param table: The evaluations
    :param phases: The phases actually trained, in order
    :param reference_min: Return mapped to 0, per task (``None``: the task's minimum over the run)
    :param reference_max: Return mapped to 1, per task (``None``: the task's maximum over the run)
    :param reference_curves: Per task name, ``(steps, returns)`` of single-task training from scratch, for
        forward transfer (normalised like the run); ``None``: forward transfer is not computed
    :param fraction: Target fraction of :func:`adaptation_speed`
    :return: ``average_performance``, ``forgetting``, ``forward_transfer``, ``adaptation_speed`` (averages;
        ``None`` when undefined), ``tasks`` (per-task values; ``trained`` says whether a phase of ``phases`` trained
        the task: an untrained task has no forgetting, transfer or adaptation speed) and ``phases`` (per-phase values)
    """
    check_instance("table", table, EvaluationTable, "an EvaluationTable")
    if len(table) == 0:
        raise ValueError("`table` holds no evaluation: the metrics need at least one")
    n_tasks = len(table.task_names)
    phases = check_phases(phases, n_tasks)
    fraction = check_fraction(fraction)
    check_references(reference_min, reference_max, table.task_names)
    check_reference_curves(reference_curves, table.task_names)
    low = _per_task(reference_min, n_tasks, np.nanmin(table.returns, axis=0))
    high = _per_task(reference_max, n_tasks, np.nanmax(table.returns, axis=0))
    normalized = normalize_returns(table.returns, reference_min, reference_max)
    per_task_forgetting = forgetting(table.steps, normalized, phases)
    curves: Optional[list[Optional[tuple[np.ndarray, np.ndarray]]]] = None
    if reference_curves is not None:
        curves = []
        for task_id, name in enumerate(table.task_names):
            if name not in reference_curves:
                curves.append(None)
                continue
            curve_steps, curve_returns = (np.asarray(values, dtype=np.float64) for values in reference_curves[name])
            curve = normalize_returns(curve_returns.reshape(-1, 1), [low[task_id]], [high[task_id]]).ravel()
            curves.append((curve_steps, curve))
    per_task_transfer = forward_transfer(table.steps, normalized, phases, curves)
    per_phase_speed = adaptation_speed(table.steps, normalized, phases, fraction)

    def nanmean(values: np.ndarray) -> Optional[float]:
        values = np.asarray(values, dtype=np.float64)
        return None if np.all(np.isnan(values)) else float(np.nanmean(values))

    tasks = []
    trained = {phase.task_id for phase in phases}
    for task_id, name in enumerate(table.task_names):
        speeds = [per_phase_speed[i] for i, phase in enumerate(phases) if phase.task_id == task_id]
        tasks.append(
            {
                "task_id": task_id,
                "task": name,
                "reference_min": float(low[task_id]),
                "reference_max": float(high[task_id]),
                "trained": task_id in trained,
                "final_return": float(table.returns[-1, task_id]),
                "final_performance": float(normalized[-1, task_id]),
                "forgetting": _none_if_nan(per_task_forgetting[task_id]),
                "forward_transfer": _none_if_nan(per_task_transfer[task_id]),
                "adaptation_speed": nanmean(np.array(speeds[1:])) if len(speeds) > 1 else None,
            }
        )
    return {
        "average_performance": average_performance(normalized),
        "forgetting": nanmean(per_task_forgetting),
        "forward_transfer": nanmean(per_task_transfer),
        "adaptation_speed": nanmean(per_phase_speed),
        "adaptation_fraction": fraction,
        "normalization": "given" if reference_min is not None or reference_max is not None else "run min/max",
        "forward_transfer_note": None if reference_curves is not None else "no reference single-task curves given",
        "tasks": tasks,
        "phases": [
            {
                "task_id": phase.task_id,
                "task": table.task_names[phase.task_id],
                "start": int(phase.start),
                "end": int(phase.end),
                "adaptation_speed": _none_if_nan(per_phase_speed[index]),
            }
            for index, phase in enumerate(phases)
        ],
    }


def write_metrics(metrics: dict[str, Any], json_path: str, csv_path: str) -> None:
    """
    Write the metrics of :func:`compute_metrics` as JSON, and as a CSV table with one row per task plus
    an ``all`` row holding the averages.

    :param metrics: The metrics
    :param json_path: The JSON file
    :param csv_path: The CSV file
    """
    with open(json_path, "w") as file:
        json.dump(metrics, file, indent=2)
    columns = ["task_id", "task", "final_performance", "forgetting", "forward_transfer", "adaptation_speed"]
    with open(csv_path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        for task in metrics["tasks"]:
            writer.writerow(["" if task[column] is None else task[column] for column in columns])
        averages = {"task_id": "", "task": "all", "final_performance": metrics["average_performance"]}
        averages.update({column: metrics[column] for column in columns[3:]})
        writer.writerow(["" if averages[column] is None else averages[column] for column in columns])
