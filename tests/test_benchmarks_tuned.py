"""The tuned comparison: each method's own sweep at the same trial budget, its best setting re-run on fresh seeds,
and the report beside the methods' defaults."""

import json

import pytest
from test_benchmarks_fast_suites import SUITE, calibration_runs, continual_run

from sb3_gtr.benchmarks import tuned
from sb3_gtr.benchmarks.arguments import BadArgument
from sb3_gtr.benchmarks.methods import resolve_methods
from sb3_gtr.benchmarks.runner import read_done

TUNED_KWARGS = {"n_epochs": 30, "clip_range": 0.3}
# cartpole-reversed in two 512-step phases, one evaluation per rollout (8 envs x 32 steps)
TINY = {"scale": 0.01, "n_cycles": 1, "eval_freq": 256, "n_eval_episodes": 1}


def test_the_epochs_searched_hold_each_suites_own():
    assert tuned.epoch_choices("cartpole-reversed") == (4, 10, 20, 30)  # its zoo entry: 20
    assert tuned.epoch_choices("inverted-pendulum-reversed") == (4, 10, 20, 30)  # 10


def test_sweep_then_validation_of_the_best_setting_on_fresh_seeds(tmp_path):
    reports = tuned.run_sweeps(SUITE, ["ppo-kl"], seeds=[100], n_trials=2, results_dir=tmp_path, budget=TINY,
                               dispatch="processes", verbose=False)  # fmt: skip
    sweep = reports["ppo-kl"]
    assert sweep["method"] == "ppo-kl" and sweep["searched"] == ["penalty_coef", "clip_range", "n_epochs"]
    first = read_done(tuned.sweep_dir(SUITE, "ppo-kl", tmp_path) / "trial_0" / "seed_100")["config"]
    # Trial 0: PPO+KL's defaults on the suite's zoo settings (20 epochs, clip 0.2)
    assert first["method_kwargs"] == {**resolve_methods(["ppo-kl"])["ppo-kl"], "clip_range": 0.2, "n_epochs": 20}
    assert first["algo_kwargs"]["n_steps"] == 32 and first["n_envs"] == 8
    best = tuned.best_settings(SUITE, ["ppo-kl"], tmp_path)["ppo-kl"]
    assert best["n_trials"] == 2 and best["kwargs"] == sweep["best"]["kwargs"]

    tuned.run_validation(SUITE, ["ppo-kl"], seeds=[0, 1], results_dir=tmp_path, budget=TINY, dispatch="processes",
                         verbose=False)  # fmt: skip
    for seed in (0, 1):
        config = read_done(tmp_path / SUITE / "ppo-kl-tuned" / f"seed_{seed}")["config"]
        assert config["method_kwargs"] == {key: value for key, value in best["kwargs"].items()}
        assert config["method"] == "ppo-kl-tuned"
    assert tuned.stale_validations(SUITE, ["ppo-kl"], tmp_path) == {}

    # More trials found another best: its validation must not mix with the old one's runs
    old_trial = best["trial"]
    new_trial = "trial_1" if old_trial == "trial_0" else "trial_0"
    new_kwargs = read_done(tuned.sweep_dir(SUITE, "ppo-kl", tmp_path) / new_trial / "seed_100")["config"]["method_kwargs"]
    path = tuned.sweep_dir(SUITE, "ppo-kl", tmp_path) / "sweep.json"
    report = json.loads(path.read_text())
    report["best"] = {**report["best"], "trial": new_trial, "kwargs": new_kwargs}
    path.write_text(json.dumps(report))
    stale = tuned.stale_validations(SUITE, ["ppo-kl"], tmp_path)
    assert stale == {"ppo-kl": {"folder": tmp_path / SUITE / "ppo-kl-tuned", "trial": old_trial, "best": new_trial}}
    with pytest.raises(BadArgument, match=f"ppo-kl's validation .* ran {old_trial}, its sweep's best is now {new_trial}"):
        tuned.run_validation(SUITE, ["ppo-kl"], seeds=[0], results_dir=tmp_path, budget=TINY, verbose=False)
    with pytest.raises(BadArgument, match="--archive-stale"):
        tuned.tuned_report(SUITE, tmp_path, tmp_path / "fast", tmp_path / "calibration", reps=10)
    tuned.run_validation(SUITE, ["ppo-kl"], seeds=[0], results_dir=tmp_path, budget=TINY, dispatch="processes",
                         verbose=False, archive_stale=True)  # fmt: skip
    archived = tmp_path / SUITE / f"ppo-kl-tuned-{old_trial}"
    assert sorted(job.name for job in archived.iterdir()) == ["seed_0", "seed_1"]
    assert read_done(archived / "seed_0")["config"]["method_kwargs"] == best["kwargs"]
    assert read_done(tmp_path / SUITE / "ppo-kl-tuned" / "seed_0")["config"]["method_kwargs"] == new_kwargs
    assert tuned.stale_validations(SUITE, ["ppo-kl"], tmp_path) == {}


