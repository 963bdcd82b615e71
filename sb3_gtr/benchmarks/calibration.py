"""
Calibration of the fast continual suites and their single-task reference runs: PPO (``GTRPPO`` with
``penalty="none"``, the ``ppo`` method of the continual benchmark) trained from scratch on each task of a suite alone,
with the hyperparameters of the suite's zoo entry, and the steps it takes to reach the task's threshold.

The same runs are the references of the re-learning cost
(:func:`~sb3_gtr.continual.metrics.relearning_cost`): the steps a continual run needs to reach a task's threshold
after a switch, divided by the median steps these runs need from scratch.

Run (resumable: finished jobs are skipped), then write the table the docs quote::

    python -m sb3_gtr.benchmarks.calibration run --suite cartpole-reversed --jobs 2  # seeds 0-9
    python -m sb3_gtr.benchmarks.calibration report

A suite is calibrated when, on every task, at least :data:`REQUIRED_FRACTION` of the seeds reach the threshold within
the per-task budget.
"""

import argparse
import json
import math
import pathlib
import sys
from collections.abc import Sequence
from typing import Any, Optional, Union

import numpy as np

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
from sb3_gtr.benchmarks.jobs import load_job
from sb3_gtr.benchmarks.reports import fixed, rst_simple_table
from sb3_gtr.benchmarks.runner import machine_info, read_done
from sb3_gtr.continual.metrics import normalize_returns, steps_to_threshold
from sb3_gtr.continual.suites import REVERSAL_SUITES, REVERSAL_TASKS, make_suite

#: Fraction of the seeds that must reach the threshold on every task (9 of 10).
REQUIRED_FRACTION = 0.9
#: Evaluations per single-task run: the resolution of the steps to the threshold (at most one per rollout).
EVALS_PER_RUN = 20
#: Where the runs go and where the report is written, by default.
RESULTS_DIR = pathlib.Path("results") / "calibration"
REPORT_PREFIX = pathlib.Path("docs") / "benchmarks" / "fast_suites_calibration"


def rollout_size(settings: dict[str, Any]) -> int:
    """:return: Steps per rollout of the settings (``n_steps * n_envs``)"""
    return int(settings["algo_kwargs"].get("n_steps", 2048)) * settings["n_envs"]


