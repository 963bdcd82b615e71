"""
Training throughput of the paper's architectures.

* ``recurrent``: ``RecurrentGTRPPO`` with the LayerNorm-GRU policy against sb3-contrib's
  ``RecurrentPPO`` with its LSTM at the same hidden size (and ``RecurrentGTRPPO`` with the LSTM,
  which separates the cost of the GTR update from the cost of the recurrent core).
  Target of the issue: at most 1.5x the LSTM's wall time.
* ``simba``: ``GTRPPO`` with the SimBa policy at the paper's widths (actor 128, critic 512)
  against ``GTRPPO`` with SB3's default ``MlpPolicy``.

Every run is a fresh subprocess with one torch thread (``--num-threads``); the methods of a benchmark
alternate, and the ratios are medians of per-pair ratios (pair ``i`` = the ``i``-th run of
each method). Results go to ``<output>.json`` / ``.md`` / ``.rst``.

Usage::

    python -m sb3_gtr.benchmarks.policies --repeats 3 --output docs/benchmarks/policies
"""

import argparse
import datetime
import json
import pathlib
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any, Optional

from sb3_gtr.benchmarks.arguments import (
    MAX_SEED,
    NUM_THREADS,
    NUM_THREADS_HELP,
    BadArgument,
    check_count,
    output_prefix,
    positive_int,
    seed_argument,
    timing_command_errors,
)
from sb3_gtr.benchmarks.methods import RECURRENT_METHODS, SIMBA_METHODS, Method
from sb3_gtr.benchmarks.reports import fixed, markdown_table, rst_simple_table
from sb3_gtr.benchmarks.runner import machine_info, run_in_worker
from sb3_gtr.common.checks import is_int

#: benchmark -> (environment, timesteps, methods of :mod:`~sb3_gtr.benchmarks.methods`); the first method is the
#: baseline of the ratios.
BENCHMARKS: dict[str, tuple[str, int, dict[str, Method]]] = {
    "recurrent": ("CartPole-v1", 4096, RECURRENT_METHODS),
    "simba": ("HalfCheetah-v5", 4096, SIMBA_METHODS),
}


def run_single(config: dict[str, Any]) -> dict[str, Any]:
    """
    Train one model and time ``learn()``; meant to run in a fresh subprocess.

    :param config: ``benchmark``, ``method``, ``timesteps``, ``seed`` and optionally ``num_threads`` (default one)
    :return: ``total_s`` (wall time of ``learn()``), ``cpu_s`` (process CPU time) and ``steps_per_s``
    """
    import torch as th
    from stable_baselines3.common.env_util import make_vec_env

    th.set_num_threads(int(config.get("num_threads", NUM_THREADS)))
    env_id, _, methods = BENCHMARKS[config["benchmark"]]
    # Recurrent runs: 8 envs and sb3-contrib's defaults (n_steps=128, batch_size=128); feed-forward: SB3's defaults.
    n_envs = 8 if config["benchmark"] == "recurrent" else 1
    env = make_vec_env(env_id, n_envs=n_envs, seed=config["seed"])
    model = methods[config["method"]].make(env, seed=config["seed"], device="cpu")
    cpu_start, start = time.process_time(), time.perf_counter()
    model.learn(total_timesteps=config["timesteps"])
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {**config, "total_s": total, "cpu_s": cpu, "steps_per_s": model.num_timesteps / total}


def summarize(runs: Sequence[dict[str, Any]], benchmark: str) -> list[dict[str, Any]]:
    """
    Medians per method and medians of the per-pair ratios over the benchmark's first method.

    :param runs: The results of :func:`run_single` for one benchmark
    :param benchmark: A key of :data:`BENCHMARKS`
    :return: One row per method
    """
    _, _, methods = BENCHMARKS[benchmark]
    by_method = {method: [run for run in runs if run["method"] == method] for method in methods}
    baseline = by_method[next(iter(methods))]
    rows = []
    for method, method_runs in by_method.items():
        pairs = list(zip(method_runs, baseline, strict=True))
        rows.append(
            {
                "benchmark": benchmark,
                "method": method,
                "label": methods[method].label,
                "n_runs": len(method_runs),
                "steps_per_s": statistics.median(run["steps_per_s"] for run in method_runs),
                "time_ratio": statistics.median(run["total_s"] / base["total_s"] for run, base in pairs),
                "cpu_ratio": statistics.median(run["cpu_s"] / base["cpu_s"] for run, base in pairs),
            }
        )
    return rows


def _table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    header = ["benchmark", "method", "runs", "median steps/s", "wall time / baseline", "CPU time / baseline"]
    body = [
        [
            row["benchmark"],
            row["label"],
            str(row["n_runs"]),
            fixed(row["steps_per_s"], 0),
            fixed(row["time_ratio"], 2, "x"),
            fixed(row["cpu_ratio"], 2, "x"),
        ]
        for row in rows
    ]
    return header, body


def to_markdown(report: dict[str, Any]) -> str:
    """
    The summary table as Markdown.

    :param report: A report of :func:`run_benchmarks`
    :return: The Markdown text
    """
    header, body = _table(report["summary"])
    return "\n".join([_description(report), "", *markdown_table(header, body, right_from=None)]) + "\n"


def to_rst(report: dict[str, Any]) -> str:
    """
    The summary table as reStructuredText.

    :param report: A report of :func:`run_benchmarks`
    :return: The reStructuredText text
    """
    header, body = _table(report["summary"])
    return "\n".join([_description(report), "", *rst_simple_table(header, body)]) + "\n"


def _threads(n: int) -> str:
    return "one torch thread" if n == 1 else f"{n} torch threads"


