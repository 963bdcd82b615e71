"""
The paper's ablations on the fast continual suites: one argument varied at a time, for every method it applies to,
scored for plasticity like the main comparison (:mod:`~sb3_gtr.benchmarks.fast_suites`) and aggregated with rliable.

An *axis* (:data:`AXES`) names the variants of one argument (``n_epochs`` 4, 10, 20, 30; ``clip_range`` 0.5 or no
clipping; ``sigma``; ...) and the methods they apply to. A cell is one variant of one method, a method of the
continual benchmark named ``<method>-<variant>`` (``gtr-e30``: GTR with ``n_epochs=30``) whose runs lie in
``results/ablations/<axis>/<suite>/<method>-<variant>``. A variant equal to the suite's own setting (its zoo entry's
``n_epochs``, say) is not run again: its cell is the main comparison's runs (``results/fast/<suite>/<method>``).
The area under the curve is normalised by the main comparison's references, so that cells compare with each other.
Each cell reports GTR's probability of improvement over the other methods at the same variant and that of GTR at the
suite's defaults (the main comparison's) over each of its methods.

Usage::

    python -m sb3_gtr.benchmarks.ablations run --axis epochs --suite cartpole-reversed --seeds 0 1 2 3 4 --jobs 2
    python -m sb3_gtr.benchmarks.ablations report --axis epochs  # docs/benchmarks/ablation_epochs.json, .rst, plots
    # a cell re-run on fresh seeds, scored on those seeds alone (from the report's json)
    python -m sb3_gtr.benchmarks.ablations seeds --axis epochs --suite pendulum-reversed --variant e4 --seeds 5 6 7 8 9
"""

import argparse
import dataclasses
import json
import pathlib
import sys
from collections.abc import Sequence
from typing import Any, Optional, Union

import numpy as np

from sb3_gtr.benchmarks import calibration, fast_suites
from sb3_gtr.benchmarks.arguments import (
    NUM_THREADS,
    BadArgument,
    add_dispatch_arguments,
    positive_int,
    prepare_output_dir,
    reject_repeats,
    seed_argument,
    zoo_run_kwargs,
    zoo_settings,
)
from sb3_gtr.benchmarks.reports import fixed, rst_simple_table
from sb3_gtr.benchmarks.runner import machine_info
from sb3_gtr.benchmarks.statistics import probability_of_improvement
from sb3_gtr.continual.plotting import agg_figure
from sb3_gtr.continual.suites import REVERSAL_SUITES

RESULTS_DIR = pathlib.Path("results") / "ablations"
DOCS_DIR = pathlib.Path("docs") / "benchmarks"
PLOTS_DIR = pathlib.Path("docs") / "_static"
#: Evaluations per phase, as in the main comparison (its ``--eval-freq`` is a twentieth of a phase).
EVALS_PER_PHASE = 20
ALL_METHODS = fast_suites.METHODS
DEFAULT_GTR = fast_suites.COMPARED  # the main comparison's GTR, at the suite's defaults


@dataclasses.dataclass(frozen=True)
class Axis:
    """
    One ablation: variants of GTRPPO keyword arguments, applied to some methods.

    :param name: Name of the axis (its folder and files)
    :param label: What the axis varies, for tables and plots
    :param variants: Per variant name (the method's suffix), the keyword arguments it sets
    :param methods: The methods it applies to
    :param suite_variant: The zoo hyperparameter whose value picks the variant equal to the suite's own setting
        (``None``: every variant differs from the main comparison)
    """

    name: str
    label: str
    variants: dict[str, dict[str, Any]]
    methods: tuple[str, ...] = ALL_METHODS
    suite_variant: Optional[str] = None

    def default_variant(self, suite: str) -> Optional[str]:
        """:return: The variant that is the suite's own setting (the main comparison's cell), ``None`` if none"""
        if self.suite_variant is None:
            return None
        value = zoo_settings(suite)["algo_kwargs"].get(self.suite_variant)
        return next((name for name, kwargs in self.variants.items() if kwargs.get(self.suite_variant) == value), None)


