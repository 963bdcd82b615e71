"""The Section-3 diagnostics: read from a job's logger CSV, summarised, plotted."""

import csv
import math

import numpy as np
import pytest

from sb3_gtr.benchmarks import diagnostics
from sb3_gtr.benchmarks.jobs import DIAGNOSTICS_FILE
from sb3_gtr.continual.tasks import Phase


def write_progress(directory, rows):
    keys = list(dict.fromkeys(key for row in rows for key in row))
    with open(directory / DIAGNOSTICS_FILE, "w", newline="") as file:
        writer = csv.DictWriter(file, keys)
        writer.writeheader()
        writer.writerows(rows)


def test_train_values_are_paired_with_the_step_count_of_the_update(tmp_path):
    # SB3 dumps before training: the first row has no train/ values, and the train/ values of row k come from the
    # update after rollout k - 1
    write_progress(
        tmp_path,
        [
            {"time/total_timesteps": 100},
            {"time/total_timesteps": 200, "train/ratio_deviation": 0.1, "train/entropy_loss": -0.7, "train/grad_norm": 1},
            {"time/total_timesteps": 300, "train/ratio_deviation": 0.3, "train/entropy_loss": -0.6, "train/grad_norm": ""},
        ],
    )
    result = diagnostics.load_diagnostics(tmp_path)
    np.testing.assert_array_equal(result["steps"], [100, 200])
    np.testing.assert_allclose(result["ratio_deviation"], [0.1, 0.3])
    np.testing.assert_allclose(result["entropy"], [0.7, 0.6])  # minus the entropy loss
    assert result["grad_norm"][0] == 1 and math.isnan(result["grad_norm"][1])
    assert "penalty" not in result  # not logged: left out rather than made up
    # As the docs archive it: gzipped
    import gzip
    import shutil

    with open(tmp_path / DIAGNOSTICS_FILE, "rb") as source, gzip.open(tmp_path / "archived.gz", "wb") as target:
        shutil.copyfileobj(source, target)
    (tmp_path / "archive").mkdir()
    (tmp_path / "archived.gz").rename(tmp_path / "archive" / (DIAGNOSTICS_FILE + ".gz"))
    np.testing.assert_allclose(diagnostics.load_diagnostics(tmp_path / "archive")["ratio_deviation"], [0.1, 0.3])
    with pytest.raises(FileNotFoundError, match="without diagnostics"):
        diagnostics.load_diagnostics(tmp_path / "absent")


def test_roughness_and_the_per_phase_summary():
    assert diagnostics.roughness([2.0, 2.0, 2.0]) == 0.0
    # mean change (2 + 2) / 2 = 2 over the level 5 / 3 (hand-computed)
    assert diagnostics.roughness([1.0, 3.0, 1.0]) == pytest.approx(1.2)
    assert math.isnan(diagnostics.roughness([1.0])) and math.isnan(diagnostics.roughness([0.0, 0.0]))
    run = {"steps": np.array([0, 10, 20, 30]), "ratio_deviation": np.array([1.0, 1.0, 1.0, 3.0])}
    summary = diagnostics.summarize_run(run, [Phase(0, 0, 20), Phase(1, 20, 40)])["ratio_deviation"]
    assert summary["mean"] == pytest.approx(1.5) and summary["roughness"] == pytest.approx((2 / 3) / 1.5)
    assert [phase["mean"] for phase in summary["phases"]] == pytest.approx([1.0, 2.0])
    assert [phase["roughness"] for phase in summary["phases"]] == pytest.approx([0.0, 1.0])
