import json

import pytest

from sb3_gtr.benchmarks import calibration
from sb3_gtr.continual.metrics import EvaluationTable
from sb3_gtr.continual.suites import REVERSAL_SUITES


def fake_job(root, suite, task, seed, returns, step=5_120, wall_time_s=10.0):
    """A finished single-task job folder, as the continual benchmark writes it."""
    budget = REVERSAL_SUITES[suite][1]
    job_dir = root / suite / task / "ppo" / f"seed_{seed}"
    job_dir.mkdir(parents=True)
    steps = [min(index * step, budget) for index in range(len(returns))]
    EvaluationTable([task], steps, [[value] for value in returns], [[0.0] for _ in returns]).to_csv(
        str(job_dir / "evaluations.csv")
    )
    (job_dir / "metrics.json").write_text(json.dumps({"phases": [{"task_id": 0, "start": 0, "end": budget}]}))
    config = {"suite": suite, "scale": 1.0, "n_cycles": 1, "suite_kwargs": {"tasks": [task]}, "seed": seed}
    (job_dir / "done").write_text(json.dumps({"config": config, "wall_time_s": wall_time_s}))
    return job_dir


def test_reference_runs_are_summarized_and_reported(tmp_path):
    # CartPole's threshold is 450: seeds 0-8 reach it at the 2nd, 3rd ... evaluation, seed 9 never does
    for seed in range(10):
        returns = [20.0] * (seed + 2) + [500.0] if seed < 9 else [20.0] * 5
        fake_job(tmp_path, "cartpole-reversed", "normal", seed, returns, wall_time_s=10.0 + seed)
    run = calibration.reference_run(tmp_path / "cartpole-reversed" / "normal" / "ppo" / "seed_0")
    assert run == {
        "seed": 0,
        "steps_to_threshold": 2 * 5_120,
        "budget": 51_200,
        "threshold": 450.0,
        "final_return": 500.0,
        "wall_time_s": 10.0,
    }
    (row,) = calibration.summarize(tmp_path)
    assert (row["suite"], row["task"], row["n_seeds"], row["n_reached"]) == ("cartpole-reversed", "normal", 10, 9)
    assert row["calibrated"]  # 9 of 10 seeds
    assert row["max_steps"] == 10 * 5_120
    # the unreached seed counts as the whole budget in the median
    assert row["median_steps"] == pytest.approx((6 + 7) / 2 * 5_120)
    assert calibration.from_scratch_steps([row], "cartpole-reversed") == [row["median_steps"], None]

    calibration.write_report([row], tmp_path / "report")
    table = (tmp_path / "report.rst").read_text()
    assert "``cartpole-reversed``" in table and "9/10" in table and "51,200" in table
    assert json.loads((tmp_path / "report.json").read_text())["rows"][0]["n_reached"] == 9

    # Two seeds short of the threshold: not calibrated
    for seed in (10, 11):
        fake_job(tmp_path, "cartpole-reversed", "normal", seed, [20.0] * 5)
    (row,) = calibration.summarize(tmp_path)
    assert (row["n_reached"], row["n_seeds"], row["calibrated"]) == (9, 12, False)


def test_zoo_settings_come_from_the_suites_zoo_entries():
    settings = calibration.zoo_settings("pendulum-reversed")
    assert settings["n_envs"] == 4 and settings["policy"] == "MlpPolicy"
    assert settings["algo_kwargs"]["use_sde"] is True
    assert "penalty" not in settings["algo_kwargs"]  # each method sets the trust-region arguments
    assert calibration.rollout_size(settings) == 4_096


def test_command_line_refuses_bad_input(tmp_path, capsys):
    with pytest.raises(SystemExit):
        calibration.main(["run", "--suite", "flip"])
    assert "invalid choice: 'flip'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        calibration.main(["run", "--suite", "cartpole-reversed", "--seeds", "1", "1"])
    assert "--seeds: 1 given more than once" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        calibration.main(["report", "--results-dir", str(tmp_path)])
    assert "no finished calibration run" in capsys.readouterr().err


def test_zoo_hyperparams_fill_what_the_flags_leave_out():
    import argparse

    from sb3_gtr.benchmarks.arguments import add_job_arguments, job_arguments

    parser = argparse.ArgumentParser()
    add_job_arguments(parser)
    plain = job_arguments(parser.parse_args(["--suite", "cartpole-reversed"]))
    assert (plain["n_envs"], plain["algo_kwargs"], plain["policy"]) == (1, {}, None)
    args = parser.parse_args(["--suite", "cartpole-reversed", "--zoo-hyperparams", "--algo-kwargs", '{"n_epochs": 30}'])
    values = job_arguments(args)
    assert values["n_envs"] == 8 and values["policy"] == "MlpPolicy" and values["normalize"] is False
    # The zoo's hyperparameters are defaults, kept apart so that a method's own kwargs can override them
    assert values["algo_kwargs"] == {"n_epochs": 30}
    assert values["zoo_algo_kwargs"] == calibration.zoo_settings("cartpole-reversed")["algo_kwargs"]
    assert values["zoo_algo_kwargs"]["n_steps"] == 32
    args = parser.parse_args(["--suite", "cartpole-reversed", "--zoo-hyperparams", "--n-envs", "2"])
    assert job_arguments(args)["n_envs"] == 2


def test_zoo_hyperparams_are_defaults_that_the_user_and_each_method_override():
    from sb3_gtr.benchmarks.arguments import split_zoo_kwargs

    zoo = {"n_steps": 32, "n_epochs": 20, "clip_range": 0.2}
    # Nothing set elsewhere: all shared
    assert split_zoo_kwargs(zoo, {}, ()) == (zoo, {})
    # --algo-kwargs wins for everyone; a key some method sets moves into each method's kwargs
    shared, per_method = split_zoo_kwargs(zoo, {"n_steps": 64}, {"n_epochs", "penalty"})
    assert shared == {"n_steps": 64, "clip_range": 0.2} and per_method == {"n_epochs": 20}
    assert split_zoo_kwargs(None, {"n_steps": 64}, {"n_epochs"}) == ({"n_steps": 64}, {})


def test_a_method_overrides_the_zoo_hyperparameters_of_its_suite(tmp_path):
    # The n_epochs ablation: with --zoo-hyperparams, a method setting n_epochs used to be refused as a clash with the
    # zoo's n_epochs. The zoo's value now stays every other method's.
    from sb3_gtr.benchmarks import continual

    argv = ["--suite", "cartpole-reversed", "--zoo-hyperparams", "--scale", "0.01", "--n-cycles", "1", "--seeds", "0"]
    argv += ["--methods", "ppo", "ppo-e2", "--method-kwargs", '{"ppo-e2": {"base": "ppo", "n_epochs": 2}}']
    # The in-house worker processes (the default, Ray, is tested in test_benchmarks_ray.py)
    argv += ["--dispatch", "processes"]
    report = continual.main([*argv, "--n-eval-episodes", "1", "--quiet", "--output-dir", str(tmp_path)])
    assert sorted(report["ran"]) == ["ppo-e2/seed_0", "ppo/seed_0"] and report["failed"] == []
    assert "n_epochs" not in report["settings"]["algo_kwargs"] and report["settings"]["algo_kwargs"]["n_steps"] == 32
    assert report["methods"]["ppo"]["n_epochs"] == 20 and report["methods"]["ppo-e2"]["n_epochs"] == 2
    for method, n_epochs in (("ppo", 20), ("ppo-e2", 2)):
        done = json.loads((tmp_path / method / "seed_0" / "done").read_text())
        assert done["config"]["method_kwargs"]["n_epochs"] == n_epochs
