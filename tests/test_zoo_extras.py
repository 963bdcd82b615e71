"""
More of the RL Zoo integration through the real command line (``python -m sb3_gtr.zoo``): installing from a wheel,
recording a video, and the zoo's plot scripts. Every command runs as a subprocess in a temporary folder.
"""

import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Optional

import imageio.v2 as imageio
import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
# Small enough that a training run takes a few seconds (as in tests/test_zoo.py)
TINY = ["-params", "n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:2"]
# An evaluation every 128 steps (the zoo divides --eval-freq by n_envs): 4 evaluations in 512 steps
EVAL = ["--eval-freq", "128", "--eval-episodes", "2"]

# A matplotlib backend (``MPLBACKEND=module://capture_show``) that draws with Agg and, where a script calls
# ``plt.show()``, saves every open figure as PNG and describes it in figures.json: the zoo's plot_train has no
# option to save its figure, it only shows it.
CAPTURE_BACKEND = """
import json
import os
from pathlib import Path

from matplotlib import pyplot as plt
from matplotlib.backends.backend_agg import FigureCanvasAgg as FigureCanvas  # noqa: F401


def show(*args, **kwargs):
    folder = Path(os.environ["CAPTURED_FIGURES"])
    folder.mkdir(parents=True, exist_ok=True)
    described = json.loads((folder / "figures.json").read_text()) if (folder / "figures.json").is_file() else {}
    for number in plt.get_fignums():
        figure = plt.figure(number)
        name = figure.get_label() or f"figure-{number}"
        figure.savefig(folder / f"{name}.png")
        axes = figure.axes[0]
        legend = axes.get_legend()
        described[name] = {
            "title": axes.get_title(),
            "lines": {line.get_label(): len(line.get_xdata()) for line in axes.get_lines()},
            "legend": [text.get_text() for text in legend.get_texts()] if legend is not None else [],
        }
    (folder / "figures.json").write_text(json.dumps(described))
"""


