"""The Craftax ablations: their cells and jobs, checked before any training, one real job through the runner (8 envs,
two rollouts of 64 steps: the size whose compiled step the throughput test caches too), its resume and its report."""

import json
import math

import pytest

from sb3_gtr.benchmarks import craftax_ablations
from sb3_gtr.benchmarks.arguments import BadArgument

CLASSIC = "sb3_gtr/Craftax-Classic-Symbolic-v1"


def test_cells_take_the_entrys_settings_the_methods_and_the_variants(tmp_path):
    configs = craftax_ablations.job_configs("epochs", CLASSIC, "gtr_ppo_recurrent", "cpu", [0, 1], tmp_path, n_envs=8)
    assert [config["method"] for config in configs[:9]] == [
        f"{method}-e{n}" for n in (4, 8, 12) for method in ("ppo", "spo", "gtr")
    ]
    assert [config["seed"] for config in configs] == [0] * 9 + [1] * 9  # seed-major
    by_name = {config["method"]: config for config in configs if config["seed"] == 0}
    assert by_name["spo-e8"]["method_kwargs"] == {
        "penalty": "pearson", "penalty_coef": "advantage", "mixture_anchor": False, "clip_surrogate": False, "n_epochs": 8
    }  # fmt: skip
    assert by_name["ppo-e12"]["method_kwargs"] == {"penalty": "none", "n_epochs": 12}
    gtr = by_name["gtr-e4"]
    # The CPU file: 16 envs, rollout 64, batch 256 (4 minibatches); at 8 envs the 4 minibatches are kept
    assert gtr["policy"] == "MlpLnGruPolicy" and gtr["algo_kwargs"]["batch_size"] == 128 and gtr["timesteps"] == 1_000_000
    assert gtr["algo_kwargs"]["gae_lambda"] == 0.8 and gtr["job_dir"] == str(tmp_path / "gtr-e4" / "seed_0")
    paper = craftax_ablations.job_configs("clip", CLASSIC, "gtr_ppo", "paper", [0], tmp_path, variants=["clip0.5"])
    assert [config["method"] for config in paper] == ["ppo-clip0.5", "spo-clip0.5", "gtr-clip0.5"]
    assert paper[0]["n_envs"] == 1024 and paper[0]["policy"] == "SimbaPolicy"
    assert paper[2]["method_kwargs"] == {"clip_range": 0.5}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(axis="lr"), "--axis: unknown axis 'lr'; axes: epochs, clip"),
        (dict(variants=["e30"]), "--variants: 'e30' is not a variant of axis 'epochs'; variants: e4, e8, e12"),
        (dict(algo="ppo"), "--algo: unknown algorithm 'ppo'"),
        (dict(scale="gpu"), "--scale: unknown scale 'gpu'; scales: cpu, paper"),
        (dict(env_id="CartPole-v1"), "--env: No GTRPPO hyperparameters for `--env` 'CartPole-v1'"),
        (dict(methods=["trpo"]), "Unknown method 'trpo'"),
    ],
)
def test_bad_input_is_refused_before_any_job(tmp_path, kwargs, message):
    arguments = dict(axis="epochs", env_id=CLASSIC, algo="gtr_ppo_recurrent", scale="cpu", seeds=[0], output_dir=tmp_path)
    with pytest.raises(BadArgument, match=message.replace("(", r"\(").replace(")", r"\)")):
        craftax_ablations.job_configs(**{**arguments, **kwargs})


def test_a_job_runs_resumes_and_reaches_the_report(tmp_path, capsys):
    command = ["run", "--axis", "epochs", "--variants", "e4", "--methods", "gtr", "--seeds", "0", "--n-envs", "8"]
    command += ["--timesteps", "1024"]
    command += ["--results-dir", str(tmp_path / "results"), "--dispatch", "processes", "--quiet"]
    assert craftax_ablations.main(command) == 0
    job = tmp_path / "results" / "epochs" / "Craftax-Classic-Symbolic-v1" / "gtr-e4" / "seed_0"
    done = json.loads((job / "done").read_text())
    assert done["algorithm"] == "RecurrentGTRPPO" and done["num_timesteps"] == 1024
    assert done["config"]["method_kwargs"] == {"n_epochs": 4}
    # A rerun finds the job done and trains nothing
    capsys.readouterr()
    assert craftax_ablations.main(command[:-1]) == 0
    assert "0 job(s) to run, 1 already done" in capsys.readouterr().out
    report_prefix = tmp_path / "report"
    assert craftax_ablations.main(["report", "--axis", "epochs", "--results-dir", str(tmp_path / "results"),
                                   "--output", str(report_prefix)]) == 0  # fmt: skip
    report = json.loads(report_prefix.with_suffix(".json").read_text())
    cell = report["cells"]["gtr-e4"]
    assert list(cell["runs"]) == ["0"] and cell["runs"]["0"]["curve"]["steps"] == [512.0, 1024.0]
    # Two rollouts: the final tenth is the last one; the score is a percentage
    assert 0.0 <= cell["score"]["median"] <= 100.0 and math.isfinite(cell["return"]["median"])
    assert "gtr-e4" in report_prefix.with_suffix(".rst").read_text()
    assert report_prefix.with_suffix(".png").stat().st_size > 5_000


def test_final_value_averages_the_last_tenth():
    assert craftax_ablations.final_value([float(value) for value in range(20)]) == pytest.approx(18.5)
    assert craftax_ablations.final_value([float("nan"), 3.0]) == 3.0
    assert math.isnan(craftax_ablations.final_value([float("nan")]))