#: The ablations of issue 11, after the paper's Section 5 and Figure 9, and an entropy bonus.
AXES: dict[str, Axis] = {
    axis.name: axis
    for axis in (
        Axis("epochs", "n_epochs", {f"e{n}": {"n_epochs": n} for n in (4, 10, 20, 30)}, suite_variant="n_epochs"),
        Axis("clip", "clipping", {"clip0.5": {"clip_range": 0.5}, "noclip": {"clip_surrogate": False}}),
        Axis("sigma", "sigma", {f"s{s:g}": {"sigma": s} for s in (0.1, 0.25, 1.0)}, methods=("gtr",)),
        Axis(
            "anchor",
            "anchor",
            {"nomix": {"mixture_anchor": False}, "window1": {"anchor_window": 1}, "coef1": {"penalty_coef": 1.0}},
            methods=("gtr",),
        ),
        Axis("kl", "KL coefficient", {f"b{b:g}": {"penalty_coef": b} for b in (0.1, 0.3, 3.0, 10.0)}, methods=("ppo-kl",)),
        # Not one of the paper's: the diagnostics show an entropy collapse at each switch, with no entropy bonus
        Axis("entropy", "entropy bonus", {"ent0.01": {"ent_coef": 0.01}}, methods=("ppo", "gtr")),
    )
}


def cell_method(method: str, variant: str) -> str:
    """:return: The name of a cell's method, ``<method>-<variant>``"""
    return f"{method}-{variant}"


