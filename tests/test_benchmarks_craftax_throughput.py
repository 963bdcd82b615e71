"""The Craftax throughput benchmark (``sb3_gtr.benchmarks.craftax_throughput``) at a tiny size: its figures, files and
bad input. The real figures are the benchmark's (docs/benchmarks/craftax_throughput.rst), not a test's."""

import json

import pytest

from sb3_gtr.benchmarks import craftax_throughput


def test_raw_adapter_and_training_figures_reach_the_files(tmp_path):
    assert craftax_throughput.main(["--num-envs", "8", "--steps", "3", "--repeats", "2", "--train-envs", "8",
                                    "--train-rollouts", "1", "--output", str(tmp_path) + "/"]) == 0  # fmt: skip
    report = json.loads((tmp_path / "craftax_throughput.json").read_text())
    (row,) = report["rows"]
    assert row["num_envs"] == 8 and len(row["raw"]) == len(row["adapter"]) == 2
    assert all(value > 0 for value in row["raw"] + row["adapter"])
    assert row["share"] == pytest.approx(row["adapter_median"] / row["raw_median"])
    assert report["jax_device"].startswith("cpu") and report["env_id"] == "Craftax-Classic-Symbolic-v1"
    training = report["training"]
    assert training["rollout_steps"] == 64 * 8 and training["steps_per_second"] > 0
    text = (tmp_path / "craftax_throughput.rst").read_text()
    assert "adapter / raw" in text and "RecurrentGTRPPO" in text and report["command"] in text


def test_bad_input_is_refused_before_any_step(tmp_path, capsys):
    with pytest.raises(SystemExit):
        craftax_throughput.main(["--env", "Crafter-v0", "--output", str(tmp_path) + "/"])
    assert "Crafter-v0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        craftax_throughput.main(["--device", "tpu", "--num-envs", "8", "--output", str(tmp_path) + "/"])
    assert "--device 'tpu'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        craftax_throughput.main(["--num-envs", "0"])
    assert not (tmp_path / "craftax_throughput.json").exists()
