"""The Optuna sweep of GTR's trust-region arguments on a continual suite (``python -m sb3_gtr.benchmarks.sweep``)."""

import csv
import json

import numpy as np
import optuna
import pytest

from sb3_gtr.benchmarks import sweep
from sb3_gtr.benchmarks.aggregate import run_metrics, shared_references
from sb3_gtr.benchmarks.arguments import BadArgument
from sb3_gtr.benchmarks.jobs import job_config_json, load_job
from sb3_gtr.benchmarks.methods import gtr_defaults, resolve_methods
from sb3_gtr.benchmarks.runner import read_done
from sb3_gtr.benchmarks.search import (
    CLIP_RANGES,
    KL_COEF_RANGE,
    SEARCHED,
    check_search,
    default_raw_params,
    folder_of,
    interrupted_trials,
    open_study,
    sample_sweep_params,
    searched_keys,
    sweep_kwargs,
)
from sb3_gtr.benchmarks.settings import job_settings


def tiny_sweep(output_dir, n_trials, *extra):
    """Flip at 500 steps per task, one cycle, 50-step episodes, one seed."""
    argv = [
        "--suite", "flip", "--seeds", "0", "--n-trials", str(n_trials), "--n-startup-trials", "1",
        "--scale", "0.0025", "--n-cycles", "1", "--suite-kwargs", '{"max_episode_steps": 50}',
        "--algo-kwargs", '{"n_steps": 100, "batch_size": 50, "n_epochs": 3}', "--eval-freq", "250",
        "--n-eval-episodes", "1", "--jobs", "1", "--output-dir", str(output_dir), "--quiet", *extra,
    ]  # fmt: skip
    return sweep.main(argv)


def test_search_space_and_defaults():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = {"clip_surrogate": set(), "window": set()}
    for _ in range(30):
        trial = study.ask()
        kwargs = sweep_kwargs(sample_sweep_params(trial, n_epochs=4), n_epochs=4)
        assert set(kwargs) == {"sigma", "penalty_coef", "clip_surrogate", "anchor_window", "clip_range"}
        assert 0.1 <= kwargs["sigma"] <= 2.0 and kwargs["penalty_coef"] == "advantage"
        assert kwargs["clip_range"] in CLIP_RANGES
        assert kwargs["anchor_window"] is None or 1 <= kwargs["anchor_window"] <= 4
        seen["clip_surrogate"].add(kwargs["clip_surrogate"])
        seen["window"].add(kwargs["anchor_window"] is None)
    assert seen == {"clip_surrogate": {True, False}, "window": {True, False}}
    # The first trial is GTRPPO's defaults, in the sweep's raw form
    defaults = gtr_defaults()
    from_raw = sweep_kwargs(default_raw_params(), n_epochs=10)
    assert from_raw == {key: defaults[key] for key in from_raw}


