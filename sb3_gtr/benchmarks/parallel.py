"""
The parallel efficiency of the benchmark runner: the same jobs run one at a time, then ``n`` at a time, each from a
cold start (a fresh output folder and, with Ray, a fresh local Ray), timed end to end.

``efficiency(n) = T(1) / (n * T(n))``, where ``T(n)`` is the wall time of the whole run with ``n`` jobs at a time: 1
means that ``n`` jobs at a time finish ``n`` times as fast. The median wall time of one job at ``n`` against at 1 (the
*job slowdown*) separates what the cores lose to each other (memory bandwidth, caches, a shared machine) from the
runner's own costs (starting Ray and the workers, the queue's tail).

Usage (the figures of ``docs/benchmarks/parallel_efficiency.rst``)::

    python -m sb3_gtr.benchmarks.parallel --suite cartpole-reversed --scale 0.1 --runs 4 --jobs 1 2 \\
        --output docs/benchmarks/parallel_efficiency
"""

import argparse
import json
import pathlib
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any, Optional, Union

from sb3_gtr.benchmarks.arguments import (
    DISPATCHES,
    NUM_THREADS,
    BadArgument,
    positive_float,
    positive_int,
    reject_repeats,
    zoo_run_kwargs,
)
from sb3_gtr.benchmarks.reports import rst_simple_table
from sb3_gtr.benchmarks.runner import machine_info, read_done
from sb3_gtr.continual.suites import REVERSAL_SUITES


def _stop_ray() -> None:
    """Shut a local Ray down, so that the next measurement starts it cold, as a user's command does."""
    if "ray" in sys.modules:
        sys.modules["ray"].shutdown()


def measure(
    suite: str,
    runs: int,
    jobs: int,
    scale: float,
    dispatch: str = "ray",
    num_threads: int = NUM_THREADS,
    output_dir: Optional[Union[str, pathlib.Path]] = None,
) -> dict[str, Any]:
    """
    Run ``runs`` PPO jobs (seeds ``0 .. runs - 1``) of a fast suite, ``jobs`` at a time, from a cold start.

    :param suite: A key of :data:`~sb3_gtr.continual.suites.REVERSAL_SUITES` (its zoo hyperparameters are used)
    :param runs: Jobs run
    :param jobs: Jobs at a time
    :param scale: Factor on the suite's step budget
    :param dispatch: ``"ray"`` or ``"processes"``
    :param num_threads: Torch threads per job
    :param output_dir: Folder of the jobs (``None``: a temporary folder, removed afterwards)
    :return: ``jobs``, ``wall_time_s`` (the whole run) and ``job_wall_times_s`` (of each job, from its ``done`` marker)
    """
    from sb3_gtr.benchmarks.continual import run_benchmark

    with tempfile.TemporaryDirectory(prefix="sb3_gtr_parallel_") as temporary:
        folder = pathlib.Path(output_dir if output_dir is not None else temporary) / f"jobs_{jobs}"
        _stop_ray()
        start = time.perf_counter()
        run_benchmark(
            suite,
            methods=["ppo"],
            seeds=list(range(runs)),
            scale=scale,
            **zoo_run_kwargs(suite),
            n_eval_episodes=1,
            jobs=jobs,
            num_threads=num_threads,
            dispatch=dispatch,
            output_dir=folder,
            force=True,
            verbose=False,
        )
        wall_time = time.perf_counter() - start
        _stop_ray()
        job_times = [read_done(folder / "ppo" / f"seed_{seed}")["wall_time_s"] for seed in range(runs)]
    return {"jobs": jobs, "wall_time_s": wall_time, "job_wall_times_s": job_times}


def efficiency(measurements: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """
    :param measurements: Of :func:`measure`, one with ``jobs == 1``
    :return: Per measurement, ``jobs``, ``wall_time_s``, ``speedup`` ``T(1) / T(n)``, ``efficiency``
        ``speedup / n`` and ``job_slowdown`` (median job wall time at ``n`` over at 1)
    """
    serial = next((m for m in measurements if m["jobs"] == 1), None)
    if serial is None:
        raise ValueError("The parallel efficiency needs a measurement with one job at a time (--jobs 1)")
    serial_job = statistics.median(serial["job_wall_times_s"])
    rows = []
    for measurement in measurements:
        speedup = serial["wall_time_s"] / measurement["wall_time_s"]
        rows.append(
            {
                "jobs": measurement["jobs"],
                "wall_time_s": measurement["wall_time_s"],
                "median_job_wall_time_s": statistics.median(measurement["job_wall_times_s"]),
                "speedup": speedup,
                "efficiency": speedup / measurement["jobs"],
                "job_slowdown": statistics.median(measurement["job_wall_times_s"]) / serial_job,
            }
        )
    return rows


def write_report(report: dict[str, Any], prefix: Union[str, pathlib.Path]) -> None:
    """Write ``<prefix>.json`` (everything) and ``<prefix>.rst`` (the table the docs include)."""
    prefix = pathlib.Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    prefix.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    header = ["jobs at a time", "wall time", "speedup", "efficiency", "median job", "job slowdown"]
    cells = [
        [
            str(row["jobs"]),
            f"{row['wall_time_s']:.0f} s",
            f"{row['speedup']:.2f}x",
            f"{row['efficiency']:.2f}",
            f"{row['median_job_wall_time_s']:.0f} s",
            f"{row['job_slowdown']:.2f}x",
        ]
        for row in report["rows"]
    ]
    prefix.with_suffix(".rst").write_text("\n".join(rst_simple_table(header, cells)) + "\n")


def main(argv: Optional[Sequence[str]] = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m sb3_gtr.benchmarks.parallel", description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default="cartpole-reversed", choices=list(REVERSAL_SUITES), help="a fast suite")
    parser.add_argument("--scale", type=positive_float, default=0.1, help="factor on the suite's budget (default: 0.1)")
    parser.add_argument("--runs", type=positive_int, default=4, help="jobs per measurement (default: 4)")
    parser.add_argument("--jobs", type=positive_int, nargs="+", default=[1, 2], help="jobs at a time (default: 1 2)")
    parser.add_argument("--dispatch", choices=DISPATCHES, default="ray", help="how jobs run (default: ray)")
    parser.add_argument("--num-threads", type=positive_int, default=NUM_THREADS, help="torch threads per job")
    parser.add_argument("--output", default=None, help="path of the .json and .rst files, no suffix (default: none)")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    reject_repeats(parser, "--jobs", args.jobs, "each value is measured once")
    if 1 not in args.jobs:
        parser.error("--jobs must include 1: the efficiency is measured against one job at a time")
    try:
        measurements = [
            measure(args.suite, args.runs, jobs, args.scale, args.dispatch, args.num_threads) for jobs in sorted(args.jobs)
        ]
    except BadArgument as error:
        parser.error(str(error))
    report = {
        "command": shlex.join(["python", "-m", "sb3_gtr.benchmarks.parallel", *argv]),
        "suite": args.suite,
        "scale": args.scale,
        "runs": args.runs,
        "dispatch": args.dispatch,
        "machine": machine_info(),
        "measurements": measurements,
        "rows": efficiency(measurements),
    }
    if args.output is not None:
        write_report(report, args.output)
    for row in report["rows"]:
        print(
            f"{row['jobs']} at a time: {row['wall_time_s']:.1f} s, speedup {row['speedup']:.2f}x, "
            f"efficiency {row['efficiency']:.2f}, job slowdown {row['job_slowdown']:.2f}x"
        )
    return report


if __name__ == "__main__":
    main()
