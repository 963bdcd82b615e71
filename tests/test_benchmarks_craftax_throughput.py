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
    with pytest.raises(SystemExit):
        craftax_throughput.main(["--num-envs", "8", "12", "--reset-ratio", "8", "--train-rollouts", "0"])
    assert "--reset-ratio 8 must divide every --num-envs and --train-envs, not [12]" in capsys.readouterr().err
    assert not (tmp_path / "craftax_throughput.json").exists()


def test_a_stopped_run_keeps_its_figures_and_the_same_command_measures_only_the_rest(tmp_path, monkeypatch):
    # The timings are stubbed (the real ones are tested above): what is tested is which figures are measured
    argv = ["--num-envs", "8", "--steps", "2", "--repeats", "1", "--train-envs", "8", "--train-rollouts", "1",
            "--output", str(tmp_path) + "/"]  # fmt: skip
    measured = []
    monkeypatch.setattr(craftax_throughput, "time_raw", lambda env_id, count, *args: measured.append(count) or 10.0 + count)
    monkeypatch.setattr(craftax_throughput, "time_adapter", lambda *args: 9.0)

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(craftax_throughput, "time_training", stopped)
    with pytest.raises(KeyboardInterrupt):
        craftax_throughput.main(argv)
    partial = json.loads((tmp_path / "craftax_throughput.json").read_text())
    assert [row["num_envs"] for row in partial["rows"]] == [8] and partial["pending"] == ["training"]
    assert "Partial" in (tmp_path / "craftax_throughput.rst").read_text()

    monkeypatch.setattr(craftax_throughput, "time_training", lambda *args: {"steps_per_second": 1.0, "rollout_steps": 512,
                                                                            "torch_device": "cpu"})  # fmt: skip
    assert craftax_throughput.main([*argv[:1], "8", "4", *argv[2:]]) == 0
    report = json.loads((tmp_path / "craftax_throughput.json").read_text())
    assert measured == [8, 4]  # the 8-env row was kept from the stopped run
    assert report["rows"][0] == partial["rows"][0] and report["rows"][1]["share"] == pytest.approx(9.0 / 14.0)
    assert report["pending"] == [] and report["training"]["steps_per_second"] == 1.0
    assert "Partial" not in (tmp_path / "craftax_throughput.rst").read_text()

    # Other settings (2 repeats instead of 1): nothing is kept, the 8-env row is measured twice
    assert argv[4:6] == ["--repeats", "1"] and craftax_throughput.main([*argv[:5], "2", *argv[6:]]) == 0
    assert measured == [8, 4, 8, 8]
    # Nor with another reset ratio
    assert craftax_throughput.main([*argv[:5], "2", *argv[6:], "--reset-ratio", "2"]) == 0
    assert measured == [8, 4, 8, 8, 8, 8]
    assert json.loads((tmp_path / "craftax_throughput.json").read_text())["reset_ratio"] == 2
    assert "reset_ratio=2" in (tmp_path / "craftax_throughput.rst").read_text()