def run_calibration(
    suite: str,
    seeds: Sequence[int],
    tasks: Sequence[str] = REVERSAL_TASKS,
    jobs: int = 1,
    num_threads: int = NUM_THREADS,
    results_dir: Union[str, pathlib.Path] = RESULTS_DIR,
    verbose: bool = True,
    dispatch: str = "ray",
    address: Optional[str] = None,
) -> None:
    """
    Train PPO from scratch on each task of a fast suite alone, one job per (task, seed), skipping finished jobs.

    :param suite: A key of :data:`~sb3_gtr.continual.suites.REVERSAL_SUITES`
    :param seeds: The seeds
    :param tasks: The tasks
    :param jobs: Jobs run at the same time
    :param num_threads: Torch threads of each job
    :param results_dir: The folder of all calibration runs (``<suite>/<task>/ppo/seed_<n>`` below it)
    :param verbose: Show the progress
    :param dispatch: How jobs run: ``"ray"`` or ``"processes"`` (see :func:`~sb3_gtr.benchmarks.arguments.dispatcher_of`)
    :param address: Address of a Ray cluster (``None``: a local Ray)
    """
    from sb3_gtr.benchmarks.continual import run_benchmark

    if suite not in REVERSAL_SUITES:
        raise BadArgument(f"--suite: {suite!r} is not a fast suite; fast suites: {', '.join(REVERSAL_SUITES)}")
    settings = zoo_settings(suite)
    budget = make_suite(suite).task_timesteps(0)
    eval_freq = max(rollout_size(settings), budget // EVALS_PER_RUN)
    for task in tasks:
        run_benchmark(
            suite,
            methods=["ppo"],
            seeds=seeds,
            n_cycles=1,
            suite_kwargs={"tasks": [task]},
            **zoo_run_kwargs(suite),
            eval_freq=eval_freq,
            n_eval_episodes=5,
            jobs=jobs,
            num_threads=num_threads,
            dispatch=dispatch,
            address=address,
            output_dir=pathlib.Path(results_dir) / suite / task,
            command=" ".join(["python -m sb3_gtr.benchmarks.calibration", *sys.argv[1:]]),
            verbose=verbose,
        )


def reference_run(job_dir: Union[str, pathlib.Path]) -> dict[str, Any]:
    """
    The figures of one finished single-task run.

    :param job_dir: The job folder
    :return: ``seed``, ``steps_to_threshold`` (``None`` when not reached), ``budget``, ``threshold``,
        ``final_return`` and ``wall_time_s``
    """
    done = read_done(job_dir)
    if done is None:
        raise ValueError(f"{job_dir} is not a finished job (no done file)")
    config = done["config"]
    sequence = make_suite(config["suite"], scale=config["scale"], n_cycles=config["n_cycles"], **config["suite_kwargs"])
    if len(sequence) != 1 or sequence.n_cycles != 1:
        raise ValueError(f"{job_dir} is not a single-task run: {sequence!r}")
    table, phases = load_job(job_dir)
    threshold = sequence.tasks[0].reward_threshold
    found = steps_to_threshold(table.steps, table.returns, phases[:1], [threshold])[0]
    return {
        "seed": int(config["seed"]),
        "steps_to_threshold": None if math.isnan(found) else int(found),
        "budget": sequence.task_timesteps(0),
        "threshold": threshold,
        "final_return": float(table.returns[-1, 0]),
        "wall_time_s": float(done["wall_time_s"]),
    }


def summarize(results_dir: Union[str, pathlib.Path] = RESULTS_DIR) -> list[dict[str, Any]]:
    """
    :param results_dir: The folder of all calibration runs
    :return: One row per (suite, task) found: the per-seed runs and their summary (seeds reaching the threshold, the
        median and largest steps to it, whether the task is calibrated)
    """
    rows = []
    for suite in REVERSAL_SUITES:
        for task in REVERSAL_TASKS:
            job_dirs = sorted((pathlib.Path(results_dir) / suite / task / "ppo").glob("seed_*"))
            runs = [reference_run(job_dir) for job_dir in job_dirs if read_done(job_dir) is not None]
            if not runs:
                continue
            reached = [run["steps_to_threshold"] for run in runs if run["steps_to_threshold"] is not None]
            rows.append(
                {
                    "suite": suite,
                    "task": task,
                    "budget": runs[0]["budget"],
                    "threshold": runs[0]["threshold"],
                    "n_seeds": len(runs),
                    "n_reached": len(reached),
                    # Unreached seeds count as the budget: the median is then an optimistic bound, said in the docs
                    "median_steps": float(np.median([run["steps_to_threshold"] or run["budget"] for run in runs])),
                    "max_steps": max(reached) if reached else None,
                    "median_wall_time_s": float(np.median([run["wall_time_s"] for run in runs])),
                    "calibrated": len(reached) >= math.ceil(REQUIRED_FRACTION * len(runs)) and len(runs) >= 10,
                    "runs": runs,
                }
            )
    return rows


def from_scratch_steps(rows: Sequence[dict[str, Any]], suite: str) -> list[Optional[float]]:
    """
    :param rows: The rows of :func:`summarize`
    :param suite: A fast suite
    :return: The median steps to the threshold from scratch of each of its tasks (``None``: no runs), the references
        of :func:`~sb3_gtr.continual.metrics.relearning_cost`
    """
    by_task = {row["task"]: row["median_steps"] for row in rows if row["suite"] == suite}
    return [by_task.get(task) for task in REVERSAL_TASKS]


def reference_curves(
    suite: str,
    reference_min: Optional[Sequence[Optional[float]]],
    reference_max: Optional[Sequence[Optional[float]]],
    results_dir: Union[str, pathlib.Path] = RESULTS_DIR,
) -> list[Optional[tuple[np.ndarray, np.ndarray]]]:
    """
    The single-task learning curves of a suite's tasks, for forward transfer
    (:func:`~sb3_gtr.continual.metrics.forward_transfer`): per task, the evaluation steps and the median over seeds of
    the normalised return, normalised with the given references.

    :param suite: A fast suite
    :param reference_min: Return mapped to 0, per task of the suite
    :param reference_max: Return mapped to 1, per task of the suite
    :param results_dir: The folder of all calibration runs
    :return: Per task of the suite, ``(steps, median normalised return)``; ``None`` for a task without runs
    """
    curves: list[Optional[tuple[np.ndarray, np.ndarray]]] = []
    for task_id, task in enumerate(REVERSAL_TASKS):
        job_dirs = sorted((pathlib.Path(results_dir) / suite / task / "ppo").glob("seed_*"))
        tables = [load_job(job_dir)[0] for job_dir in job_dirs if read_done(job_dir) is not None]
        if not tables:
            curves.append(None)
            continue
        steps = tables[0].steps
        if any(not np.array_equal(table.steps, steps) for table in tables):
            raise ValueError(f"The calibration runs of {suite!r} {task!r} were evaluated at different steps")
        low = None if reference_min is None else [reference_min[task_id]]
        high = None if reference_max is None else [reference_max[task_id]]
        normalized = [normalize_returns(table.returns, low, high)[:, 0] for table in tables]
        curves.append((np.asarray(steps), np.median(np.stack(normalized), axis=0)))
    return curves


def write_report(rows: Sequence[dict[str, Any]], prefix: Union[str, pathlib.Path] = REPORT_PREFIX) -> None:
    """
    Write the calibration's raw figures (``<prefix>.json``) and its table (``<prefix>.rst``, included by the docs).

    :param rows: The rows of :func:`summarize`
    :param prefix: Path of the files without their suffix
    """
    prefix = pathlib.Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine_info(), "required_fraction": REQUIRED_FRACTION, "rows": list(rows)}
    prefix.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    header = ["suite", "task", "budget", "threshold", "reached", "median steps", "slowest seed", "wall time", "calibrated"]
    cells = [
        [
            f"``{row['suite']}``",
            row["task"],
            f"{row['budget']:,}",
            fixed(row["threshold"], 0),
            f"{row['n_reached']}/{row['n_seeds']}",
            f"{row['median_steps']:,.0f}",
            "-" if row["max_steps"] is None else f"{row['max_steps']:,}",
            f"{row['median_wall_time_s']:.0f} s",
            "yes" if row["calibrated"] else "no",
        ]
        for row in rows
    ]
    lines = rst_simple_table(header, cells)
    prefix.with_suffix(".rst").write_text("\n".join(lines) + "\n")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """
    The command line: ``run`` the single-task runs of a suite, or ``report`` on all of them.

    :param argv: Arguments (``None``: ``sys.argv[1:]``)
    :return: The exit status
    """
    parser = argparse.ArgumentParser(prog="python -m sb3_gtr.benchmarks.calibration", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="train PPO from scratch on each task of a fast suite")
    run.add_argument("--suite", required=True, choices=list(REVERSAL_SUITES))
    run.add_argument("--seeds", nargs="+", type=seed_argument, default=list(range(10)), help="seeds (default: 0 to 9)")
    run.add_argument("--tasks", nargs="+", choices=list(REVERSAL_TASKS), default=list(REVERSAL_TASKS))
    run.add_argument("--jobs", type=positive_int, default=1, help="jobs run at the same time")
    run.add_argument("--num-threads", type=positive_int, default=NUM_THREADS, help="torch threads of each job")
    add_dispatch_arguments(run)
    run.add_argument("--results-dir", default=str(RESULTS_DIR))
    run.add_argument("--quiet", action="store_true")
    report = commands.add_parser("report", help="write the calibration table the docs include")
    report.add_argument("--results-dir", default=str(RESULTS_DIR))
    report.add_argument("--output", default=str(REPORT_PREFIX), help="path of the .json and .rst files, no suffix")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            reject_repeats(parser, "--seeds", args.seeds, "each seed is run once per task")
            reject_repeats(parser, "--tasks", args.tasks, "each task is run once per seed")
            run_calibration(
                args.suite,
                args.seeds,
                args.tasks,
                args.jobs,
                args.num_threads,
                args.results_dir,
                verbose=not args.quiet,
                dispatch=args.dispatch,
                address=args.address,
            )
        else:
            rows = summarize(args.results_dir)
            if not rows:
                parser.error(f"--results-dir: no finished calibration run in {args.results_dir}")
            write_report(rows, args.output)
            print("\n".join(pathlib.Path(args.output).with_suffix(".rst").read_text().splitlines()))
    except BadArgument as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
