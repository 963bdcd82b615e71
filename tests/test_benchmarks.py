"""The overhead benchmark's machinery, on a tiny budget (the real numbers come from a long run)."""

import json

import pytest

from sb3_gtr.benchmarks import overhead, policies
from sb3_gtr.benchmarks.methods import OVERHEAD_METHODS


def test_overhead_benchmark_writes_json_md_rst(tmp_path):
    prefix = tmp_path / "bench" / "overhead"
    argv = ["--env", "CartPole-v1", "--timesteps", "256", "--n-steps", "64", "--repeats", "1"]
    report = overhead.main([*argv, "--seed", "1", "--output", str(prefix), "--quiet"])

    labels = [method.label for method in OVERHEAD_METHODS.values()]
    assert len(labels) == 3
    # One run per method, in the rotation order, each in its own process with one torch thread
    runs = report["runs"]
    assert [run["method"] for run in runs] == list(OVERHEAD_METHODS)
    for run in runs:
        assert run["total_s"] > 0
        assert 0 < run["train_s"] <= run["total_s"]
        assert run["n_train_calls"] == 4
        assert run["num_timesteps"] == 256
        assert run["torch_threads"] == 1
    by_method = {run["method"]: run for run in runs}
    assert by_method["ppo"]["snapshot_s"] is None
    # 9 snapshots per rollout with the mixture anchor (epochs 1..9), none without it
    assert by_method["gtr"]["n_snapshot_calls"] == 4 * 9
    assert 0 < by_method["gtr"]["snapshot_s"] < by_method["gtr"]["train_s"]
    assert by_method["gtr_no_mixture"]["n_snapshot_calls"] == 0

    saved = json.loads(prefix.with_suffix(".json").read_text())
    assert saved["command"].startswith("python -m sb3_gtr.benchmarks.overhead --env CartPole-v1")
    assert saved["config"]["seed"] == 1
    assert saved["machine"]["cpu_count"] >= 1 and saved["machine"]["torch"]
    assert saved["date"]
    assert set(saved["summary"]) == set(OVERHEAD_METHODS)
    assert saved["summary"]["ppo"]["total_ratio"] == 1.0
    for entry in saved["summary"].values():
        assert entry["total_s"] > 0 and entry["train_s"] > 0 and entry["total_ratio"] > 0 and entry["train_ratio"] > 0

    markdown = prefix.with_suffix(".md").read_text()
    rst = prefix.with_suffix(".rst").read_text()
    for text in (markdown, rst):
        assert "torch.set_num_threads(1)" in text
        assert "Target:" in text
        for label in labels:
            assert f"| {label} " in text
    assert "|---|" in markdown
    assert "+===" in rst


def _fake_overhead_run(runs):
    """Stands in for ``run_in_worker(run_single, config)``: records the config, returns made-up timings."""

    def run(function, config):
        assert function is overhead.run_single
        runs.append(config)
        mixture = config["method"] == "gtr"
        return {
            "method": config["method"],
            "total_s": 1.0,
            "train_s": 0.5,
            "snapshot_s": 0.1 if mixture else None,
            "rollout_s": 0.5,
            "cpu_s": 1.0,
            "train_cpu_s": 0.5,
            "snapshot_cpu_s": 0.1 if mixture else None,
            "n_train_calls": 1,
            "n_snapshot_calls": 9 if mixture else 0,
            "num_timesteps": config["timesteps"],
            "torch_threads": 1,
        }

    return run


def test_overhead_output_folder_holds_the_files_and_a_bad_output_is_refused_before_the_first_run(
    tmp_path, monkeypatch, capsys
):
    runs = []
    monkeypatch.setattr(overhead, "run_in_worker", _fake_overhead_run(runs))
    argv = ["--env", "CartPole-v1", "--timesteps", "64", "--n-steps", "64", "--repeats", "1", "--quiet"]
    # A folder (a trailing slash, or an existing one) gets overhead.json ... inside, not <folder>.json next to it
    overhead.main([*argv, "--output", f"{tmp_path / 'new'}/"])
    existing = tmp_path / "existing"
    existing.mkdir()
    overhead.main([*argv, "--output", str(existing)])
    for folder in (tmp_path / "new", existing):
        assert sorted(path.name for path in folder.iterdir()) == ["overhead.json", "overhead.md", "overhead.rst"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["existing", "new"]
    assert len(runs) == 2 * len(OVERHEAD_METHODS)
    # An output that cannot be written ends the command before the first run, not after the last one
    runs.clear()
    with pytest.raises(SystemExit) as exit_info:
        overhead.main([*argv, "--output", "/proc/x/o"])
    assert exit_info.value.code == 2 and runs == []
    assert "error: --output '/proc/x/o' (folder /proc/x): cannot create or write in it" in capsys.readouterr().err


def test_policies_output_folder_holds_the_files_and_a_bad_output_is_refused_before_the_first_run(
    tmp_path, monkeypatch, capsys
):
    runs = []

    def run(function, config):
        assert function is policies.run_single
        runs.append(config)
        return {**config, "total_s": 1.0, "cpu_s": 1.0, "steps_per_s": 64.0}

    monkeypatch.setattr(policies, "run_in_worker", run)
    argv = ["--benchmarks", "simba", "--repeats", "1", "--timesteps", "64"]
    policies.main([*argv, "--output", f"{tmp_path / 'new'}/"])
    assert sorted(path.name for path in (tmp_path / "new").iterdir()) == ["policies.json", "policies.md", "policies.rst"]
    runs.clear()
    with pytest.raises(SystemExit) as exit_info:
        policies.main([*argv, "--output", "/proc/x/o"])
    assert exit_info.value.code == 2 and runs == []
    assert "error: --output '/proc/x/o' (folder /proc/x): cannot create or write in it" in capsys.readouterr().err
