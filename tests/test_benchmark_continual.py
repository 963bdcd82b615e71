"""The continual benchmark runner: methods, statistics, shared normalisation, and a tiny resumable run."""

import csv
import json
import math

import numpy as np
import pytest
from torch import nn

from sb3_gtr import GTRPPO, RecurrentGTRPPO
from sb3_gtr.benchmarks import continual
from sb3_gtr.benchmarks.aggregate import (
    METRICS,
    aggregate,
    interval_estimate,
    performance_curves,
    run_metrics,
    shared_references,
    summarize,
)
from sb3_gtr.benchmarks.arguments import NUM_THREADS, BadArgument
from sb3_gtr.benchmarks.jobs import job_config_json, job_dir, normalized_json, resolve_policy, run_job
from sb3_gtr.benchmarks.methods import CONTINUAL_METHODS, resolve_methods
from sb3_gtr.benchmarks.settings import default_eval_freq, job_settings, resolve_setup, validate_jobs
from sb3_gtr.continual.metrics import EvaluationTable
from sb3_gtr.continual.suites import make_suite
from sb3_gtr.continual.tasks import Phase
from sb3_gtr.networks.simba import SimbaActorCriticPolicy


def test_methods_share_one_algorithm_and_differ_in_the_trust_region():
    methods = resolve_methods(["ppo", "ppo-kl", "spo", "gtr"])
    assert methods["ppo"] == {"penalty": "none"}
    assert methods["ppo-kl"] == {"penalty": "kl", "penalty_coef": 1.0, "mixture_anchor": False, "clip_surrogate": True}
    assert methods["spo"] == {
        "penalty": "pearson",
        "penalty_coef": "advantage",
        "mixture_anchor": False,
        "clip_surrogate": False,
    }
    assert methods["gtr"] == {}
    # Overrides and new methods derived from a base one, for sweeps
    swept = resolve_methods(
        ["gtr", "gtr-s0.3", "ppo-kl"], {"gtr-s0.3": {"base": "gtr", "sigma": 0.3}, "ppo-kl": {"penalty_coef": 3.0}}
    )
    assert swept["gtr-s0.3"] == {"sigma": 0.3}
    assert swept["ppo-kl"]["penalty_coef"] == 3.0 and swept["ppo-kl"]["penalty"] == "kl"
    assert CONTINUAL_METHODS["ppo-kl"].kwargs["penalty_coef"] == 1.0  # the table itself is untouched
    with pytest.raises(ValueError, match="Unknown method 'gtr-x'"):
        resolve_methods(["gtr-x"])
    with pytest.raises(ValueError, match="not run"):
        resolve_methods(["gtr"], {"spo": {"sigma": 1.0}})
    # A shared hyperparameter may not silently redefine a method
    with pytest.raises(ValueError, match="define method 'spo'"):
        continual.run_benchmark("flip", methods=["spo"], algo_kwargs={"clip_surrogate": True})
    with pytest.raises(ValueError, match="cannot set"):
        continual.run_benchmark("flip", methods=["ppo"], algo_kwargs={"seed": 3})


def test_policy_and_normalisation_follow_the_suite_unless_given():
    sequence = make_suite("flip", scale=1e-3)
    sequence.policy, sequence.policy_kwargs, sequence.normalize_kwargs = None, {}, None
    assert resolve_setup(sequence) == {"policy": "MlpPolicy", "policy_kwargs": None, "normalize_kwargs": None}
    assert resolve_setup(sequence, normalize=True)["normalize_kwargs"] == {}
    # A suite recommending a policy (a class), its kwargs and VecNormalize
    sequence.policy, sequence.policy_kwargs = SimbaActorCriticPolicy, {"activation_fn": nn.Tanh}
    sequence.normalize_kwargs = {"norm_reward": False}
    setup = resolve_setup(sequence)
    assert setup == {
        "policy": "sb3_gtr.networks.simba.SimbaActorCriticPolicy",
        "policy_kwargs": {"activation_fn": nn.Tanh},
        "normalize_kwargs": {"norm_reward": False},
    }
    assert resolve_policy(setup["policy"]) == (GTRPPO, SimbaActorCriticPolicy)
    # Stored in the `done` markers as JSON, classes by their import path
    assert normalized_json(setup)["policy_kwargs"] == {"activation_fn": "torch.nn.modules.activation.Tanh"}
    # The user's choices win; the suite's policy_kwargs only go with the suite's policy
    assert resolve_setup(sequence, policy="MlpPolicy")["policy_kwargs"] is None
    assert resolve_setup(sequence, normalize=False)["normalize_kwargs"] is None
    assert resolve_setup(sequence, normalize_kwargs={"gamma": 0.9})["normalize_kwargs"] == {"gamma": 0.9}
    # Recurrent policies get RecurrentGTRPPO
    assert resolve_policy("MlpLnGruPolicy") == (RecurrentGTRPPO, "MlpLnGruPolicy")
    assert resolve_policy("sb3_gtr.networks.ln_gru.LnGruActorCriticPolicy")[0] is RecurrentGTRPPO
    with pytest.raises(ValueError, match="Unknown policy"):
        resolve_policy("MlpPolicyy")


