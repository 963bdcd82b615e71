"""The ablations: cells named after their variant, the suite's own setting taken from the main comparison, one
normalisation for every cell, and the report's tables and plot."""

import json
import re

import pytest
from test_benchmarks_fast_suites import SUITE, calibration_runs, continual_run

from sb3_gtr.benchmarks import ablations


def test_the_suites_own_setting_is_the_main_comparisons_cell():
    epochs = ablations.AXES["epochs"]
    # cartpole-reversed's zoo entry trains 20 epochs per rollout, inverted-pendulum-reversed's 10
    assert epochs.default_variant("cartpole-reversed") == "e20"
    assert epochs.default_variant("inverted-pendulum-reversed") == "e10"
    assert ablations.AXES["clip"].default_variant("cartpole-reversed") is None
    assert ablations.cell_method("gtr", "e30") == "gtr-e30"
    assert ablations.eval_freq("cartpole-reversed") == 2560 and ablations.eval_freq("pendulum-reversed") == 4096


def test_axis_report_compares_gtr_with_each_method_at_the_same_variant(tmp_path):
    calibration_runs(tmp_path / "calibration")
    for seed in range(4):
        continual_run(tmp_path / "fast", "ppo", seed, evals_to_solve=8)  # the suite's own n_epochs (20)
        continual_run(tmp_path / "fast", "gtr", seed, evals_to_solve=8)
        continual_run(tmp_path / "ablations" / "epochs", "ppo-e30", seed, evals_to_solve=8)
        continual_run(tmp_path / "ablations" / "epochs", "gtr-e30", seed, evals_to_solve=2)
    report = ablations.axis_report(
        "epochs", SUITE, tmp_path / "ablations", tmp_path / "fast", tmp_path / "calibration", reps=200
    )
    assert list(report["cells"]) == ["e20", "e30"]  # variants without runs are left out
    main, high = report["cells"]["e20"], report["cells"]["e30"]
    assert main["main_comparison"] and not high["main_comparison"] and list(high["runs"]) == ["ppo-e30", "gtr-e30"]
    cost = high["scores"]["relearning_cost"]
    assert cost["iqm"]["gtr-e30"]["iqm"] == pytest.approx(0.5) and cost["iqm"]["ppo-e30"]["iqm"] == pytest.approx(2.0)
    assert cost["probability_of_improvement"]["ppo-e30"]["probability"] == pytest.approx(1.0)
    # One normalisation of the AUC for every cell: the main comparison's
    assert high["auc_references"] == main["auc_references"]
    assert main["scores"]["relearning_cost"]["probability_of_improvement"]["ppo"]["probability"] == pytest.approx(0.5)
    # GTR at the suite's defaults (cost 2.0) against each run of the cell: always beaten by gtr-e30 (0.5), tied with
    # ppo-e30 (2.0); the main comparison's own cell is not compared with itself
    versus_default = high["default_gtr_improvement"]
    assert versus_default["gtr-e30"]["probability"] == pytest.approx(0.0)
    assert versus_default["ppo-e30"]["probability"] == pytest.approx(0.5)
    assert "default_gtr_improvement" not in main
    # GTR at the suite's defaults is kept for the plots' reference line: the main comparison's IQM of its 4 runs
    assert report["default_gtr"]["relearning_cost"] == main["scores"]["relearning_cost"]["iqm"]["gtr"]
    assert report["default_gtr"]["relearning_cost"]["iqm"] == pytest.approx(2.0)

    # A suite with the main comparison's runs only has nothing of the axis to report
    assert ablations.axis_report("clip", SUITE, tmp_path / "ablations", tmp_path / "fast", tmp_path / "calibration") is None

    ablations.write_report([report], tmp_path / "ablation_epochs")
    table = (tmp_path / "ablation_epochs.rst").read_text()
    assert "e20 (suite's)" in table and "e30" in table and "1.00 [1.00, 1.00]" in table
    assert "P(default GTR better)" in table and "0.00 [0.00, 0.00]" in table
    assert json.loads((tmp_path / "ablation_epochs.json").read_text())["suites"][0]["axis"] == "epochs"
    ablations.plot_axis(report, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 10_000


def test_plots_without_the_suites_own_cell_draw_gtr_at_its_defaults(tmp_path):
    from matplotlib.figure import Figure

    calibration_runs(tmp_path / "calibration")
    for seed in range(4):
        continual_run(tmp_path / "fast", "gtr", seed, evals_to_solve=8)  # cost 2.0
        continual_run(tmp_path / "ablations" / "anchor", "gtr-window1", seed, evals_to_solve=2)  # cost 0.5
        continual_run(tmp_path / "ablations" / "epochs", "gtr-e30", seed, evals_to_solve=2)
    dirs = (tmp_path / "ablations", tmp_path / "fast", tmp_path / "calibration")

    def dashed_lines(axis):
        axes = Figure().subplots()
        ablations.draw_axis(axes, ablations.axis_report(axis, SUITE, *dirs, reps=200))
        return [line for line in axes.get_lines() if line.get_linestyle() == "--"]

    # The anchor has no variant equal to the suite's setting: the main comparison's GTR is the dashed reference
    (reference,) = dashed_lines("anchor")
    assert list(reference.get_ydata()) == pytest.approx([2.0, 2.0])
    # The epochs axis shows the suite's own cell among its variants: no reference line
    assert dashed_lines("epochs") == []


def test_a_cell_is_scored_again_on_its_fresh_seeds_alone(tmp_path, capsys):
    calibration_runs(tmp_path / "calibration")
    for seed in range(4):
        continual_run(tmp_path / "fast", "gtr", seed, evals_to_solve=8)
        continual_run(tmp_path / "ablations" / "epochs", "ppo-e30", seed, evals_to_solve=8)  # cost 2.0
        # GTR re-learns faster on seeds 0-1 (0.5) and as slowly as PPO on the fresh seeds 2-3
        continual_run(tmp_path / "ablations" / "epochs", "gtr-e30", seed, evals_to_solve=2 if seed < 2 else 8)
    report = ablations.axis_report(
        "epochs", SUITE, tmp_path / "ablations", tmp_path / "fast", tmp_path / "calibration", reps=200
    )
    first, fresh = (ablations.cell_on_seeds(report, "e30", seeds, reps=200) for seeds in ([0, 1], [2, 3]))
    assert first["relearning_cost"]["iqm"]["gtr-e30"]["iqm"] == pytest.approx(0.5)
    assert first["relearning_cost"]["probability_of_improvement"]["ppo-e30"]["probability"] == pytest.approx(1.0)
    assert fresh["relearning_cost"]["iqm"]["gtr-e30"]["iqm"] == pytest.approx(2.0)
    assert fresh["relearning_cost"]["probability_of_improvement"]["ppo-e30"]["probability"] == pytest.approx(0.5)
    with pytest.raises(ablations.BadArgument, match=r"--seeds: fewer than 2 runs among seeds \[3\] for ppo-e30 \(1\)"):
        ablations.cell_on_seeds(report, "e30", [3])
    with pytest.raises(ablations.BadArgument, match=r"--variant: 'e4' has no runs on .*variants: e20, e30"):
        ablations.cell_on_seeds(report, "e4", [0, 1])

    # The command reads the written report, not the runs
    ablations.write_report([report], tmp_path / "ablation_epochs")
    cell = ["seeds", "--axis", "epochs", "--suite", SUITE, "--variant", "e30", "--seeds", "2", "3"]
    argv = [*cell, "--report", str(tmp_path / "ablation_epochs.json")]
    assert ablations.main(argv) == 0
    table = capsys.readouterr().out
    assert "e30 on seeds 2 3" in table and "P(gtr-e30 better)" in table
    assert re.search(r"gtr-e30\s+2\s+2\.00 \[2\.00, 2\.00\]", table)
    assert re.search(r"ppo-e30\s+2\s+2\.00 \[2\.00, 2\.00\].*0\.50 \[0\.50, 0\.50\]", table)
    # --output keeps the table for the docs to include, in a folder created for it
    saved = tmp_path / "fresh" / "epochs_e30.rst"
    assert ablations.main([*argv, "--output", str(saved)]) == 0
    assert saved.read_text() == capsys.readouterr().out
    (tmp_path / "a_file").write_text("")
    with pytest.raises(SystemExit):
        ablations.main([*argv, "--output", str(tmp_path / "a_file" / "x.rst")])
    assert "--output" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        ablations.main([*cell, "--report", str(tmp_path / "missing.json")])
    assert "--report: no file" in capsys.readouterr().err


def test_unknown_axis_or_suite_is_refused_before_any_job(capsys):
    with pytest.raises(SystemExit):
        ablations.main(["run", "--axis", "epochs", "--suite", "flip"])
    assert "invalid choice: 'flip'" in capsys.readouterr().err
    with pytest.raises(ablations.BadArgument, match="Unknown --axis 'lr'"):
        ablations.run_axis("lr", "cartpole-reversed", [0])
    # A variant of another axis, or the suite's own setting (its main comparison cell), is refused before any job
    with pytest.raises(ablations.BadArgument, match=r"--variants: 's0.1' is not a variant of axis 'epochs'.*e4, e10, e30"):
        ablations.run_axis("epochs", "cartpole-reversed", [0], variants=["e30", "s0.1"])
    own = ablations.AXES["epochs"].default_variant("cartpole-reversed")
    with pytest.raises(ablations.BadArgument, match=f"--variants: '{own}' is not a variant"):
        ablations.run_axis("epochs", "cartpole-reversed", [0], variants=[own])


def test_a_jobs_configuration_does_not_depend_on_the_variants_run(tmp_path, monkeypatch):
    """A cell run alone (``--variants``) stores the configuration of the same cell in a run of the whole axis, so that
    either run resumes the other's finished jobs."""
    from sb3_gtr.benchmarks import continual, jobs

    class Captured(Exception):
        pass

    def capture(_function, pending, *args, **kwargs):
        raise Captured({(config["method"], config["seed"]): jobs.job_config_json(config) for config in pending})

    monkeypatch.setattr(continual, "run_jobs", capture)
    configs = {}
    for name, variants in (("whole", None), ("alone", ["noclip"])):
        with pytest.raises(Captured) as captured:
            ablations.run_axis(
                "clip", "inverted-pendulum-reversed", [2], dispatch="processes", variants=variants, results_dir=tmp_path / name
            )
        configs[name] = captured.value.args[0]
    assert set(configs["alone"]) == {(f"{method}-noclip", 2) for method in ablations.ALL_METHODS}
    for key, config in configs["alone"].items():
        assert config == configs["whole"][key]
    # The zoo's clip_range stays in the cell's own kwargs even where the cell does not change it
    assert configs["alone"][("ppo-noclip", 2)]["method_kwargs"]["clip_range"] == 0.2


def test_an_axis_of_one_method_is_compared_with_gtr_at_the_suites_defaults(tmp_path):
    # sigma varies GTR alone: no method beside it at the same variant, so the default GTR is its only comparison
    calibration_runs(tmp_path / "calibration")
    for seed in range(4):
        continual_run(tmp_path / "fast", "gtr", seed, evals_to_solve=4)  # re-learns as fast as from scratch: cost 1.0
        continual_run(tmp_path / "ablations" / "sigma", "gtr-s0.1", seed, evals_to_solve=8)  # cost 2.0
        continual_run(tmp_path / "ablations" / "sigma", "gtr-s1", seed, evals_to_solve=2 + seed % 2 * 6)  # 0.5 or 2.0
    dirs = tmp_path / "ablations", tmp_path / "fast", tmp_path / "calibration"
    report = ablations.axis_report("sigma", SUITE, *dirs, reps=200)
    narrow, wide = report["cells"]["s0.1"], report["cells"]["s1"]
    assert "probability_of_improvement" not in narrow["scores"]["relearning_cost"]
    assert narrow["default_gtr_improvement"]["gtr-s0.1"]["probability"] == pytest.approx(1.0)
    # Half the runs beat the default (0.5 < 1.0), half lose to it (2.0 > 1.0)
    assert wide["default_gtr_improvement"]["gtr-s1"]["probability"] == pytest.approx(0.5)
    ablations.write_report([report], tmp_path / "ablation_sigma")
    rows = [line for line in (tmp_path / "ablation_sigma.rst").read_text().splitlines() if line.startswith("s0.1")]
    assert len(rows) == 1 and re.search(r" - +1\.00 \[1\.00, 1\.00\] *$", rows[0])  # no P(GTR better), then the default's