def eval_freq(suite: str) -> int:
    """:return: The main comparison's evaluation interval of a suite: a twentieth of a phase, at least a rollout"""
    from sb3_gtr.continual.suites import make_suite

    settings = zoo_settings(suite)
    return max(calibration.rollout_size(settings), make_suite(suite).task_timesteps(0) // EVALS_PER_PHASE)


def run_axis(
    axis: str,
    suite: str,
    seeds: Sequence[int],
    jobs: int = 1,
    num_threads: int = NUM_THREADS,
    results_dir: Union[str, pathlib.Path] = RESULTS_DIR,
    dispatch: str = "ray",
    address: Optional[str] = None,
    verbose: bool = True,
    variants: Optional[Sequence[str]] = None,
) -> dict[str, Any]:
    """
    Run every cell of an axis on a suite that is not the main comparison's, skipping finished jobs.

    :param variants: The variants to run (default: all of the axis' but the suite's own setting), e.g. the most
        telling one first when a session's compute is short
    :return: The continual benchmark's report of the run
    """
    from sb3_gtr.benchmarks.continual import run_benchmark

    if axis not in AXES:
        raise BadArgument(f"Unknown --axis {axis!r}: axes are {', '.join(AXES)}")
    if suite not in REVERSAL_SUITES:
        raise BadArgument(f"--suite: {suite!r} is not a fast suite; fast suites: {', '.join(REVERSAL_SUITES)}")
    spec = AXES[axis]
    default = spec.default_variant(suite)
    if variants is None:
        variants = [name for name in spec.variants if name != default]
    else:
        for name in variants:
            if name not in spec.variants or name == default:
                allowed = ", ".join(v for v in spec.variants if v != default)
                raise BadArgument(f"--variants: {name!r} is not a variant of axis {axis!r} on {suite}; variants: {allowed}")
    # The zoo's values of every key the axis varies go into each cell's own kwargs, so that a job's configuration (what
    # its `done` marker stores and a rerun compares) is the same whichever --variants run it
    zoo_algo_kwargs = zoo_settings(suite)["algo_kwargs"]
    axis_keys = {key for kwargs in spec.variants.values() for key in kwargs}
    zoo_defaults = {key: value for key, value in zoo_algo_kwargs.items() if key in axis_keys}
    method_kwargs = {
        cell_method(method, variant): {"base": method, **zoo_defaults, **spec.variants[variant]}
        for variant in variants
        for method in spec.methods
    }
    return run_benchmark(
        suite,
        methods=list(method_kwargs),
        seeds=seeds,
        method_kwargs=method_kwargs,
        **zoo_run_kwargs(suite),
        eval_freq=eval_freq(suite),
        n_eval_episodes=5,
        jobs=jobs,
        num_threads=num_threads,
        dispatch=dispatch,
        address=address,
        output_dir=pathlib.Path(results_dir) / axis / suite,
        command=" ".join(["python -m sb3_gtr.benchmarks.ablations", *sys.argv[1:]]),
        verbose=verbose,
    )


def axis_report(
    axis: str,
    suite: str,
    results_dir: Union[str, pathlib.Path] = RESULTS_DIR,
    main_dir: Union[str, pathlib.Path] = fast_suites.RESULTS_DIR,
    calibration_dir: Union[str, pathlib.Path] = calibration.RESULTS_DIR,
    reps: int = 2_000,
) -> Optional[dict[str, Any]]:
    """
    :return: The axis, its methods and, per variant with runs, the
        :func:`~sb3_gtr.benchmarks.fast_suites.suite_report` of its cells, GTR's
        probabilities of improvement over the other methods at the same variant and, in each cell besides the main
        comparison's, the probability that GTR at the suite's defaults beats each of its methods
        (:func:`default_gtr_improvement`); ``None`` without any cell of 2 runs besides the main comparison's
    """
    spec = AXES[axis]
    default = spec.default_variant(suite)
    axis_dir = pathlib.Path(results_dir) / axis
    if not any(
        fast_suites.reported_job_dirs(suite, axis_dir, [cell_method(method, variant) for method in spec.methods])
        for variant in spec.variants
        if variant != default
    ):
        return None  # nothing of this axis has run on the suite: no need for the main comparison's bootstrap
    main = fast_suites.suite_report(suite, main_dir, calibration_dir, reps=reps)
    references = None if main is None else (main["auc_references"]["min"], main["auc_references"]["max"])
    compared = "gtr" if "gtr" in spec.methods else spec.methods[0]
    cells = {}
    for variant in spec.variants:
        if variant == default:
            report = main
        else:
            methods = [cell_method(method, variant) for method in spec.methods]
            report = fast_suites.suite_report(
                suite,
                axis_dir,
                calibration_dir,
                reps=reps,
                methods=methods,
                compared=cell_method(compared, variant),
                references=references,
            )
        if report is not None:
            cells[variant] = {"main_comparison": variant == default, **report}
    if not any(not cell["main_comparison"] for cell in cells.values()):
        return None  # the main comparison alone: nothing of this axis has run on the suite
    default_gtr = {}
    if main is not None and DEFAULT_GTR in main["runs"]:
        for cell in cells.values():
            if not cell["main_comparison"]:
                cell["default_gtr_improvement"] = default_gtr_improvement(main["runs"][DEFAULT_GTR], cell["runs"], reps)
        default_gtr = {
            score: values["iqm"][DEFAULT_GTR]
            for score, values in main["scores"].items()
            if DEFAULT_GTR in values.get("iqm", {})
        }
    return {
        "axis": axis,
        "suite": suite,
        "label": spec.label,
        "methods": list(spec.methods),
        "default_variant": default,
        "default_gtr": default_gtr,
        "cells": cells,
    }


def default_gtr_improvement(
    default_runs: Sequence[dict[str, Any]], cell_runs: dict[str, Sequence[dict[str, Any]]], reps: int = 2_000
) -> dict[str, dict[str, float]]:
    """
    The probability that a run of GTR at the suite's defaults (the main comparison's) re-learns faster than a run of
    each method of a cell: below 0.5 the cell does better than GTR as it ships. It is the one comparison an axis of a
    single method has (``sigma`` and the anchor against GTR's defaults; the KL strengths of the paper's Figure 9
    against GTR).

    :param default_runs: The main comparison's GTR runs (:func:`~sb3_gtr.benchmarks.fast_suites.run_scores`)
    :param cell_runs: Per method of the cell, its runs
    :param reps: Bootstrap resamples
    :return: Per method of the cell with a re-learning cost for every run, ``probability``, ``low`` and ``high``
    """
    costs = {method: [run["relearning_cost"] for run in runs] for method, runs in cell_runs.items()}
    costs = {method: values for method, values in costs.items() if None not in values}
    reference = [run["relearning_cost"] for run in default_runs]
    if not costs or None in reference:
        return {}
    signed = {DEFAULT_GTR: -np.asarray(reference), **{method: -np.asarray(values) for method, values in costs.items()}}
    return probability_of_improvement(signed, DEFAULT_GTR, list(costs), reps=reps)


def interval_text(value: dict[str, float]) -> str:
    """:return: A probability with its interval, ``0.64 [0.20, 1.00]``"""
    return f"{value['probability']:.2f} [{value['low']:.2f}, {value['high']:.2f}]"


def iqm_text(value: dict[str, float]) -> str:
    """:return: An IQM with its interval, ``1.95 [1.92, 1.96]``"""
    return f"{fixed(value['iqm'], 2)} [{fixed(value['low'], 2)}, {fixed(value['high'], 2)}]"


def _base(method: str, variant: str) -> str:
    suffix = "-" + variant
    return method[: -len(suffix)] if method.endswith(suffix) else method


def plot_axis(report: dict[str, Any], path: Union[str, pathlib.Path], score: str = "relearning_cost") -> None:
    """The IQM of a score per variant and method, with its 95% interval, in a PNG (:func:`draw_axis`)."""
    with agg_figure(path, (1.6 * len(report["cells"]) + 3, 3.6)) as figure:
        draw_axis(figure.subplots(), report, score)


def draw_axis(axes: Any, report: dict[str, Any], score: str = "relearning_cost") -> None:
    """
    Draw the IQM of a score per variant and method (the report's ``methods``), with its 95% interval. Where no
    variant is the suite's own setting (the axes of clipping, of GTR's anchor, of PPO+KL's strength), GTR at the
    suite's defaults (the main comparison's) is drawn across the plot, its interval shaded, as the reference the cells
    compare with.

    :param axes: A matplotlib ``Axes``
    :param report: An :func:`axis_report`
    :param score: The score drawn
    """
    methods = report["methods"]
    variants = list(report["cells"])
    reference = report.get("default_gtr", {}).get(score)
    if reference is not None and not any(cell["main_comparison"] for cell in report["cells"].values()):
        axes.axhspan(reference["low"], reference["high"], color="0.85", zorder=0)
        axes.axhline(reference["iqm"], color="0.4", linestyle="--", label="gtr at the suite's defaults")
    width = 0.8 / len(methods)
    for index, method in enumerate(methods):
        xs, ys, errors = [], [], [[], []]
        for position, variant in enumerate(variants):
            iqm = report["cells"][variant]["scores"].get(score, {}).get("iqm", {})
            name = method if report["cells"][variant]["main_comparison"] else cell_method(method, variant)
            if name in iqm:
                xs.append(position + (index - (len(methods) - 1) / 2) * width)
                ys.append(iqm[name]["iqm"])
                errors[0].append(iqm[name]["iqm"] - iqm[name]["low"])
                errors[1].append(iqm[name]["high"] - iqm[name]["iqm"])
        axes.errorbar(xs, ys, yerr=errors, fmt="o", color=f"C{index}", label=method, capsize=3)
    labels = [variant + (" (suite's)" if report["cells"][variant]["main_comparison"] else "") for variant in variants]
    axes.set_xticks(range(len(variants)), labels)
    axes.set_xlabel(report["label"])
    axes.set_ylabel(score.replace("_", " ") + " (IQM, 95% CI)")
    axes.set_title(f"{report['suite']}: {report['label']}")
    axes.legend(fontsize=8)


def cell_on_seeds(report: dict[str, Any], variant: str, seeds: Sequence[int], reps: int = 2_000) -> dict[str, dict[str, Any]]:
    """
    Score one cell of an axis report on some of its seeds only: a replication on fresh seeds, read from the runs
    the report keeps (its ``.json``), without running anything.

    :param report: An :func:`axis_report` (one suite's entry of ``ablation_<axis>.json``)
    :param variant: The cell's variant
    :param seeds: The seeds kept
    :param reps: Bootstrap resamples
    :return: The cell's :func:`~sb3_gtr.benchmarks.fast_suites.aggregate_scores` on those seeds
    :raises ~sb3_gtr.benchmarks.arguments.BadArgument: If the cell is not in the report, or a method of it has fewer
        than 2 runs among the seeds
    """
    if variant not in report["cells"]:
        raise BadArgument(f"--variant: {variant!r} has no runs on {report['suite']}; variants: {', '.join(report['cells'])}")
    cell = report["cells"][variant]
    kept = set(seeds)
    runs = {method: [run for run in method_runs if run["seed"] in kept] for method, method_runs in cell["runs"].items()}
    short = [f"{method} ({len(method_runs)})" for method, method_runs in runs.items() if len(method_runs) < 2]
    if short:
        raise BadArgument(f"--seeds: fewer than 2 runs among seeds {sorted(kept)} for {', '.join(short)}")
    return fast_suites.aggregate_scores(runs, cell["compared"], reps)


def write_report(reports: Sequence[dict[str, Any]], prefix: Union[str, pathlib.Path]) -> None:
    """Write ``<prefix>.json`` (every run and score) and ``<prefix>.rst`` (the tables the docs include)."""
    prefix = pathlib.Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    prefix.with_suffix(".json").write_text(json.dumps({"machine": machine_info(), "suites": list(reports)}, indent=2) + "\n")
    lines: list[str] = []
    for report in reports:
        title = f"``{report['suite']}``: {report['label']}"
        lines += [title, "~" * len(title), ""]
        header = [
            "variant",
            "method",
            "seeds",
            "re-learning cost",
            "solved switches",
            "AUC current task",
            "P(GTR better)",
            "P(default GTR better)",
        ]
        cells = []
        for variant, cell in report["cells"].items():
            scores = cell["scores"]
            for method, runs in cell["runs"].items():
                base = _base(method, variant)
                poi = scores["relearning_cost"].get("probability_of_improvement", {}).get(method)
                row = [variant + (" (suite's)" if cell["main_comparison"] else ""), base, str(len(runs))]
                for score in ("relearning_cost", "solved_switches", "auc_current_task"):
                    row.append(iqm_text(scores[score]["iqm"][method]))
                for improvement in (poi, cell.get("default_gtr_improvement", {}).get(method)):
                    row.append("-" if improvement is None else interval_text(improvement))
                cells.append(row)
        lines += [*rst_simple_table(header, cells), ""]
    prefix.with_suffix(".rst").write_text("\n".join(lines))


def seeds_table(
    axis: str, suite: str, variant: str, seeds: Sequence[int], report_path: Union[str, pathlib.Path, None] = None
) -> str:
    """:return: The table of :func:`cell_on_seeds` for a cell of a written report: per method, each score's IQM"""
    path = pathlib.Path(report_path) if report_path is not None else DOCS_DIR / f"ablation_{axis}.json"
    if not path.is_file():
        raise BadArgument(f"--report: no file {str(path)!r}; write it with: report --axis {axis}")
    found = [entry for entry in json.loads(path.read_text())["suites"] if entry["suite"] == suite]
    if not found:
        raise BadArgument(f"--suite: {path} has no {suite!r}")
    scores = cell_on_seeds(found[0], variant, seeds)
    methods = list(scores["relearning_cost"]["iqm"])
    compared = found[0]["cells"][variant]["compared"]
    header = ["method", "seeds", *(name.replace("_", " ") for name in scores), f"P({compared} better)"]
    rows = []
    for method in methods:
        improvement = scores["relearning_cost"].get("probability_of_improvement", {}).get(method)
        rows.append(
            [
                method,
                str(scores["relearning_cost"]["iqm"][method]["n_runs"]),
                *(iqm_text(entry["iqm"][method]) for entry in scores.values()),
                "-" if improvement is None else interval_text(improvement),
            ]
        )
    title = (
        f"{suite}: {variant} on seeds {' '.join(map(str, sorted(set(seeds))))} "
        "(IQM, 95% interval; the probability of improvement is on the re-learning cost)"
    )
    return "\n".join([title, "", *rst_simple_table(header, rows)])


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sb3_gtr.benchmarks.ablations", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the cells of an axis on a fast suite")
    run.add_argument("--axis", required=True, choices=list(AXES))
    run.add_argument("--suite", required=True, choices=list(REVERSAL_SUITES))
    run.add_argument("--seeds", nargs="+", type=seed_argument, default=list(range(5)), help="seeds (default: 0 to 4)")
    run.add_argument("--jobs", type=positive_int, default=1, help="jobs run at the same time")
    run.add_argument("--num-threads", type=positive_int, default=NUM_THREADS, help="torch threads of each job")
    run.add_argument("--results-dir", default=str(RESULTS_DIR))
    run.add_argument("--variants", nargs="+", default=None, help="the variants to run (default: all but the suite's own)")
    run.add_argument("--quiet", action="store_true")
    add_dispatch_arguments(run)
    report = commands.add_parser("report", help="write an axis' tables and plots")
    report.add_argument("--axis", required=True, choices=list(AXES))
    report.add_argument("--results-dir", default=str(RESULTS_DIR))
    report.add_argument("--main-dir", default=str(fast_suites.RESULTS_DIR), help="the main comparison's runs")
    report.add_argument("--calibration-dir", default=str(calibration.RESULTS_DIR))
    report.add_argument("--output", default=None, help="path of the .json and .rst files (default: docs/benchmarks)")
    report.add_argument("--plots-dir", default=str(PLOTS_DIR))
    subset = commands.add_parser("seeds", help="score one reported cell on some of its seeds (fresh seeds)")
    subset.add_argument("--axis", required=True, choices=list(AXES))
    subset.add_argument("--suite", required=True, choices=list(REVERSAL_SUITES))
    subset.add_argument("--variant", required=True, help="the cell, as in the report's table (e4, noclip, ...)")
    subset.add_argument("--seeds", nargs="+", type=seed_argument, required=True, help="the seeds kept")
    subset.add_argument("--report", default=None, help="the axis report (default: docs/benchmarks/ablation_<axis>.json)")
    subset.add_argument("--output", default=None, help="also write the table to this .rst file (for the docs)")
    args = parser.parse_args(argv)
    try:
        if args.command == "seeds":
            table = seeds_table(args.axis, args.suite, args.variant, args.seeds, args.report)
            if args.output is not None:
                output = pathlib.Path(args.output)
                prepare_output_dir(output.parent, "--output", given=args.output)
                output.write_text(table + "\n")
            print(table)
            return 0
        if args.command == "run":
            reject_repeats(parser, "--seeds", args.seeds, "each seed is one job per cell")
            run_axis(args.axis, args.suite, args.seeds, args.jobs, args.num_threads, args.results_dir, args.dispatch,
                     args.address, verbose=not args.quiet, variants=args.variants)  # fmt: skip
            return 0
        reports = [
            found
            for suite in REVERSAL_SUITES
            if (found := axis_report(args.axis, suite, args.results_dir, args.main_dir, args.calibration_dir))
        ]
    except (BadArgument, ValueError) as error:
        parser.error(str(error))
    if not reports:
        parser.error(f"--results-dir: no cell of axis {args.axis!r} with 2 finished runs in {args.results_dir}")
    prefix = args.output if args.output is not None else DOCS_DIR / f"ablation_{args.axis}"
    write_report(reports, prefix)
    for found in reports:
        plot_axis(found, pathlib.Path(args.plots_dir) / f"ablation_{args.axis}_{found['suite']}.png")
    print(pathlib.Path(prefix).with_suffix(".rst").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
