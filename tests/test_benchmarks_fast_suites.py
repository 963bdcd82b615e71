import json

import numpy as np
import pytest

from sb3_gtr.benchmarks import calibration, fast_suites
from sb3_gtr.continual.metrics import EvaluationTable

SUITE = "cartpole-reversed"
BUDGET = 51_200
STEP = 5_120  # ten evaluations per phase


def write_job(job_dir, config, task_names, steps, returns, metrics):
    job_dir.mkdir(parents=True)
    EvaluationTable(task_names, steps, returns, np.zeros_like(returns)).to_csv(str(job_dir / "evaluations.csv"))
    (job_dir / "metrics.json").write_text(json.dumps(metrics))
    (job_dir / "done").write_text(json.dumps({"config": config, "wall_time_s": 60.0}))


def calibration_runs(root):
    """Every task reaches 450 after 4 evaluations from scratch (20,480 steps), for 10 seeds."""
    for task in ("normal", "reversed"):
        for seed in range(10):
            config = {"suite": SUITE, "scale": 1.0, "n_cycles": 1, "suite_kwargs": {"tasks": [task]}, "seed": seed}
            returns = np.array([[20.0]] * 4 + [[500.0]] * 7)
            metrics = {"phases": [{"task_id": 0, "start": 0, "end": BUDGET}]}
            write_job(root / SUITE / task / "ppo" / f"seed_{seed}", config, [task], np.arange(11) * STEP, returns, metrics)


def continual_run(root, method, seed, evals_to_solve, method_kwargs=None):
    """Six phases; after each switch the new task reaches 500 after `evals_to_solve` evaluations (None: never)."""
    phases = [{"task_id": index % 2, "start": index * BUDGET, "end": (index + 1) * BUDGET} for index in range(6)]
    steps = np.arange(61) * STEP
    returns = np.full((61, 2), 10.0)
    for index, phase in enumerate(phases):
        solve = 4 if index == 0 else evals_to_solve
        if solve is not None:
            returns[index * 10 + solve : (index + 1) * 10 + 1, phase["task_id"]] = 500.0
    config = {"suite": SUITE, "scale": 1.0, "n_cycles": None, "suite_kwargs": {}, "seed": seed, "method": method}
    if method_kwargs is not None:
        config["method_kwargs"] = method_kwargs
    metrics = {"phases": phases}
    write_job(root / SUITE / method / f"seed_{seed}", config, ["normal", "reversed"], steps, returns, metrics)


def test_relearning_cost_and_rliable_report(tmp_path):
    calibration_runs(tmp_path / "calibration")
    for seed in range(5):
        continual_run(tmp_path / "fast", "ppo", seed, evals_to_solve=8)  # twice as slow as from scratch
        continual_run(tmp_path / "fast", "gtr", seed, evals_to_solve=2)  # twice as fast
    continual_run(tmp_path / "fast", "spo", 0, evals_to_solve=None)  # one run only: left out

    run = fast_suites.run_scores(tmp_path / "fast" / SUITE / "ppo" / "seed_0", [20_480.0, 20_480.0])
    assert run["relearning_cost"] == pytest.approx(2.0)
    assert run["switch_costs"] == pytest.approx([2.0] * 5)
    assert run["solved_switches"] == 1.0
    assert run["steps_to_threshold"] == [20_480] + [40_960] * 5

    report = fast_suites.suite_report(SUITE, tmp_path / "fast", tmp_path / "calibration", reps=200)
    assert report["from_scratch_steps"] == [20_480.0, 20_480.0]
    assert list(report["runs"]) == ["ppo", "gtr"]
    cost = report["scores"]["relearning_cost"]
    assert cost["iqm"]["ppo"]["iqm"] == pytest.approx(2.0) and cost["iqm"]["gtr"]["iqm"] == pytest.approx(0.5)
    # lower cost is better: every GTR run beats every PPO run
    assert cost["probability_of_improvement"]["ppo"]["probability"] == pytest.approx(1.0)
    # solved sooner, the current task's normalised curve has more area (normalised by the suite's worst and best: 10, 500)
    auc = report["scores"]["auc_current_task"]["iqm"]
    assert report["auc_references"] == {"min": [10.0, 10.0], "max": [500.0, 500.0]}
    assert auc["gtr"]["iqm"] > auc["ppo"]["iqm"] > 0.0
    # the reversed task's first phase against it learned from scratch: slower than from scratch is negative transfer
    transfer = report["scores"]["forward_transfer"]["iqm"]
    assert transfer["ppo"]["iqm"] < 0.0 < transfer["gtr"]["iqm"]
    assert report["runs"]["ppo"][0]["forward_transfer"] < 0.0

    fast_suites.write_report([report], tmp_path / "report")
    table = (tmp_path / "report.rst").read_text()
    assert "relearning cost (lower is better)" in table and "gtr over ppo" in table
    assert "phase 2 (reversed)" in table and "5/5" in table
    assert json.loads((tmp_path / "report.json").read_text())["suites"][0]["suite"] == SUITE


def test_unsolved_switches_count_as_their_whole_phase(tmp_path):
    continual_run(tmp_path, "ppo", 0, evals_to_solve=None)
    run = fast_suites.run_scores(tmp_path / SUITE / "ppo" / "seed_0", [20_480.0, 20_480.0])
    assert run["solved_switches"] == 0.0
    assert run["forward_transfer"] is None  # no reference curves given
    assert run["relearning_cost"] == pytest.approx(BUDGET / 20_480)


def test_report_needs_the_calibration(tmp_path):
    continual_run(tmp_path / "fast", "ppo", 0, evals_to_solve=2)
    with pytest.raises(ValueError, match="run the calibration first"):
        fast_suites.suite_report(SUITE, tmp_path / "fast", tmp_path / "calibration")
    with pytest.raises(SystemExit):
        fast_suites.main(["--results-dir", str(tmp_path / "fast"), "--calibration-dir", str(tmp_path / "nothing")])
    assert calibration.summarize(tmp_path / "nothing") == []
