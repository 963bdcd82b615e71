"""The ``make demo`` job (``sb3_gtr.demo``), and what a newcomer sees on a first ``import sb3_gtr``."""

import re
import subprocess
import sys

import pytest
from PIL import Image

from sb3_gtr import demo


def test_demo_reports_untrained_and_trained_returns_and_plots(tmp_path, capsys):
    # A short budget: the learning itself is measured by tests/test_learning.py (same hyperparameters and budget)
    result = demo.run_demo(
        "Pendulum-v1", 8192, seed=0, n_eval_episodes=2, n_evaluations=2, output_dir=str(tmp_path), progress_bar=False
    )
    out = capsys.readouterr().out
    assert "untrained policy: mean return" in out and "trained policy:   mean return" in out
    assert "-700 to -1,500 is a pendulum left hanging" in out
    assert f"{result['untrained']:8.1f}" in out and f"{result['trained']:8.1f}" in out
    curve = tmp_path / "learning_curve_Pendulum-v1.png"
    assert f"learning curve: {curve}" in out
    assert Image.open(curve).size == (600, 400)
    assert (tmp_path / "gtr_ppo_Pendulum-v1.zip").is_file()


def test_demo_uses_the_packaged_hyperparameters():
    hyperparams = demo.read_hyperparams("CartPole-v1")
    assert hyperparams["n_envs"] == 8 and hyperparams["n_epochs"] == 20 and hyperparams["sigma"] == 0.5
    # `lin_0.001` is turned into a schedule, as the zoo does
    assert hyperparams["learning_rate"](1.0) == pytest.approx(1e-3) and hyperparams["learning_rate"](0.0) == 0.0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--env", "NoSuchEnv-v0"], r"No GTRPPO hyperparameters for `--env` 'NoSuchEnv-v0' .*it has .*CartPole-v1"),
        (["--env", "gtr-defaults"], "No GTRPPO hyperparameters for `--env` 'gtr-defaults'"),
        (["--timesteps", "0"], "--timesteps must be a positive integer, got 0"),
        (["--num-threads", "0"], "--num-threads must be a positive integer, got 0"),
        (["--eval-episodes", "-1"], "--eval-episodes must be a positive integer, got -1"),
        (["--timesteps", "ten"], "argument --timesteps: invalid int value: 'ten'"),
        (["--seed", "-1"], r"--seed must be an integer in \[0, 2\*\*32 - 1\], got -1"),
        (["--seed", str(2**40)], r"--seed must be an integer in \[0, 2\*\*32 - 1\]"),
    ],
)
def test_demo_bad_arguments(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        demo.main([*argv, "--output-dir", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


def test_import_prints_nothing():
    """No gym "unmaintained" notice (nor anything else) on ``import sb3_gtr``: ``make install`` leaves gym_notices out."""
    result = subprocess.run([sys.executable, "-c", "import sb3_gtr"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert result.stdout == "" and result.stderr == ""


@pytest.mark.parametrize("make_output_dir", ["a file", "under a file"])
def test_demo_output_dir_checked_before_training(tmp_path, capsys, make_output_dir):
    (tmp_path / "file").write_text("")
    output_dir = tmp_path / "file" if make_output_dir == "a file" else tmp_path / "file" / "out"
    with pytest.raises(SystemExit) as exit_info:
        demo.main(["--output-dir", str(output_dir)])
    assert exit_info.value.code == 2
    assert re.search(r"--output-dir '.*' cannot be created: (File exists|Not a directory)", capsys.readouterr().err)