def _description(report: dict[str, Any]) -> str:
    machine = report["machine"]
    threads = _threads(report.get("num_threads", NUM_THREADS))
    parts = [
        f"Measured {report['date']} with ``{report['command']}`` on {machine['platform']} "
        f"({machine['cpu_count']} CPUs, torch {machine['torch']}), {threads} per run, "
        f"{report['repeats']} alternating run(s) per method, seed {report['seed']}.",
    ]
    for name, (env_id, timesteps, _) in BENCHMARKS.items():
        parts.append(f"``{name}``: {env_id}, {timesteps} timesteps per run.")
    parts.append("Ratios are medians of per-pair ratios over the first method of each benchmark.")
    return " ".join(parts)


def run_benchmarks(
    benchmarks: Sequence[str] = tuple(BENCHMARKS),
    repeats: int = 3,
    seed: int = 0,
    timesteps: Optional[int] = None,
    output: Optional[str] = "docs/benchmarks/policies",
    command: Optional[str] = None,
    num_threads: int = NUM_THREADS,
) -> dict[str, Any]:
    """
    Run the benchmarks, methods in alternation, each run in a fresh subprocess. Every argument is checked before the
    first run.

    :param benchmarks: Keys of :data:`BENCHMARKS`
    :param repeats: Runs per method
    :param seed: Seed of every run
    :param timesteps: Override of every benchmark's budget (for quick checks; ``None``: each benchmark's own)
    :param output: Path prefix of the ``.json``, ``.md`` and ``.rst`` files, or a folder (existing, or ending with
        ``/``) to write ``policies.json`` ... in; ``None`` to write nothing. Checked writable before the first run
    :param command: The command line to record
    :param num_threads: Torch threads of each run
    :return: The report
    :raises ~sb3_gtr.benchmarks.arguments.BadArgument: For an argument no run could use (an ``output`` that cannot be
        written included), naming its flag
    """
    unknown = sorted(set(benchmarks) - set(BENCHMARKS))
    if unknown:
        raise BadArgument(f"--benchmarks: unknown {unknown}, choose among {sorted(BENCHMARKS)}")
    repeated = sorted({name for name in benchmarks if list(benchmarks).count(name) > 1})
    if repeated:
        raise BadArgument(f"--benchmarks: {repeated} given more than once; each benchmark is run once")
    check_count("--repeats", repeats)
    check_count("--num-threads", num_threads)
    if timesteps is not None:  # 0 used to fall back to the default budget silently
        check_count("--timesteps", timesteps)
    if not is_int(seed) or not 0 <= seed <= MAX_SEED:
        raise BadArgument(f"--seed must be an integer in [0, {MAX_SEED}], got {seed!r}")
    # Before the first run: an output that cannot be written would lose every run, found only at the end.
    prefix = None if output is None else output_prefix(output, "policies")
    report: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command or " ".join(["python -m sb3_gtr.benchmarks.policies", *sys.argv[1:]]),
        "machine": machine_info(),
        "repeats": repeats,
        "seed": seed,
        "num_threads": num_threads,
        "runs": [],
        "summary": [],
    }
    for benchmark in benchmarks:
        _, default_timesteps, methods = BENCHMARKS[benchmark]
        runs = []
        for _ in range(repeats):
            for method in methods:
                budget = default_timesteps if timesteps is None else timesteps
                config = {
                    "benchmark": benchmark,
                    "method": method,
                    "seed": seed,
                    "timesteps": budget,
                    "num_threads": num_threads,
                }
                # In a fresh interpreter, stopped with this process on Ctrl-C or SIGTERM.
                runs.append(run_in_worker(run_single, config))
                print(f"{benchmark:<10} {methods[method].label:<40} {runs[-1]['steps_per_s']:8.0f} steps/s", flush=True)
        report["runs"] += runs
        report["summary"] += summarize(runs, benchmark)
    if prefix is not None:
        pathlib.Path(f"{prefix}.json").write_text(json.dumps(report, indent=2) + "\n")
        pathlib.Path(f"{prefix}.md").write_text(to_markdown(report))
        pathlib.Path(f"{prefix}.rst").write_text(to_rst(report))
    return report


def main(argv: Optional[Sequence[str]] = None) -> dict[str, Any]:
    """
    Command-line entry point: a bad argument exits with status 2 and a one-line ``error: --flag ...`` before the first
    run; Ctrl-C (or ``SIGTERM``) stops the run in progress and exits with status 130 (143), printing one line.

    :param argv: The arguments (default: ``sys.argv[1:]``)
    :return: The report of :func:`run_benchmarks`
    """
    parser = argparse.ArgumentParser(
        prog="python -m sb3_gtr.benchmarks.policies",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--benchmarks", nargs="+", default=list(BENCHMARKS), choices=list(BENCHMARKS))
    parser.add_argument("--repeats", type=positive_int, default=3, help="Runs per method")
    parser.add_argument("--seed", type=seed_argument, default=0)
    parser.add_argument("--timesteps", type=positive_int, default=None, help="Override every benchmark's budget")
    parser.add_argument(
        "--output",
        default="docs/benchmarks/policies",
        help="Path prefix of the result files, or a folder to write policies.json ... in",
    )
    parser.add_argument("--num-threads", type=positive_int, default=NUM_THREADS, help=NUM_THREADS_HELP)
    args = parser.parse_args(argv)
    with timing_command_errors(parser):
        return run_benchmarks(
            args.benchmarks, args.repeats, args.seed, args.timesteps, args.output, num_threads=args.num_threads
        )


if __name__ == "__main__":
    main()