def test_report_compares_tuned_methods_with_their_defaults(tmp_path):
    calibration_runs(tmp_path / "calibration")
    for seed in range(3):
        for method in ("ppo", "gtr"):
            continual_run(tmp_path / "fast", method, seed, evals_to_solve=8)
        continual_run(tmp_path / "tuned", "ppo-tuned", seed, evals_to_solve=4, method_kwargs=TUNED_KWARGS)
        continual_run(tmp_path / "tuned", "gtr-tuned", seed, evals_to_solve=2, method_kwargs=TUNED_KWARGS)
    for method, value in (("ppo", 0.6), ("gtr", 0.7)):
        folder = tuned.sweep_dir(SUITE, method, tmp_path / "tuned")
        folder.mkdir(parents=True)
        rows = [{"trial": "trial_0", "objective": 0.5}, {"trial": "trial_1", "objective": value}]
        best = {"trial": "trial_1", "value": value, "kwargs": TUNED_KWARGS}
        (folder / "sweep.json").write_text(json.dumps({"rows": rows, "best": best}))

    report = tuned.tuned_report(SUITE, tmp_path / "tuned", tmp_path / "fast", tmp_path / "calibration", reps=200)
    assert report["methods"] == ["ppo", "gtr"] and list(report["cells"]) == ["defaults", "tuned"]
    cost = report["cells"]["tuned"]["scores"]["relearning_cost"]
    assert cost["iqm"]["ppo-tuned"]["iqm"] == pytest.approx(1.0) and cost["iqm"]["gtr-tuned"]["iqm"] == pytest.approx(0.5)
    assert cost["probability_of_improvement"]["ppo-tuned"]["probability"] == pytest.approx(1.0)
    assert report["cells"]["tuned"]["auc_references"] == report["cells"]["defaults"]["auc_references"]
    assert report["best"]["gtr"]["defaults_value"] == 0.5 and report["best"]["gtr"]["value"] == 0.7

    tuned.ablations.write_report([report], tmp_path / "tuned_report")
    tuned.write_best_table([report], tmp_path / "best.rst")
    assert "defaults (suite's)" in (tmp_path / "tuned_report.rst").read_text()
    best_table = (tmp_path / "best.rst").read_text()
    assert '``{"clip_range": 0.3, "n_epochs": 30}``' in best_table and "0.500" in best_table and "0.700" in best_table
    tuned.ablations.plot_axis(report, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 10_000


def test_bad_input_is_refused_before_any_job(tmp_path, capsys):
    with pytest.raises(BadArgument, match="no finished sweep of spo"):
        tuned.run_validation(SUITE, ["spo"], results_dir=tmp_path)
    with pytest.raises(BadArgument, match="is not a fast suite"):
        tuned.run_sweeps("flip", results_dir=tmp_path)
    with pytest.raises(BadArgument, match="tune some of"):
        tuned.run_sweeps(SUITE, [], results_dir=tmp_path)
    with pytest.raises(SystemExit):
        tuned.main(["sweep", "--suite", SUITE, "--methods", "ppo", "ppo"])
    assert "--methods" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tuned.main(["validate", "--suite", SUITE, "--methods", "spo", "--archive-stale", "--results-dir", str(tmp_path)])
    assert "no finished sweep of spo" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tuned.main(["report", "--results-dir", str(tmp_path)])
    assert not any(tmp_path.iterdir())
