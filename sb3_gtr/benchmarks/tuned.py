"""
The fair tuned comparison on a fast suite: the same Optuna trial budget for each method of the main comparison
(PPO, PPO+KL, SPO, GTR), each over its own arguments and ``n_epochs`` (:mod:`~sb3_gtr.benchmarks.sweep` with
``--method`` and ``--search-epochs``; spaces in :data:`~sb3_gtr.benchmarks.search.SEARCHED`), on tuning seeds; then
each method's best setting re-run on fresh seeds (those of the main comparison, 0 to 9) and scored like the
ablations (:mod:`~sb3_gtr.benchmarks.ablations`): re-learning cost, solved switches, area under the curve
normalised by the main comparison's references, GTR's probability of improvement, beside the methods at their
defaults.

The sweeps run with the suite's zoo hyperparameters and the main comparison's evaluations; their trials are scored
by the area under the curve of the task being trained (the sweep's default objective), normalised by a PPO baseline
on the tuning seeds. Everything resumes: finished trials and jobs are kept.

Usage::

    python -m sb3_gtr.benchmarks.tuned sweep --suite cartpole-reversed --n-trials 20 --seeds 100 101 --jobs 2
    python -m sb3_gtr.benchmarks.tuned validate --suite cartpole-reversed --jobs 2   # seeds 0 to 9
    # after more trials (sweep --n-trials 40), validate a new best; the old validation moves to <method>-tuned-trial_<n>
    python -m sb3_gtr.benchmarks.tuned validate --suite cartpole-reversed --jobs 2 --archive-stale
    python -m sb3_gtr.benchmarks.tuned report   # docs/benchmarks/tuned.{json,rst}, docs/_static/tuned_<suite>.png
"""

import argparse
import json
import pathlib
import shutil
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

from sb3_gtr.benchmarks import ablations, calibration, fast_suites
from sb3_gtr.benchmarks.arguments import (
    NUM_THREADS,
    BadArgument,
    add_dispatch_arguments,
    positive_int,
    reject_repeats,
    seed_argument,
    zoo_run_kwargs,
    zoo_settings,
)
from sb3_gtr.benchmarks.runner import read_done
from sb3_gtr.benchmarks.search import SEARCHED
from sb3_gtr.continual.suites import REVERSAL_SUITES

RESULTS_DIR = pathlib.Path("results") / "tuned"
#: Folder of the sweeps, below the results folder: ``sweeps/<suite>/<method>``.
SWEEPS = "sweeps"
REPORT_PREFIX = ablations.DOCS_DIR / "tuned"
METHODS = fast_suites.METHODS
#: The variant names of the report's two cells.
DEFAULTS, TUNED = "defaults", "tuned"


def epoch_choices(suite: str) -> tuple[int, ...]:
    """:return: The ``n_epochs`` values searched on a suite: the epochs ablation's, and the suite's own"""
    axis = [kwargs["n_epochs"] for kwargs in ablations.AXES["epochs"].variants.values()]
    return tuple(sorted({*axis, zoo_settings(suite)["algo_kwargs"]["n_epochs"]}))


def _check(suite: str, methods: Sequence[str]) -> None:
    if suite not in REVERSAL_SUITES:
        raise BadArgument(f"--suite: {suite!r} is not a fast suite; fast suites: {', '.join(REVERSAL_SUITES)}")
    unknown = [method for method in methods if method not in SEARCHED]
    if unknown or not methods:
        raise BadArgument(f"--methods: {unknown or 'none'}: tune some of {', '.join(SEARCHED)}")


