"""
The training diagnostics of the paper's Section 3, per run: the policy shift ``mean |r - 1|`` over each update, the
gradient norm, the entropy and the penalty, read from the logger's CSV that every benchmark job writes
(:data:`~sb3_gtr.benchmarks.jobs.DIAGNOSTICS_FILE`), summarised and plotted for one seed per method.

The paper reports that PPO's shift ratio fluctuates at high frequency before it loses plasticity. The summary measures
that as the *roughness* of a series: the mean absolute change from one update to the next divided by the mean level,
``mean |x[t+1] - x[t]| / mean |x|`` (0 for a constant series; about 1.13 for independent noise around a level of the
same size), over the whole run and per phase.

Usage::

    python -m sb3_gtr.benchmarks.diagnostics --results-dir results/diagnostics/cartpole-reversed --seed 0 \\
        --plot docs/_static/diagnostics_cartpole-reversed.png --output docs/benchmarks/diagnostics_cartpole-reversed.json
"""

import argparse
import csv
import gzip
import json
import math
import pathlib
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np

from sb3_gtr.benchmarks.jobs import DIAGNOSTICS_FILE, load_job
from sb3_gtr.benchmarks.reports import fixed, rst_simple_table, without_nan
from sb3_gtr.benchmarks.runner import machine_info
from sb3_gtr.continual.plotting import agg_figure
from sb3_gtr.continual.tasks import Phase

#: The series plotted, with the logger key each comes from and its label (entropy is minus the entropy loss).
SERIES: dict[str, tuple[str, str]] = {
    "ratio_deviation": ("train/ratio_deviation", "policy shift mean |r - 1|"),
    "grad_norm": ("train/grad_norm", "gradient norm (before clipping)"),
    "entropy": ("train/entropy_loss", "entropy"),
    "penalty": ("train/gtr_penalty", "trust-region penalty"),
}
#: The logger's step counter.
STEPS_KEY = "time/total_timesteps"


def load_diagnostics(directory: Union[str, pathlib.Path]) -> dict[str, np.ndarray]:
    """
    The diagnostics of one job, one value per update.

    SB3 dumps the logger after collecting a rollout and before training on it, so the ``train/`` values of a row are
    those of the update after the *previous* rollout: each is paired with the step count of the row before.

    :param directory: A job folder holding :data:`~sb3_gtr.benchmarks.jobs.DIAGNOSTICS_FILE` (or it gzipped, with
        ``.gz`` appended, as the docs archive it)
    :return: ``steps`` (the step count at each update) and every key of :data:`SERIES` present in the file (NaN where
        an update did not log it)
    :raises FileNotFoundError: If the job wrote no diagnostics (jobs run before the runner wrote them)
    """
    path = pathlib.Path(directory) / DIAGNOSTICS_FILE
    archived = path.with_name(path.name + ".gz")  # as the docs keep them
    if not path.is_file() and not archived.is_file():
        raise FileNotFoundError(f"{path} does not exist: the job ran without diagnostics, rerun it to record them")
    with open(path, newline="") if path.is_file() else gzip.open(archived, "rt", newline="") as file:
        rows = list(csv.DictReader(file))

    def column(key: str) -> np.ndarray:
        return np.array([float(row[key]) if row.get(key) not in (None, "") else math.nan for row in rows])

    steps = column(STEPS_KEY)
    result = {"steps": steps[:-1]}
    for name, (key, _) in SERIES.items():
        if rows and key in rows[0]:
            values = column(key)[1:]
            result[name] = -values if name == "entropy" else values
    return result


def roughness(values: Sequence[float]) -> float:
    """
    ``mean |x[t+1] - x[t]| / mean |x|``: how much a series jumps from one update to the next, relative to its level.

    :param values: The series (NaN values left out)
    :return: The roughness (NaN with fewer than two values or a zero level)
    """
    array = np.asarray(values, dtype=np.float64)
    array = array[~np.isnan(array)]
    level = float(np.mean(np.abs(array))) if len(array) else 0.0
    if len(array) < 2 or level == 0.0:
        return math.nan
    return float(np.mean(np.abs(np.diff(array))) / level)


def summarize_run(diagnostics: Mapping[str, np.ndarray], phases: Sequence[Phase]) -> dict[str, Any]:
    """
    The mean and the roughness of every series, over the run and per phase.

    :param diagnostics: Of :func:`load_diagnostics`
    :param phases: The phases of the run
    :return: Per series, ``mean``, ``roughness`` and ``phases`` (per phase: ``task_id``, ``mean``, ``roughness``)
    """
    steps = diagnostics["steps"]
    summary = {}
    for name in SERIES:
        if name not in diagnostics:
            continue
        values = diagnostics[name]
        per_phase = []
        for phase in phases:
            inside = values[(steps >= phase.start) & (steps < phase.end)]
            per_phase.append(
                {
                    "task_id": phase.task_id,
                    "mean": float(np.nanmean(inside)) if len(inside) else math.nan,
                    "roughness": roughness(inside),
                }
            )
        summary[name] = {"mean": float(np.nanmean(values)), "roughness": roughness(values), "phases": per_phase}
    return summary