def test_bad_arguments_fail_before_training(tmp_path):
    with pytest.raises(ValueError, match=r"cannot set.*sigma"):
        sweep.run_sweep("flip", algo_kwargs={"sigma": 0.3}, output_dir=tmp_path)
    with pytest.raises(ValueError, match="Unknown objective"):
        sweep.run_sweep("flip", objective="return", output_dir=tmp_path)
    with pytest.raises(ValueError, match="Unknown suite"):
        sweep.run_sweep("flop", output_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_sweep_runs_scores_and_resumes(tmp_path):
    report = tiny_sweep(tmp_path, 2)

    rows = report["rows"]
    assert sorted(row["trial"] for row in rows) == ["trial_0", "trial_1"]
    first = next(row for row in rows if row["trial"] == "trial_0")
    defaults = gtr_defaults()
    assert first["sigma"] == defaults["sigma"] and first["clip_range"] == defaults["clip_range"]
    assert first["anchor_window"] is None and first["clip_surrogate"] is True
    assert [row["objective"] for row in rows] == sorted((row["objective"] for row in rows), reverse=True)

    # The score: the trial's jobs normalised by the PPO baseline's per-task min and max return
    baseline_table, _ = load_job(tmp_path / "ppo" / "seed_0")
    reference_min, reference_max = shared_references([baseline_table])
    table, phases = load_job(tmp_path / "trial_0" / "seed_0")
    expected = run_metrics(table, phases, reference_min, reference_max)["auc_current_task"]
    assert first["objective"] == pytest.approx(expected)
    assert report["normalization"]["reference_min"] == reference_min
    done = read_done(tmp_path / "trial_0" / "seed_0")
    assert done["config"]["method_kwargs"]["sigma"] == defaults["sigma"] and done["num_timesteps"] == 1000
    assert report["best"]["value"] == max(row["objective"] for row in rows)
    assert "gtr-tuned" in report["best"]["validation_command"]

    with open(tmp_path / "trials.csv", newline="") as file:
        table_rows = list(csv.DictReader(file))
    assert [row["trial"] for row in table_rows] == [row["trial"] for row in rows] + ["ppo"]
    assert "| trial_0 |" in (tmp_path / "sweep.md").read_text()
    assert json.loads((tmp_path / "sweep.json").read_text())["objective"] == "auc_current_task"
    assert (tmp_path / "sweep.png").stat().st_size > 10_000

    # Resuming: finished trials and the baseline are kept; a larger n_trials runs only the new trial
    mtime = (tmp_path / "trial_0" / "seed_0" / "done").stat().st_mtime_ns
    again = tiny_sweep(tmp_path, 3)
    assert sorted(row["trial"] for row in again["rows"]) == ["trial_0", "trial_1", "trial_2"]
    assert (tmp_path / "trial_0" / "seed_0" / "done").stat().st_mtime_ns == mtime
    assert np.isclose(next(r for r in again["rows"] if r["trial"] == "trial_0")["objective"], first["objective"])


def test_the_study_is_opened_and_checked_before_anything_trains(tmp_path):
    kwargs = {
        "scale": 0.0025,
        "n_cycles": 1,
        "suite_kwargs": {"max_episode_steps": 50},
        "algo_kwargs": {"n_steps": 100, "batch_size": 50},
        "n_eval_episodes": 2,
    }
    settings = job_settings("flip", **kwargs)[1]
    # A study whose trials maximised another metric: resuming it would rank trials that measured different things
    attributes = {"settings": job_config_json(settings), "seeds": [0], "objective": "average_performance"}
    sampler = optuna.samplers.RandomSampler(seed=0)
    open_study(None, "gtr-sweep-flip", sampler, tmp_path, attributes)
    with pytest.raises(BadArgument, match=r"was run with other settings \(differing: objective\)"):
        sweep.run_sweep("flip", seeds=[0], output_dir=tmp_path, **kwargs)
    with pytest.raises(BadArgument, match=r"was run with other settings \(differing: eval_freq, seeds\)"):
        sweep.run_sweep("flip", seeds=[1], objective="average_performance", output_dir=tmp_path, **{**kwargs, "eval_freq": 7})
    # A study of something else (no GTR kwargs in its trials), in another storage
    storage = f"sqlite:///{tmp_path / 'other.db'}"
    optuna.create_study(study_name="other", storage=storage, direction="maximize").optimize(lambda trial: 1.0, n_trials=1)
    with pytest.raises(BadArgument, match="holds trials that are not of this sweep"):
        sweep.run_sweep("flip", seeds=[0], storage=storage, study_name="other", output_dir=tmp_path, **kwargs)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["other.db", "study.db"]  # no baseline trained


def test_an_interrupted_trial_is_retried_with_its_parameters_in_its_folder():
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    done = study.ask()
    sample_sweep_params(done, n_epochs=4)
    study.tell(done, 0.5)
    interrupted = study.ask()
    raw = sample_sweep_params(interrupted, n_epochs=4)
    interrupted.set_user_attr("interrupted", True)  # as run_sweep marks a trial stopped by Ctrl-C or SIGTERM
    study.tell(interrupted, state=optuna.trial.TrialState.FAIL)
    failed = study.ask()
    study.tell(failed, state=optuna.trial.TrialState.FAIL)  # a trial that failed by itself is not retried

    [retried] = interrupted_trials(study)
    assert retried.number == 1
    study.enqueue_trial(retried.params, user_attrs={"folder": folder_of(retried)})
    assert interrupted_trials(study) == []  # queued once, not again on the next resume
    again = study.ask()
    assert again.user_attrs["folder"] == "trial_1" and folder_of(again) == "trial_1"
    assert sample_sweep_params(again, n_epochs=4) == raw


def test_the_sweep_takes_the_zoo_hyperparameters_as_defaults_of_its_searched_arguments(tmp_path):
    # The suite's zoo entry sets clip_range, which the sweep searches: a default of every trial, not a clash
    from sb3_gtr.benchmarks.arguments import zoo_settings

    zoo = zoo_settings("cartpole-reversed")["algo_kwargs"]
    assert zoo["clip_range"] == 0.2
    with pytest.raises(BadArgument, match="--algo-kwargs cannot set \\['clip_range'\\]"):
        sweep.run_sweep("cartpole-reversed", seeds=[0], algo_kwargs={"clip_range": 0.3}, output_dir=tmp_path)
    # Past the clash check, the run stops at the study, opened before anything trains (here: another objective's)
    kwargs = {"scale": 0.01, "n_cycles": 1, "zoo_algo_kwargs": zoo, "n_envs": 8, "n_eval_episodes": 1}
    open_study(None, "gtr-sweep-cartpole-reversed", optuna.samplers.RandomSampler(seed=0), tmp_path, {"objective": "x"})
    with pytest.raises(BadArgument, match="was run with other settings"):
        sweep.run_sweep("cartpole-reversed", seeds=[0], output_dir=tmp_path, **kwargs)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["study.db"]  # nothing trained


@pytest.mark.parametrize("method", ["ppo", "ppo-kl", "spo", "gtr"])
def test_each_method_has_its_own_search_space_starting_from_its_defaults(method):
    own = resolve_methods([method])[method]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = {"n_epochs": set(), "clip_range": set()}
    for _ in range(40):
        kwargs = sweep_kwargs(sample_sweep_params(study.ask(), 10, method, (5, 10, 20)), 10, method)
        # The method's own arguments stay (PPO's penalty "none", SPO's Pearson penalty ...), the searched ones vary
        kept = {key: value for key, value in own.items() if key != "penalty_coef"}  # PPO+KL's coefficient is searched
        assert {key: kwargs[key] for key in kept} == kept
        assert set(searched_keys(method, True)) <= set(kwargs) | {"clip_surrogate"}
        assert kwargs["clip_range"] in CLIP_RANGES and kwargs["n_epochs"] in (5, 10, 20)
        if method == "ppo-kl":
            assert KL_COEF_RANGE[0] <= kwargs["penalty_coef"] <= KL_COEF_RANGE[1]
        if method == "gtr" and kwargs["anchor_window"] is not None:
            assert kwargs["anchor_window"] <= kwargs["n_epochs"]  # capped at the trial's own n_epochs
        seen["n_epochs"].add(kwargs["n_epochs"])
        seen["clip_range"].add(kwargs["clip_range"])
    assert seen == {"n_epochs": {5, 10, 20}, "clip_range": set(CLIP_RANGES)}
    # Trial 0 is the method's defaults: its kwargs, the defaults of GTRPPO's it does not set, the runs' n_epochs
    first = sweep_kwargs(default_raw_params(method, n_epochs=10), 10, method)
    expected = {**gtr_defaults(), **own, "n_epochs": 10}
    assert first == {key: expected[key] for key in first}
    assert set(own) <= set(first)
    assert searched_keys(method) == SEARCHED[method] and searched_keys(method, True)[-1] == "n_epochs"


def test_a_method_sweep_tunes_that_method_and_its_n_epochs(tmp_path):
    argv = ["--method", "ppo-kl", "--search-epochs", "2", "3"]
    argv += ["--suite", "flip", "--seeds", "0", "--n-trials", "2", "--n-startup-trials", "1", "--scale", "0.0025"]
    argv += ["--n-cycles", "1", "--suite-kwargs", '{"max_episode_steps": 50}', "--eval-freq", "250", "--quiet"]
    argv += ["--algo-kwargs", '{"n_steps": 100, "batch_size": 50}', "--n-eval-episodes", "1", "--output-dir"]
    with pytest.raises(SystemExit) as error:  # the runs' n_epochs (GTRPPO's default, 10) is not among the values
        sweep.main([*argv, str(tmp_path / "bad")])
    assert error.value.code == 2 and not (tmp_path / "bad" / "ppo").exists()
    argv[3] = "10"
    report = sweep.main([*argv, str(tmp_path / "kl")])
    assert report["method"] == "ppo-kl" and report["searched"] == ["penalty_coef", "clip_range", "n_epochs"]
    config = read_done(tmp_path / "kl" / "trial_0" / "seed_0")["config"]
    assert config["method_kwargs"] == {**resolve_methods(["ppo-kl"])["ppo-kl"], "clip_range": 0.2, "n_epochs": 10}
    other = read_done(tmp_path / "kl" / "trial_1" / "seed_0")["config"]["method_kwargs"]
    assert other["penalty"] == "kl" and other["n_epochs"] in (2, 10)
    assert "ppo-kl-tuned" in report["best"]["validation_command"]
    assert "| trial_0 | 1.000 | 0.200 | 10 |" in (tmp_path / "kl" / "sweep.md").read_text()
    # The study records the method: a GTR sweep cannot resume it
    with pytest.raises(SystemExit):
        sweep.main([*argv[5:], str(tmp_path / "kl"), "--study-name", "ppo-kl-sweep-flip"])


def test_bad_search_arguments():
    with pytest.raises(BadArgument, match="--method 'a2c' has no search space: tune one of gtr, ppo, ppo-kl, spo"):
        check_search("a2c", None)
    for values in ([], [0], [3, 3], [2.5]):
        with pytest.raises(BadArgument, match="--search-epochs must be distinct integers >= 1"):
            check_search("ppo", values)
    with pytest.raises(SystemExit):
        sweep.main(["--suite", "flip", "--method", "a2c"])


def test_a_setting_scored_before_takes_its_scores_and_trains_nothing(tmp_path):
    tiny_sweep(tmp_path, 1)
    # The defaults proposed twice more, as TPE does on a small discrete space
    study = optuna.load_study(study_name="gtr-sweep-flip", storage=f"sqlite:///{tmp_path / 'study.db'}")
    study.enqueue_trial(study.trials[0].params)
    study.enqueue_trial(study.trials[0].params)
    report = tiny_sweep(tmp_path, 3)

    rows = {row["trial"]: row for row in report["rows"]}
    assert rows["trial_0"]["same_as"] is None
    assert rows["trial_1"]["same_as"] == rows["trial_2"]["same_as"] == "trial_0"  # named after the trial that trained
    assert rows["trial_1"]["objective"] == rows["trial_2"]["objective"] == rows["trial_0"]["objective"]
    assert sorted(path.name for path in tmp_path.glob("trial_*")) == ["trial_0"]
    assert "| trial_1 (= trial_0) |" in (tmp_path / "sweep.md").read_text()