def test_interval_estimate_is_the_iqm_with_its_bootstrap_interval():
    # Three values: the IQM trims nothing (the mean, 2). The resampled means run from 1 (all draws 1, probability
    # 1/27 > 2.5%) to 3, so the 95% percentile interval is [1, 3].
    summary = interval_estimate([1.0, None, 2.0, math.nan, 3.0])
    assert summary["n"] == 3 and summary["iqm"] == pytest.approx(2.0) and summary["mean"] == pytest.approx(2.0)
    assert summary["std"] == pytest.approx(1.0)
    assert (summary["ci_low"], summary["ci_high"]) == pytest.approx((1.0, 3.0))
    # The IQM leaves an outlying seed out (the top and bottom quarter of five values: one each), the mean does not
    outlier = interval_estimate([0.0, 1.0, 2.0, 3.0, 100.0])
    assert outlier["iqm"] == pytest.approx(2.0) and outlier["mean"] == pytest.approx(21.2)
    assert outlier["ci_low"] <= outlier["iqm"] <= outlier["ci_high"]
    single = interval_estimate([0.5])
    assert single["n"] == 1 and single["iqm"] == single["mean"] == 0.5 and math.isnan(single["ci_low"])
    assert interval_estimate([None])["n"] == 0
    with pytest.raises(ValueError, match="confidence"):
        interval_estimate([1.0, 2.0], confidence=1.5)


def test_shared_normalisation_and_aggregate_metrics_on_hand_made_tables():
    phases = [Phase(0, 0, 10), Phase(1, 10, 20)]
    steps = [0, 10, 20]
    first = EvaluationTable(["a", "b"], steps, [[0.0, 10.0], [10.0, 0.0], [5.0, 10.0]])
    second = EvaluationTable(["a", "b"], steps, [[0.0, 0.0], [20.0, 0.0], [0.0, 20.0]])
    flat = EvaluationTable(["a", "b"], steps, [[1.0, 3.0], [1.0, 3.0], [1.0, 3.0]])

    reference_min, reference_max = shared_references([first, second])
    assert (reference_min, reference_max) == ([0.0, 0.0], [20.0, 20.0])
    # A task with no span gets no reference (it scores 0 rather than dividing by zero)
    assert shared_references([flat]) == ([None, None], [None, None])

    # Normalised: first [[0, .5], [.5, 0], [.25, .5]], second [[0, 0], [1, 0], [0, 1]]
    metrics = [run_metrics(table, phases, reference_min, reference_max) for table in (first, second)]
    expected = [
        # average performance, forgetting (a: at step 10 - at the end, b: 0), current-task and all-task AUC
        {"average_performance": 0.375, "forgetting": 0.125, "auc_current_task": 2.5 / 20, "auc_all_tasks": 5.625 / 20},
        {"average_performance": 0.5, "forgetting": 0.5, "auc_current_task": 5.0 / 20, "auc_all_tasks": 7.5 / 20},
    ]
    for result, values in zip(metrics, expected, strict=True):
        for key, value in values.items():
            assert result[key] == pytest.approx(value), key
        assert result["adaptation_speed"] is None  # no task comes back
    assert (metrics[0]["final_return/a"], metrics[0]["final_return/b"]) == (5.0, 10.0)
    assert (metrics[1]["final_return/a"], metrics[1]["final_return/b"]) == (0.0, 20.0)
    curves = performance_curves(first, phases, reference_min, reference_max)
    np.testing.assert_allclose(curves["current_task"], [0.0, 0.0, 0.5])  # the switch step belongs to the new task
    np.testing.assert_allclose(curves["all_tasks"], [0.25, 0.25, 0.375])

    per_seed = [{"method": "m", "seed": seed, "metrics": result} for seed, result in enumerate(metrics)]
    rows = {row["metric"]: row for row in summarize(per_seed, ["m", "absent"])}
    average = rows["average_performance"]
    # Hand-computed: IQM = mean of two values 0.4375, s = 0.125 / sqrt(2); the resampled means of two values are
    # 0.375, 0.4375 and 0.5 with probabilities 1/4, 1/2, 1/4, so the 95% interval is [0.375, 0.5]
    assert average["n"] == 2 and average["iqm"] == average["mean"] == pytest.approx(0.4375)
    assert average["std"] == pytest.approx(0.125 / math.sqrt(2))
    assert (average["ci_low"], average["ci_high"]) == pytest.approx((0.375, 0.5))
    assert rows["final_return/b"]["mean"] == pytest.approx(15.0)
    assert rows["adaptation_speed"]["n"] == 0 and math.isnan(rows["adaptation_speed"]["mean"])