def plot_diagnostics(
    runs: Mapping[str, Mapping[str, np.ndarray]],
    phases: Sequence[Phase],
    path: Union[str, pathlib.Path],
    title: Optional[str] = None,
) -> None:
    """
    One panel per series of :data:`SERIES`, one line per method, dashed lines at the task switches.

    :param runs: Per method, the :func:`load_diagnostics` of one of its runs
    :param phases: The phases (shared by every run)
    :param path: The image file (PNG)
    :param title: Title of the figure
    """
    names = [name for name in SERIES if any(name in run for run in runs.values())]
    with agg_figure(path, (10, 2.2 * len(names) + 0.8)) as figure:
        axes_list = np.atleast_1d(figure.subplots(len(names), 1, sharex=True))
        for axes, name in zip(axes_list, names, strict=True):
            for index, (method, run) in enumerate(runs.items()):
                if name in run:
                    axes.plot(run["steps"], run[name], color=f"C{index % 10}", linewidth=0.8, label=method)
            for phase in phases[1:]:
                axes.axvline(phase.start, color="grey", linestyle="--", linewidth=0.8)
            axes.set_ylabel(SERIES[name][1], fontsize=8)
            if name in ("ratio_deviation", "grad_norm"):
                axes.set_yscale("log")
        axes_list[0].legend(loc="best", fontsize=8)
        axes_list[-1].set_xlabel("training steps")
        if title:
            figure.suptitle(title)


def report(
    results_dir: Union[str, pathlib.Path],
    seed: int,
    methods: Optional[Sequence[str]] = None,
    plot: Optional[Union[str, pathlib.Path]] = None,
    output: Optional[Union[str, pathlib.Path]] = None,
) -> dict[str, Any]:
    """
    Summarise (and plot) the diagnostics of one seed of every method of a benchmark's output folder.

    :param results_dir: The output folder of :mod:`~sb3_gtr.benchmarks.continual` (one sub-folder per method)
    :param seed: The seed shown
    :param methods: The methods (``None``: every sub-folder with a finished job of that seed holding diagnostics)
    :param plot: The image file (``None``: no plot)
    :param output: The JSON file of the summary, with the table of :func:`write_table` beside it (same name, ``.rst``;
        ``None``: neither is written)
    :return: ``seed``, ``methods`` (per method, :func:`summarize_run`) and ``skipped`` (methods without diagnostics)
    """
    results_dir = pathlib.Path(results_dir)
    if methods is None:
        methods = sorted(path.name for path in results_dir.iterdir() if (path / f"seed_{seed}" / "done").is_file())
    runs, summaries, skipped, phases = {}, {}, [], []
    for method in methods:
        directory = results_dir / method / f"seed_{seed}"
        recorded = any((directory / name).is_file() for name in (DIAGNOSTICS_FILE, DIAGNOSTICS_FILE + ".gz"))
        if not recorded or not (directory / "done").is_file():
            skipped.append(method)
            continue
        _, phases = load_job(directory)
        runs[method] = load_diagnostics(directory)
        summaries[method] = summarize_run(runs[method], phases)
    if not runs:
        raise FileNotFoundError(f"No finished job of seed {seed} with diagnostics in {results_dir}")
    if plot is not None:
        plot_diagnostics(runs, phases, plot, title=f"{results_dir.name}: training diagnostics, seed {seed}")
    result = {"results_dir": str(results_dir), "seed": seed, "methods": summaries, "skipped": skipped}
    if output is not None:
        pathlib.Path(output).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(output).write_text(json.dumps(without_nan({**result, "machine": machine_info()}), indent=2) + "\n")
        write_table(result, pathlib.Path(output).with_suffix(".rst"))
    return result


def write_table(result: Mapping[str, Any], path: Union[str, pathlib.Path]) -> None:
    """
    Write the summary of :func:`report` as the reStructuredText table the docs include: per method, the mean and the
    roughness of every series, over the run and in its first phase (before any switch).

    :param result: Of :func:`report`
    :param path: The ``.rst`` file
    """
    header = ["method"]
    for name in SERIES:
        header += [f"{name.replace('_', ' ')} mean", "roughness (run / phase 1)"]
    rows = []
    for method, summary in result["methods"].items():
        row = [method]
        for name in SERIES:
            if name not in summary:
                row += ["-", "-"]
                continue
            values = summary[name]
            first = values["phases"][0]["roughness"] if values["phases"] else math.nan
            row += [f"{values['mean']:.3g}", f"{fixed(values['roughness'], 2)} / {fixed(first, 2)}"]
        rows.append(row)
    pathlib.Path(path).write_text("\n".join(rst_simple_table(header, rows)) + "\n")


def main(argv: Optional[Sequence[str]] = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="python -m sb3_gtr.benchmarks.diagnostics",
        description="Summarise and plot the Section-3 diagnostics (policy shift, gradient norm, entropy, penalty) of one "
        "seed per method of a benchmark's output folder.",
    )
    parser.add_argument("--results-dir", required=True, help="output folder of sb3_gtr.benchmarks.continual")
    parser.add_argument("--seed", type=int, default=0, help="the seed shown (default: 0)")
    parser.add_argument("--methods", nargs="+", default=None, help="methods (default: every one with diagnostics)")
    parser.add_argument("--plot", default=None, help="PNG file of the plot")
    parser.add_argument("--output", default=None, help="JSON file of the summary")
    args = parser.parse_args(argv)
    if not pathlib.Path(args.results_dir).is_dir():
        parser.error(f"--results-dir {args.results_dir} is not a folder")
    try:
        result = report(args.results_dir, args.seed, args.methods, args.plot, args.output)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    for method, summary in result["methods"].items():
        cells = ", ".join(
            f"{name} {values['mean']:.3g} (roughness {values['roughness']:.2f})" for name, values in summary.items()
        )
        print(f"{method}: {cells}")
    return result


if __name__ == "__main__":
    main()