def _run_kwargs(suite: str, budget: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    # The main comparison's runs: the zoo entry's settings and evaluations (budget: smaller ones, for tests)
    return {**zoo_run_kwargs(suite), "eval_freq": ablations.eval_freq(suite), "n_eval_episodes": 5, **(budget or {})}


def sweep_dir(suite: str, method: str, results_dir: Union[str, pathlib.Path] = RESULTS_DIR) -> pathlib.Path:
    """:return: The folder of a method's sweep on a suite"""
    return pathlib.Path(results_dir) / SWEEPS / suite / method


def run_sweeps(
    suite: str,
    methods: Sequence[str] = METHODS,
    seeds: Sequence[int] = (100, 101),
    n_trials: int = 20,
    jobs: int = 1,
    num_threads: int = NUM_THREADS,
    results_dir: Union[str, pathlib.Path] = RESULTS_DIR,
    dispatch: str = "ray",
    address: Optional[str] = None,
    budget: Optional[Mapping[str, Any]] = None,
    verbose: bool = True,
) -> dict[str, dict[str, Any]]:
    """
    Run each method's sweep on a suite, one after the other, with the same trial budget.

    :param suite: A fast suite
    :param methods: The methods tuned
    :param seeds: The tuning seeds of every trial (not the validation's)
    :param n_trials: Finished trials per method, its defaults' trial included
    :param jobs: Jobs run at the same time
    :param num_threads: Torch threads of each job
    :param results_dir: The tuned comparison's folder
    :param dispatch: ``"ray"`` or ``"processes"``
    :param address: Address of a Ray cluster (``None``: a local Ray)
    :param budget: Keyword arguments of the sweep replacing the suite's calibrated budget (``scale``, ``n_cycles``,
        ``eval_freq``: for tests)
    :param verbose: Show progress
    :return: Per method, the sweep's report
    """
    from sb3_gtr.benchmarks.sweep import run_sweep

    _check(suite, methods)
    return {
        method: run_sweep(
            suite,
            method=method,
            n_epochs_choices=epoch_choices(suite),
            seeds=seeds,
            n_trials=n_trials,
            jobs=jobs,
            num_threads=num_threads,
            dispatch=dispatch,
            address=address,
            output_dir=sweep_dir(suite, method, results_dir),
            command=" ".join(["python -m sb3_gtr.benchmarks.tuned", *sys.argv[1:]]),
            verbose=verbose,
            **_run_kwargs(suite, budget),
        )
        for method in methods
    }


def best_settings(
    suite: str, methods: Sequence[str] = METHODS, results_dir: Union[str, pathlib.Path] = RESULTS_DIR
) -> dict[str, dict[str, Any]]:
    """
    :return: Per method, its sweep's best trial: ``trial``, ``value``, ``kwargs`` and the defaults' value (trial 0)
    :raises ~sb3_gtr.benchmarks.arguments.BadArgument: If a method's sweep has not finished
    """
    best = {}
    for method in methods:
        path = sweep_dir(suite, method, results_dir) / "sweep.json"
        if not path.is_file():
            raise BadArgument(
                f"--suite {suite}: no finished sweep of {method} ({path} is missing): run "
                f"`python -m sb3_gtr.benchmarks.tuned sweep --suite {suite}` first"
            )
        report = json.loads(path.read_text())
        defaults = next(row for row in report["rows"] if row["trial"] == "trial_0")
        best[method] = {**report["best"], "defaults_value": defaults["objective"], "n_trials": len(report["rows"])}
    return best


def validation_dir(suite: str, method: str, results_dir: Union[str, pathlib.Path] = RESULTS_DIR) -> pathlib.Path:
    """:return: The folder of the validation runs of a method's best setting on a suite"""
    return pathlib.Path(results_dir) / suite / ablations.cell_method(method, TUNED)


def _trial_of(suite: str, method: str, kwargs: Mapping[str, Any], results_dir: Union[str, pathlib.Path]) -> str:
    # The sweep's trial that trained these keyword arguments ("" if none did)
    for trial_dir in sorted(sweep_dir(suite, method, results_dir).glob("trial_*")):
        done = next((found for seed in sorted(trial_dir.glob("seed_*")) if (found := read_done(seed))), None)
        if done is not None and done["config"].get("method_kwargs") == kwargs:
            return trial_dir.name
    return ""


def stale_validations(
    suite: str, methods: Sequence[str] = METHODS, results_dir: Union[str, pathlib.Path] = RESULTS_DIR
) -> dict[str, dict[str, Any]]:
    """
    The validations that ran another setting than their sweep's best: a sweep extended with more trials (``sweep
    --n-trials``) may find a new best after its validation ran.

    :return: Per stale method: its validation ``folder``, the ``trial`` of the sweep it validated (``""`` if none
        matches) and the sweep's ``best`` trial now
    :raises ~sb3_gtr.benchmarks.arguments.BadArgument: If a method's sweep has not finished
    """
    best = best_settings(suite, methods, results_dir)
    stale = {}
    for method in methods:
        folder = validation_dir(suite, method, results_dir)
        expected = json.loads(json.dumps(best[method]["kwargs"]))  # as a `done` file stores it
        ran = [done["config"].get("method_kwargs") for job in sorted(folder.glob("seed_*")) if (done := read_done(job))]
        other = next((kwargs for kwargs in ran if kwargs != expected), None)
        if other is not None:
            trial = _trial_of(suite, method, other, results_dir)
            stale[method] = {"folder": folder, "trial": trial, "best": best[method]["trial"]}
    return stale


def _describe_stale(stale: Mapping[str, Mapping[str, Any]]) -> str:
    return "; ".join(
        f"{method}'s validation ({entry['folder']}) ran {entry['trial'] or 'another setting'}, its sweep's best is now "
        f"{entry['best']}"
        for method, entry in stale.items()
    )


def archive_stale_validations(
    suite: str, methods: Sequence[str] = METHODS, results_dir: Union[str, pathlib.Path] = RESULTS_DIR
) -> dict[str, pathlib.Path]:
    """
    Move each stale validation (:func:`stale_validations`) aside, to ``<method>-tuned-<trial it validated>`` beside
    it, so that the validation of the new best starts afresh and the old runs are kept.

    :return: Per method moved, its new folder
    """
    moved = {}
    for method, entry in stale_validations(suite, methods, results_dir).items():
        folder = entry["folder"]
        target = folder.with_name(f"{folder.name}-{entry['trial'] or 'stale'}")
        if target.exists():
            raise BadArgument(f"--archive-stale: {target} exists already; move it away to archive {folder} there")
        shutil.move(folder, target)
        moved[method] = target
    return moved


def run_validation(
    suite: str,
    methods: Sequence[str] = METHODS,
    seeds: Sequence[int] = tuple(range(10)),
    jobs: int = 1,
    num_threads: int = NUM_THREADS,
    results_dir: Union[str, pathlib.Path] = RESULTS_DIR,
    dispatch: str = "ray",
    address: Optional[str] = None,
    budget: Optional[Mapping[str, Any]] = None,
    verbose: bool = True,
    archive_stale: bool = False,
) -> dict[str, Any]:
    """
    Run each method's best setting (``<method>-tuned``) on fresh seeds; arguments as :func:`run_sweeps`.

    :param archive_stale: Move aside the validations of a setting that is no longer its sweep's best
        (:func:`archive_stale_validations`); without it such a validation is an error, as mixing two settings in one
        cell would be
    :return: The continual benchmark's report of the run
    """
    from sb3_gtr.benchmarks.continual import run_benchmark

    _check(suite, methods)
    if archive_stale:
        for method, target in archive_stale_validations(suite, methods, results_dir).items():
            if verbose:
                print(f"{method}: the validation of its former best setting moved to {target}", flush=True)
    elif stale := stale_validations(suite, methods, results_dir):
        raise BadArgument(
            f"--archive-stale: {_describe_stale(stale)}; pass --archive-stale to move the old runs aside and validate "
            "the new best"
        )
    best = best_settings(suite, methods, results_dir)
    method_kwargs = {ablations.cell_method(method, TUNED): {"base": method, **best[method]["kwargs"]} for method in methods}
    return run_benchmark(
        suite,
        methods=list(method_kwargs),
        seeds=seeds,
        method_kwargs=method_kwargs,
        jobs=jobs,
        num_threads=num_threads,
        dispatch=dispatch,
        address=address,
        output_dir=pathlib.Path(results_dir) / suite,
        command=" ".join(["python -m sb3_gtr.benchmarks.tuned", *sys.argv[1:]]),
        verbose=verbose,
        **_run_kwargs(suite, budget),
    )


def tuned_report(
    suite: str,
    results_dir: Union[str, pathlib.Path] = RESULTS_DIR,
    main_dir: Union[str, pathlib.Path] = fast_suites.RESULTS_DIR,
    calibration_dir: Union[str, pathlib.Path] = calibration.RESULTS_DIR,
    reps: int = 2_000,
) -> Optional[dict[str, Any]]:
    """
    :return: The comparison in the shape of :func:`~sb3_gtr.benchmarks.ablations.axis_report` (cells ``defaults``,
        the main comparison's, and ``tuned``), with each method's best setting and its sweep's scores; ``None`` if no
        tuned method has 2 finished validation runs
    """
    names = [ablations.cell_method(method, TUNED) for method in METHODS]
    validated = fast_suites.reported_job_dirs(suite, results_dir, names)
    if not validated:
        return None  # before the main comparison's report, whose bootstrap takes minutes
    stale = stale_validations(suite, [method for method in METHODS if ablations.cell_method(method, TUNED) in validated],
                              results_dir)  # fmt: skip
    if stale:
        raise BadArgument(
            f"--results-dir: {_describe_stale(stale)}: run `python -m sb3_gtr.benchmarks.tuned validate --suite {suite} "
            "--archive-stale` before the report"
        )
    main = fast_suites.suite_report(suite, main_dir, calibration_dir, reps=reps)
    references = None if main is None else (main["auc_references"]["min"], main["auc_references"]["max"])
    tuned = fast_suites.suite_report(
        suite, results_dir, calibration_dir, reps=reps, methods=names, compared=names[-1], references=references
    )
    if tuned is None:
        return None
    methods = [method for method in METHODS if ablations.cell_method(method, TUNED) in tuned["runs"]]
    cells = {TUNED: {"main_comparison": False, **tuned}}
    if main is not None:
        cells = {DEFAULTS: {"main_comparison": True, **main}, **cells}
    return {
        "axis": "tuned",
        "suite": suite,
        "label": "tuning",
        "methods": methods,
        "default_variant": DEFAULTS,
        "best": best_settings(suite, methods, results_dir),
        "cells": cells,
    }


def write_best_table(reports: Sequence[dict[str, Any]], path: Union[str, pathlib.Path]) -> None:
    """Write the best setting of each method's sweep, and its objective against the defaults', as an RST table."""
    from sb3_gtr.benchmarks.reports import fixed, rst_simple_table

    rows = [
        [
            report["suite"],
            method,
            str(entry["n_trials"]),
            fixed(entry["defaults_value"], 3),
            fixed(entry["value"], 3),
            "``" + json.dumps({key: entry["kwargs"][key] for key in sorted(entry["kwargs"])}) + "``",
        ]
        for report in reports
        for method, entry in report["best"].items()
    ]
    header = ["suite", "method", "trials", "defaults' AUC", "best AUC", "best setting"]
    pathlib.Path(path).write_text("\n".join([*rst_simple_table(header, rows), ""]))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sb3_gtr.benchmarks.tuned", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sweep = commands.add_parser("sweep", help="tune each method on a fast suite, the same trial budget for each")
    validate = commands.add_parser("validate", help="run each method's best setting on fresh seeds")
    for command, seeds, text in ((sweep, [100, 101], "100 101"), (validate, list(range(10)), "0 to 9")):
        command.add_argument("--suite", required=True, choices=list(REVERSAL_SUITES))
        command.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
        command.add_argument("--seeds", nargs="+", type=seed_argument, default=seeds, help=f"seeds (default: {text})")
        command.add_argument("--jobs", type=positive_int, default=1, help="jobs run at the same time")
        command.add_argument("--num-threads", type=positive_int, default=NUM_THREADS, help="torch threads of each job")
        command.add_argument("--results-dir", default=str(RESULTS_DIR))
        command.add_argument("--quiet", action="store_true")
        add_dispatch_arguments(command)
    sweep.add_argument("--n-trials", type=positive_int, default=20, help="finished trials per method (default: 20)")
    validate.add_argument(
        "--archive-stale",
        action="store_true",
        help="move aside the validation of a setting that is no longer its sweep's best (after more trials) to "
        "<method>-tuned-<its trial>, and validate the new best",
    )
    report = commands.add_parser("report", help="write the comparison's tables and plots")
    report.add_argument("--results-dir", default=str(RESULTS_DIR))
    report.add_argument("--main-dir", default=str(fast_suites.RESULTS_DIR), help="the main comparison's runs")
    report.add_argument("--calibration-dir", default=str(calibration.RESULTS_DIR))
    report.add_argument("--output", default=str(REPORT_PREFIX), help="path of the .json and .rst files")
    report.add_argument("--plots-dir", default=str(ablations.PLOTS_DIR))
    args = parser.parse_args(argv)
    try:
        if args.command != "report":
            reject_repeats(parser, "--seeds", args.seeds, "each seed is one job per method")
            reject_repeats(parser, "--methods", args.methods, "each method is tuned once")
            common = dict(seeds=args.seeds, jobs=args.jobs, num_threads=args.num_threads, results_dir=args.results_dir,
                          dispatch=args.dispatch, address=args.address, verbose=not args.quiet)  # fmt: skip
            if args.command == "sweep":
                run_sweeps(args.suite, args.methods, n_trials=args.n_trials, **common)
            else:
                run_validation(args.suite, args.methods, archive_stale=args.archive_stale, **common)
            return 0
        reports = [
            found
            for suite in REVERSAL_SUITES
            if (found := tuned_report(suite, args.results_dir, args.main_dir, args.calibration_dir))
        ]
    except (BadArgument, ValueError) as error:
        parser.error(str(error))
    if not reports:
        parser.error(f"--results-dir: no tuned method with 2 finished validation runs in {args.results_dir}")
    ablations.write_report(reports, args.output)
    write_best_table(reports, pathlib.Path(args.output).with_name(pathlib.Path(args.output).name + "_best.rst"))
    for found in reports:
        ablations.plot_axis(found, pathlib.Path(args.plots_dir) / f"tuned_{found['suite']}.png")
    print(pathlib.Path(args.output).with_suffix(".rst").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
