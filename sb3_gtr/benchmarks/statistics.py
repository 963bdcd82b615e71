"""
Statistics the field trusts for few-seed RL comparisons (Agarwal et al., 2021), from the ``rliable`` library: the
interquartile mean (IQM) of per-run scores with a stratified bootstrap 95% interval, and the probability that a run
of one method scores higher than a run of another (probability of improvement), with its bootstrap interval.

Scores are ``(n_runs, n_tasks)`` arrays per method (a task here is a suite, or one cell of an ablation); the
bootstrap resamples runs within each task. ``rliable`` is in the ``benchmarks`` extra (``pip install
"sb3-gtr[benchmarks]"``); it is imported when a function here is called.
"""

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

#: Bootstrap resamples: rliable's examples use 2,000 for intervals, enough for two decimals.
BOOTSTRAP_REPS = 2_000
#: Confidence of every interval.
CONFIDENCE = 0.95


def _rliable() -> tuple[Any, Any]:
    try:
        from rliable import library, metrics
    except ImportError as error:
        raise ImportError(
            f"sb3_gtr.benchmarks.statistics needs rliable ({error}): install the benchmarks extra, "
            'pip install "sb3-gtr[benchmarks]"'
        ) from None
    return library, metrics


def _interval_estimates(
    scores: Mapping[str, Any], function: Callable[..., np.ndarray], reps: int, seed: int, confidence: float = CONFIDENCE
) -> tuple:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    library, _ = _rliable()
    # rliable 1.2's stratified bootstraps draw their indices from NumPy's global generator, not from the random_state
    # they are given: without seeding it the same call gave other intervals each time. Seed it, then put it back.
    global_state = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            # rliable 1.2 hands arch a RandomState, which arch 7.2 deprecates in favour of a Generator: a library matter
            warnings.filterwarnings("ignore", category=FutureWarning, module="arch")
            return library.get_interval_estimates(
                scores, function, reps=reps, confidence_interval_size=confidence, random_state=np.random.RandomState(seed)
            )
    finally:
        np.random.set_state(global_state)


def _scores(name: str, values: Any) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] < 2 or not np.all(np.isfinite(array)):
        raise ValueError(f"The scores of {name!r} must be a finite (n_runs >= 2, n_tasks) array, got {values!r}")
    return array


def iqm_intervals(
    scores: Mapping[str, Any], reps: int = BOOTSTRAP_REPS, seed: int = 0, confidence: float = CONFIDENCE
) -> dict[str, dict[str, float]]:
    """
    The IQM of each method's scores over runs and tasks, with its stratified bootstrap interval.

    :param scores: Per method, scores of shape ``(n_runs, n_tasks)`` (or ``(n_runs,)`` for one task)
    :param reps: Bootstrap resamples
    :param seed: Seed of the bootstrap
    :param confidence: Confidence level of the intervals
    :return: Per method, ``iqm``, ``low`` and ``high`` (the ``confidence`` interval) and ``n_runs``
    """
    _, metrics = _rliable()
    arrays = {name: _scores(name, values) for name, values in scores.items()}
    point, interval = _interval_estimates(
        arrays, lambda array: np.array([metrics.aggregate_iqm(array)]), reps, seed, confidence
    )
    return {
        name: {
            "iqm": float(point[name][0]),
            "low": float(interval[name][0, 0]),
            "high": float(interval[name][1, 0]),
            "n_runs": int(arrays[name].shape[0]),
        }
        for name in arrays
    }


def probability_of_improvement(
    scores: Mapping[str, Any], method: str, baselines: list[str], reps: int = BOOTSTRAP_REPS, seed: int = 0
) -> dict[str, dict[str, float]]:
    """
    The probability that a run of ``method`` scores higher than a run of each baseline (ties count half), averaged
    over tasks, with its stratified bootstrap interval. 0.5 means no difference; above 0.5 ``method`` is better.

    :param scores: Per method, scores of shape ``(n_runs, n_tasks)`` (higher is better: negate a cost)
    :param method: The method compared
    :param baselines: The methods it is compared with
    :param reps: Bootstrap resamples
    :param seed: Seed of the bootstrap
    :return: Per baseline, ``probability``, ``low`` and ``high``
    """
    _, metrics = _rliable()
    arrays = {name: _scores(name, values) for name, values in scores.items()}
    pairs = {baseline: (arrays[method], arrays[baseline]) for baseline in baselines}
    point, interval = _interval_estimates(pairs, lambda x, y: np.array([metrics.probability_of_improvement(x, y)]), reps, seed)
    return {
        baseline: {
            "probability": float(point[baseline][0]),
            "low": float(interval[baseline][0, 0]),
            "high": float(interval[baseline][1, 0]),
        }
        for baseline in baselines
    }


def mean_band(
    curves: Any, reps: int = BOOTSTRAP_REPS, seed: int = 0, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    The pointwise mean of curves sampled on the same steps (one per run), with a bootstrap interval at every step
    (runs resampled independently at each step: rliable's stratified bootstrap with the steps as its tasks).

    :param curves: Shape ``(n_runs, n_steps)``, ``n_runs >= 2``
    :param reps: Bootstrap resamples
    :param seed: Seed of the bootstrap
    :param confidence: Confidence level of the band
    :return: ``mean``, ``low`` and ``high``, each ``(n_steps,)``
    """
    array = np.asarray(curves, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"curves must have shape (n_runs, n_steps), got {array.shape}")
    point, interval = _interval_estimates(
        {"curves": _scores("curves", array)}, lambda x: x.mean(axis=0), reps, seed, confidence
    )
    return point["curves"], interval["curves"][0], interval["curves"][1]
