"""The overhead benchmark's machinery, on a tiny budget (the real numbers come from a long run)."""

import json

from sb3_gtr.benchmarks import overhead


def test_overhead_benchmark_writes_json_md_rst(tmp_path):
    prefix = tmp_path / "bench" / "overhead"
    argv = ["--env", "CartPole-v1", "--timesteps", "256", "--n-steps", "64", "--repeats", "1"]
    report = overhead.main([*argv, "--seed", "1", "--output", str(prefix), "--quiet"])

    labels = [label for label, _, _ in overhead.METHODS.values()]
    assert len(labels) == 3
    # One run per method, in the rotation order, each in its own process with one torch thread
    runs = report["runs"]
    assert [run["method"] for run in runs] == list(overhead.METHODS)
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
    assert set(saved["summary"]) == set(overhead.METHODS)
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