def tiny_run(output_dir, *extra):
    """Flip at 500 steps per task, one cycle, 50-step episodes: 2 methods x 2 seeds, 2 jobs at a time."""
    argv = [
        "--suite",
        "flip",
        "--methods",
        "ppo",
        "gtr",
        "--seeds",
        "0",
        "1",
        "--scale",
        "0.0025",
        "--n-cycles",
        "1",
        "--suite-kwargs",
        '{"max_episode_steps": 50}',
        "--algo-kwargs",
        '{"n_steps": 100, "batch_size": 50, "n_epochs": 2}',
        "--eval-freq",
        "250",
        "--n-eval-episodes",
        "1",
        "--jobs",
        "2",
        "--output-dir",
        str(output_dir),
        *extra,
    ]
    return continual.main(argv)


def test_runner_writes_results_and_resumes(tmp_path, capsys):
    report = tiny_run(tmp_path)

    assert sorted(report["ran"]) == ["gtr/seed_0", "gtr/seed_1", "ppo/seed_0", "ppo/seed_1"]
    assert report["skipped"] == [] and report["failed"] == [] and report["missing"] == []
    done_times = {}
    for method in ("ppo", "gtr"):
        for seed in (0, 1):
            directory = tmp_path / method / f"seed_{seed}"
            for name in ("evaluations.csv", "metrics.json", "done"):
                assert (directory / name).is_file(), (directory, name)
            done = json.loads((directory / "done").read_text())
            assert done["num_timesteps"] == 1000 and done["algorithm"] == "GTRPPO"
            assert done["config"]["method_kwargs"] == CONTINUAL_METHODS[method].kwargs
            assert done["num_threads"] == NUM_THREADS == 1  # the default of --num-threads
            done_times[directory] = (directory / "done").stat().st_mtime_ns

    with open(tmp_path / "results.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    metrics = [*METRICS, "final_return/forward", "final_return/backward"]
    assert [(row["method"], row["metric"]) for row in rows] == [(m, metric) for m in ("ppo", "gtr") for metric in metrics]
    average = next(row for row in rows if row["method"] == "gtr" and row["metric"] == "average_performance")
    assert average["n"] == "2" and float(average["ci_low"]) <= float(average["mean"]) <= float(average["ci_high"])
    # One normalisation for every run: each task's min and max over all methods and seeds
    tables = [
        EvaluationTable.from_csv(str(tmp_path / m / f"seed_{s}" / "evaluations.csv")) for m in ("ppo", "gtr") for s in (0, 1)
    ]
    returns = np.concatenate([table.returns[:, 0] for table in tables])
    normalization = report["normalization"]
    assert normalization["tasks"] == ["forward", "backward"]
    assert normalization["reference_min"][0] == pytest.approx(min(returns))
    assert normalization["reference_max"][0] == pytest.approx(max(returns))
    markdown = (tmp_path / "results.md").read_text()
    assert "| ppo | 2 |" in markdown and "| gtr | 2 |" in markdown and "stratified bootstrap" in markdown
    assert '"sigma": 0.5' in markdown  # GTRPPO's defaults are recorded: `gtr` is defined by them
    assert (tmp_path / "comparison.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "results.json").read_text())["settings"]["algo_kwargs"]["n_steps"] == 100
    # Every job records the diagnostics of each update (policy shift, gradient norm, entropy, penalty)
    from sb3_gtr.benchmarks import diagnostics

    shown = diagnostics.main(
        ["--results-dir", str(tmp_path), "--plot", str(tmp_path / "d.png"), "--output", str(tmp_path / "d.json")]
    )
    assert sorted(shown["methods"]) == ["gtr", "ppo"] and shown["skipped"] == []
    run = diagnostics.load_diagnostics(tmp_path / "gtr" / "seed_0")
    assert len(run["steps"]) == 1000 // 100 - 1 and np.all(run["ratio_deviation"] > 0) and np.all(run["grad_norm"] > 0)
    assert np.all(run["penalty"] > 0) and np.all(diagnostics.load_diagnostics(tmp_path / "ppo" / "seed_0")["penalty"] == 0)
    assert (tmp_path / "d.png").stat().st_size > 10_000 and "roughness" in (tmp_path / "d.json").read_text()
    assert "roughness (run / phase 1)" in (tmp_path / "d.rst").read_text()
    capsys.readouterr()

    # A second invocation skips every finished job and only re-aggregates
    again = tiny_run(tmp_path)

    assert again["ran"] == [] and sorted(again["skipped"]) == sorted(report["ran"])
    assert "skip ppo/seed_0: already done" in capsys.readouterr().out
    for directory, mtime in done_times.items():
        assert (directory / "done").stat().st_mtime_ns == mtime
    assert again["rows"] == report["rows"]

    # A failing job (run here in-process, to spare a process start) leaves its traceback and no `done` marker,
    # and the aggregation goes on without it
    config = json.loads((tmp_path / "ppo" / "seed_0" / "done").read_text())["config"]
    broken_dir = job_dir(tmp_path, "broken", 0)
    with pytest.raises(ValueError, match="sigma"):
        run_job({**config, "method": "broken", "method_kwargs": {"sigma": -1.0}, "job_dir": str(broken_dir)})
    assert "sigma" in (broken_dir / "error.txt").read_text() and not (broken_dir / "done").exists()
    partial = aggregate(tmp_path, ["ppo", "gtr", "broken"], [0, 1])
    assert partial["missing"] == ["broken/seed_0", "broken/seed_1"]
    assert partial["rows"] == report["rows"]
    assert "Missing (unfinished or failed) jobs: broken/seed_0, broken/seed_1." in continual.to_markdown(
        {**report, "missing": partial["missing"]}
    )

    # Results of another configuration are never mixed in
    # (a BadArgument, a ValueError, which the command line turns into one error line instead of a traceback)
    capsys.readouterr()
    with pytest.raises(SystemExit):
        tiny_run(tmp_path, "--algo-kwargs", '{"n_steps": 64}')
    assert "holds a job finished with another configuration (differing: algo_kwargs)" in capsys.readouterr().err
    assert issubclass(BadArgument, ValueError)


def test_default_evaluation_interval_is_at_least_one_rollout_and_long_rollouts_warn():
    # At scale 0.001 a flip phase is 200 steps: 10 evaluations per phase would be every 20 steps, re-measuring the same
    # policy a hundred times per 2,048-step rollout. The interval is at least one rollout instead.
    sequence, settings = job_settings("flip", scale=0.001)
    assert settings["eval_freq"] == 2048 == default_eval_freq(sequence, n_steps=2048)
    assert default_eval_freq(sequence, n_steps=64, n_envs=2) == 128
    assert job_settings("flip", scale=0.25)[1]["eval_freq"] == 5000  # long phases: 10 per phase, as before
    assert job_settings("flip", scale=0.001, algo_kwargs={"n_steps": 16})[1]["eval_freq"] == 20
    assert job_settings("flip", scale=0.001, eval_freq=7)[1]["eval_freq"] == 7  # a given interval is kept
    # A rollout longer than the whole sequence (1,200 steps) or than a phase (200 steps) is announced
    methods = resolve_methods(["ppo"])
    with pytest.warns(UserWarning, match=r"n_steps \* n_envs = 2048 \* 1 = 2048 steps per rollout is more than the whole"):
        info = validate_jobs(sequence, settings, methods)
    assert info["n_steps"] == {"ppo": 2048} and info["algorithm"] is GTRPPO
    settings = job_settings("flip", scale=0.001, algo_kwargs={"n_steps": 256})[1]
    with pytest.warns(UserWarning, match="n_steps .* is more than the shortest phase"):
        validate_jobs(sequence, settings, methods)


def test_jobs_get_the_threads_asked_for_without_changing_what_a_rerun_compares(tmp_path):
    settings = job_settings("flip", scale=0.001, num_threads=3)[1]
    assert settings["num_threads"] == 3
    config = {**settings, "method": "ppo", "method_kwargs": {}, "seed": 0, "job_dir": str(tmp_path)}
    # Threads say how a job runs, not what it computes: a rerun with other threads resumes the finished jobs
    assert job_config_json(config) == job_config_json({**config, "num_threads": 1})
    assert "num_threads" not in job_config_json(config) and "job_dir" not in job_config_json(config)
    with pytest.raises(BadArgument, match="--num-threads must be an integer >= 1, got 0"):
        job_settings("flip", num_threads=0)