def zoo(*args: str, cwd: Path, env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess:
    """Run ``python -m sb3_gtr.zoo ARGS`` in ``cwd``, one thread per process; it must succeed."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **(env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "sb3_gtr.zoo", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> Path:
    """Two GTRPPO CartPole runs (``logs/gtr_ppo/CartPole-v1_1`` and ``_2``) with Monitor files and evaluations."""
    folder = tmp_path_factory.mktemp("zoo_runs")
    for seed in ("1", "2"):
        zoo("train", "--algo", "gtr_ppo", "--env", "CartPole-v1", "-n", "512", "-f", "logs", "--seed", seed, *TINY, *EVAL,
            cwd=folder)  # fmt: skip
    return folder


def test_wheel_install_uses_packaged_yaml(tmp_path):
    # Build from a copy of the files the wheel is made of, so that the build writes nothing (build/, *.egg-info)
    # into the checkout. --no-build-isolation uses this environment's setuptools and wheel: no network.
    source = tmp_path / "source"
    shutil.copytree(REPO / "sb3_gtr", source / "sb3_gtr", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for path in REPO.iterdir():
        if path.is_file() and not path.is_symlink():
            shutil.copy2(path, source / path.name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "--check-build-dependencies", "--no-index"]
    subprocess.run([*build, "-w", str(tmp_path / "dist"), str(source)], check=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("sb3_gtr-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for algo in ("gtr_ppo", "gtr_ppo_recurrent"):
            packaged = archive.read(f"sb3_gtr/hyperparams/{algo}.yml")
            assert packaged == (source / "sb3_gtr" / "hyperparams" / f"{algo}.yml").read_bytes()
    assert {"sb3_gtr/version.txt", "sb3_gtr/py.typed", "sb3_gtr/zoo/cli.py"} <= names

    site = (tmp_path / "site").resolve()
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)], check=True, timeout=300)
    # PYTHONPATH comes before site-packages on sys.path, and an editable install of the checkout (setuptools'
    # finder, appended to sys.meta_path after the PathFinder, or a .pth path entry) is only searched after it.
    # The cwd is a fresh folder, so the checkout is not importable from there either. Checked, not assumed:
    env = {"PYTHONPATH": str(site)}
    run = tmp_path / "run"
    run.mkdir()
    probe = "import json, sb3_gtr, sb3_gtr.zoo.cli as cli; "
    probe += "print(json.dumps([sb3_gtr.__file__, cli.__file__, str(cli.default_conf_file('gtr_ppo')), sb3_gtr.__version__]))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=run, env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    package, cli_module, conf_file, version = json.loads(result.stdout.strip().splitlines()[-1])
    for path in (package, cli_module, conf_file):
        assert Path(path).resolve().is_relative_to(site), path
    assert Path(conf_file) == site / "sb3_gtr" / "hyperparams" / "gtr_ppo.yml" and Path(conf_file).is_file()
    assert version == (source / "sb3_gtr" / "version.txt").read_text().strip()

    # No --conf-file: the wrapper finds the YAML inside the installed package
    train = ["train", "--algo", "gtr_ppo", "--env", "CartPole-v1", "-n", "512", "-f", "logs", "--seed", "1", *TINY]
    zoo(*train, cwd=run, env=env)
    saved = run / "logs" / "gtr_ppo" / "CartPole-v1_1"
    assert (saved / "CartPole-v1.zip").is_file()
    args = dict(yaml.unsafe_load((saved / "CartPole-v1" / "args.yml").read_text()))
    assert Path(args["conf_file"]) == Path(conf_file)
    config = dict(yaml.unsafe_load((saved / "CartPole-v1" / "config.yml").read_text()))
    assert config["sigma"] == 0.5 and config["penalty_coef"] == "advantage"


def test_record_video(two_runs, tmp_path):
    videos = tmp_path / "videos"
    # CartPole draws its rgb_array frames with pygame: no window, no display needed
    result = zoo(
        "record-video", "--algo", "gtr_ppo", "--env", "CartPole-v1", "-f", "logs", "--exp-id", "1", "-n", "50",
        "-o", str(videos),
        cwd=two_runs, env={"SDL_VIDEODRIVER": "dummy"},
    )  # fmt: skip
    assert "Loading logs/gtr_ppo/CartPole-v1_1/CartPole-v1.zip" in result.stdout
    (video,) = videos.glob("*.mp4")
    assert video.name == "final-model-gtr_ppo-CartPole-v1-step-0-to-step-50.mp4"
    assert video.stat().st_size > 1000
    # Decoded with the ffmpeg binary that imageio-ffmpeg ships: the reset frame and 50 steps, 600 x 400, moving
    with imageio.get_reader(video, format="FFMPEG") as reader:
        frames = [np.asarray(frame) for frame in reader]
    assert len(frames) == 51 and frames[0].shape == (400, 600, 3)
    assert any(not np.array_equal(frames[0], frame) for frame in frames[1:])


def test_plots(two_runs, tmp_path):
    backend = tmp_path / "backend"
    backend.mkdir()
    (backend / "capture_show.py").write_text(CAPTURE_BACKEND)
    captured = tmp_path / "figures"
    env = {
        "MPLBACKEND": "module://capture_show",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(backend), os.environ.get("PYTHONPATH")])),
        "CAPTURED_FIGURES": str(captured),
    }

    # Training curves from the Monitor files of both runs (-w: rolling window, in episodes)
    zoo("plot-train", "--algo", "gtr_ppo", "--env", "CartPole-v1", "-f", "logs", "-w", "5", cwd=two_runs, env=env)
    figures = json.loads((captured / "figures.json").read_text())
    curves = figures["Training Episodic Reward"]
    assert set(curves["lines"]) == {"CartPole-v1_1", "CartPole-v1_2"} and min(curves["lines"].values()) > 0
    assert set(curves["legend"]) == {"CartPole-v1_1", "CartPole-v1_2"}
    assert (captured / "Training Episodic Reward.png").stat().st_size > 1000

    # Evaluations of both runs: a Markdown table, a learning curve, and the post-processed data as a pickle
    results = tmp_path / "results"
    plots = ["--algo", "gtr_ppo", "--env", "CartPole-v1", "-f", "logs", "--no-million", "-o", str(results)]
    table = zoo("plots", *plots, cwd=two_runs, env=env).stdout
    assert "|Environments|GTR_PPO" in table and "|CartPole-v1 |" in table
    with open(f"{results}.pkl", "rb") as file:
        data = pickle.load(file)
    assert list(data["CartPole-v1"]) == ["GTR_PPO-logs"]
    assert data["CartPole-v1"]["GTR_PPO-logs"]["timesteps"].tolist() == [128, 256, 384, 512]
    assert data["CartPole-v1"]["GTR_PPO-logs"]["last_evals"].shape == (2,)  # one mean score per run
    figures = json.loads((captured / "figures.json").read_text())
    assert figures["Results CartPole-v1"]["lines"] == {"GTR_PPO-logs": 4}

    # From that pickle: the table again and a bar plot of the final scores, saved with -o
    scores = tmp_path / "scores.png"
    output = zoo("plot-from-file", "-i", f"{results}.pkl", "-o", str(scores), "--format", "png", cwd=two_runs, env=env).stdout
    assert "|Environments|GTR_PPO" in output and "keys: ['GTR_PPO-logs']" in output
    assert scores.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and scores.stat().st_size > 1000
    figures = json.loads((captured / "figures.json").read_text())
    assert figures["Sensitivity plot"]["legend"] == ["GTR_PPO-logs"]
