import numpy as np
import pytest
from scipy import stats

from sb3_gtr.benchmarks.statistics import iqm_intervals, mean_band, probability_of_improvement


def test_iqm_is_the_interquartile_mean_and_its_interval_covers_it():
    rng = np.random.default_rng(0)
    scores = {"a": rng.normal(size=(12, 2)), "b": rng.normal(loc=3.0, size=(12, 2))}
    result = iqm_intervals(scores, reps=500)
    for name, values in scores.items():
        # rliable's IQM: the mean of the middle 50% of all run x task scores
        assert result[name]["iqm"] == pytest.approx(stats.trim_mean(values.ravel(), 0.25))
        assert result[name]["low"] < result[name]["iqm"] < result[name]["high"]
        assert result[name]["n_runs"] == 12
    assert result["a"]["high"] < result["b"]["low"]  # well separated samples have disjoint intervals


def test_probability_of_improvement_is_the_mann_whitney_statistic():
    x, y = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, 2.0, 2.5, 5.0])
    # pairs with x > y: 1>0.5; 2>0.5; 3>0.5, 3>2, 3>2.5; 4>0.5, 4>2, 4>2.5 = 8, plus the tie 2 = 2 counting half
    expected = (8 + 0.5) / 16
    result = probability_of_improvement({"x": x, "y": y}, "x", ["y"], reps=300)["y"]
    assert result["probability"] == pytest.approx(expected)
    assert result["low"] <= expected <= result["high"]
    same = probability_of_improvement({"x": x, "y": x}, "x", ["y"], reps=300)["y"]
    assert same["probability"] == pytest.approx(0.5)


def test_intervals_depend_on_their_seed_alone():
    # rliable draws its bootstrap indices from NumPy's global generator: a seed has to fix them all the same, whatever
    # state the global generator is in, and that state must come back unchanged
    rng = np.random.default_rng(3)
    scores = {"a": rng.normal(size=12), "b": rng.normal(loc=0.5, size=12)}
    results = []
    for global_seed in (1, 2):
        np.random.seed(global_seed)
        expected_next = np.random.random()
        np.random.seed(global_seed)
        results.append((iqm_intervals(scores, reps=300), probability_of_improvement(scores, "a", ["b"], reps=300)))
        assert np.random.random() == expected_next
    assert results[0] == results[1]
    # and the seed does reach the bootstrap
    assert len({iqm_intervals(scores, reps=300, seed=seed)["b"]["low"] for seed in range(5)}) > 1


@pytest.mark.parametrize("values", [[1.0], [1.0, float("nan")], [[[1.0]]]])
def test_bad_scores_are_refused(values):
    with pytest.raises(ValueError, match="must be a finite"):
        iqm_intervals({"a": values})


def test_mean_band_is_the_pointwise_mean_with_an_interval_inside_the_runs():
    curves = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 4.0], [2.0, 1.0, 0.0], [3.0, 1.0, 6.0]])
    mean, low, high = mean_band(curves, reps=500)
    np.testing.assert_allclose(mean, [1.5, 1.0, 3.0])
    # A resampled mean lies between the smallest and the largest run; a step where every run agrees has no width
    assert np.all(curves.min(axis=0) <= low) and np.all(low <= mean) and np.all(mean <= high)
    assert np.all(high <= curves.max(axis=0)) and low[1] == high[1] == 1.0
    assert low[0] < mean[0] < high[0]
    with pytest.raises(ValueError, match="n_runs, n_steps"):
        mean_band(np.zeros(3))
