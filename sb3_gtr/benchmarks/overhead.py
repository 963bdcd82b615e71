"""
Wall-time overhead of ``GTRPPO`` over Stable-Baselines3's ``PPO``.

Every method is trained on the same configuration (default ``MlpPolicy`` and hyperparameters,
same seed, CPU, one torch thread unless ``--num-threads`` says otherwise), each run in a fresh
interpreter so that no run inherits another's warm caches, and the methods are run in alternation
(PPO, GTRPPO, GTRPPO without mixture, PPO, ...) so that slow drifts of a shared machine hit them
alike. Per run it records the wall time of ``learn()``, the time spent inside ``model.train()``
and, for GTRPPO, inside ``_store_snapshot``; it then writes the raw numbers to ``<output>.json``
and a summary table to ``<output>.md`` and ``<output>.rst``.

Usage::

    python -m sb3_gtr.benchmarks.overhead --env HalfCheetah-v5 --timesteps 20480 --repeats 3 \\
        --output docs/benchmarks/overhead
"""

import argparse
import datetime
import json
import pathlib
import shlex
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Optional

from sb3_gtr.benchmarks.arguments import (
    MAX_SEED,
    NUM_THREADS,
    NUM_THREADS_HELP,
    BadArgument,
    check_count,
    error_text,
    output_prefix,
    positive_int,
    seed_argument,
    timing_command_errors,
)
from sb3_gtr.benchmarks.methods import OVERHEAD_METHODS
from sb3_gtr.benchmarks.reports import fixed, markdown_table, rst_grid_table
from sb3_gtr.benchmarks.runner import load_average, machine_info, run_in_worker
from sb3_gtr.common.checks import is_int

#: The method every ratio is taken against (of :data:`~sb3_gtr.benchmarks.methods.OVERHEAD_METHODS`, the methods timed,
#: in the order of the rotation).
BASELINE = "ppo"
#: The method the target applies to, and the target itself (issue: "at most 1.10x PPO's total wall time").
TARGET_METHOD = "gtr"
TARGET_RATIO = 1.10


def _timed(method: Callable[..., Any], totals: dict[str, Any], key: str) -> Callable[..., Any]:
    """
    Wrap a bound method so that the wall time of its calls accumulates in ``totals[key]``, their
    CPU time (of the calling thread) in ``totals[key + "_cpu"]`` and their number in ``totals["n_" + key + "_calls"]``.
    """
    totals.update({key: 0.0, f"{key}_cpu": 0.0, f"n_{key}_calls": 0})

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        cpu_start, start = time.thread_time(), time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            totals[key] += time.perf_counter() - start
            totals[f"{key}_cpu"] += time.thread_time() - cpu_start
            totals[f"n_{key}_calls"] += 1

    return wrapper


def run_single(config: dict[str, Any]) -> dict[str, Any]:
    """
    Train one model and time it; meant to run in a fresh subprocess.

    :param config: ``method`` (a key of :data:`~sb3_gtr.benchmarks.methods.OVERHEAD_METHODS`), ``env``, ``timesteps``,
        ``seed``, ``n_steps``, ``batch_size`` and optionally ``num_threads`` (default
        :data:`~sb3_gtr.benchmarks.arguments.NUM_THREADS`, for stable timings)
    :return: The timings in seconds: ``total_s`` (``learn()``), ``train_s`` (inside ``train()``),
        ``snapshot_s`` (inside ``_store_snapshot``, ``None`` for PPO), ``rollout_s`` (the rest),
        the CPU times ``cpu_s`` (process, during ``learn()``), ``train_cpu_s`` and ``snapshot_cpu_s``
        (main thread; with one torch thread and in-process environments it does all the work), and the call counts
    """
    import torch as th

    from sb3_gtr import GTRPPO

    th.set_num_threads(int(config.get("num_threads", NUM_THREADS)))
    model = OVERHEAD_METHODS[config["method"]].make(
        config["env"], n_steps=config["n_steps"], batch_size=config["batch_size"], seed=config["seed"], device="cpu", verbose=0
    )
    timings: dict[str, Any] = {}
    # Instance attributes shadow the methods, and the update loop calls them through `self`.
    model.train = _timed(model.train, timings, "train")  # type: ignore[method-assign]
    if isinstance(model, GTRPPO):
        model._store_snapshot = _timed(model._store_snapshot, timings, "snapshot")  # type: ignore[method-assign]
    else:
        timings.update(snapshot=None, snapshot_cpu=None, n_snapshot_calls=0)

    cpu_start, start = time.process_time(), time.perf_counter()
    model.learn(total_timesteps=config["timesteps"])
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "method": config["method"],
        "total_s": total,
        "train_s": timings["train"],
        "snapshot_s": timings["snapshot"],
        "rollout_s": total - timings["train"],
        "cpu_s": cpu,
        "train_cpu_s": timings["train_cpu"],
        "snapshot_cpu_s": timings["snapshot_cpu"],
        "n_train_calls": timings["n_train_calls"],
        "n_snapshot_calls": timings["n_snapshot_calls"],
        "num_timesteps": model.num_timesteps,
        "torch_threads": th.get_num_threads(),
    }


def summarize(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """
    Per method: the medians of the timings and the medians of the per-pair ratios over the baseline.

    Pair ``i`` is the ``i``-th run of each method; they were run next to each other in the rotation.

    :param runs: The per-run results of :func:`run_single`, in any order
    :return: ``{method: {"label", "n_runs", "total_s", "train_s", "snapshot_s", "total_ratio", "train_ratio",
        "rollout_ratio", "cpu_ratio", "train_cpu_ratio"}}``
    """
    by_method = {method: [run for run in runs if run["method"] == method] for method in OVERHEAD_METHODS}
    baseline = by_method[BASELINE]
    summary = {}
    for method, method_runs in by_method.items():
        if not method_runs:
            continue
        pairs = list(zip(method_runs, baseline, strict=False))
        snapshots = [run["snapshot_s"] for run in method_runs if run["snapshot_s"] is not None]
        summary[method] = {
            "label": OVERHEAD_METHODS[method].label,
            "n_runs": len(method_runs),
            "total_s": statistics.median(run["total_s"] for run in method_runs),
            "train_s": statistics.median(run["train_s"] for run in method_runs),
            "snapshot_s": statistics.median(snapshots) if snapshots else None,
            "total_ratio": statistics.median(run["total_s"] / base["total_s"] for run, base in pairs) if pairs else None,
            "train_ratio": statistics.median(run["train_s"] / base["train_s"] for run, base in pairs) if pairs else None,
            "rollout_ratio": (
                statistics.median(run["rollout_s"] / base["rollout_s"] for run, base in pairs) if pairs else None
            ),
            "cpu_ratio": statistics.median(run["cpu_s"] / base["cpu_s"] for run, base in pairs) if pairs else None,
            "train_cpu_ratio": (
                statistics.median(run["train_cpu_s"] / base["train_cpu_s"] for run, base in pairs) if pairs else None
            ),
        }
    return summary


def _table_rows(summary: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    def seconds(value: Optional[float]) -> str:
        return fixed(value, 2)

    def ratio(value: Optional[float]) -> str:
        return fixed(value, 3)

    header = [
        "method",
        "runs",
        "median total (s)",
        "median train (s)",
        "median snapshot (s)",
        "total / PPO",
        "train / PPO",
        "rollout / PPO",
        "CPU total / PPO",
    ]
    rows = [
        [
            entry["label"],
            str(entry["n_runs"]),
            seconds(entry["total_s"]),
            seconds(entry["train_s"]),
            seconds(entry["snapshot_s"]),
            ratio(entry["total_ratio"]),
            ratio(entry["train_ratio"]),
            ratio(entry["rollout_ratio"]),
            ratio(entry["cpu_ratio"]),
        ]
        for entry in summary.values()
    ]
    return header, rows


def _description(report: dict[str, Any], code: str) -> list[str]:
    """The sentences around the table; ``code`` wraps inline code (backticks in Markdown, double in reST)."""
    config, info = report["config"], report["machine"]
    summary = report["summary"]
    lines = [
        f"{code}learn(){code} of each method on {code}{config['env']}{code} for {config['timesteps']} timesteps "
        f"(default {code}MlpPolicy{code} and hyperparameters, n_steps={config['n_steps']}, "
        f"batch_size={config['batch_size']}, n_epochs=10, seed {config['seed']}), device cpu, "
        f"{code}torch.set_num_threads({config.get('torch_threads', NUM_THREADS)}){code} in each run, "
        f"{config['repeats']} run(s) per method, each in a fresh subprocess, the methods alternating "
        f"({', '.join(method.label for method in OVERHEAD_METHODS.values())}, ...).",
        "",
        f"Times are medians over the runs; the ratios are medians of the per-pair ratios over PPO "
        f"(pair i = the i-th run of each method, run next to each other). "
        f"Train = time inside {code}train(){code}, snapshot = time inside {code}_store_snapshot{code} "
        f"(part of train), rollout = total - train (environment steps and action sampling: the same code "
        f"for every method, so its ratio to PPO measures the timing noise). Total, train and rollout are wall "
        f"times; CPU total is the process CPU time of {code}learn(){code}, less sensitive to other load.",
        "",
        f"Machine: {info['platform']}, {info['cpu_count']} CPUs, Python {info['python']}, torch {info['torch']}, "
        f"stable-baselines3 {info['stable_baselines3']}; measured {report['date']}.",
    ]
    loads = [run["load_average"][0] for run in report["runs"] if run.get("load_average")]
    if loads:
        lines[-1] += (
            f" 1-minute load average after each run: {min(loads):.1f} to {max(loads):.1f} "
            f"(on {info['cpu_count']} CPUs; other jobs shared the machine when it exceeds 1)."
        )
    if TARGET_METHOD in summary and summary[TARGET_METHOD]["total_ratio"] is not None:
        measured = summary[TARGET_METHOD]["total_ratio"]
        verdict = "met" if measured <= TARGET_RATIO else "NOT met"
        lines += [
            "",
            f"Target: {OVERHEAD_METHODS[TARGET_METHOD].label} total wall time at most {TARGET_RATIO:.2f}x PPO's: "
            f"{verdict} (median ratio {measured:.3f}).",
        ]
    return lines


def to_markdown(report: dict[str, Any]) -> str:
    """
    The summary of a report as plain Markdown (a few sentences and a table, no heading).

    :param report: A report of :func:`run_benchmark`
    :return: The Markdown text
    """
    header, rows = _table_rows(report["summary"])
    return "\n".join([*_description(report, "`"), "", *markdown_table(header, rows)]) + "\n"


def to_rst(report: dict[str, Any]) -> str:
    """
    The summary of a report as reStructuredText (a few sentences and a grid table, no heading),
    to be pulled into a Sphinx page with ``.. include::``.

    :param report: A report of :func:`run_benchmark`
    :return: The reStructuredText
    """
    header, rows = _table_rows(report["summary"])
    return "\n".join([*_description(report, "``"), "", *rst_grid_table(header, rows)]) + "\n"


def check_arguments(
    env_id: str, timesteps: int, repeats: int, seed: int, n_steps: int, batch_size: int, num_threads: int
) -> None:
    """
    Check the arguments of :func:`run_benchmark` before the first run, building the environment once (a minibatch
    must fit in the rollout: ``batch_size <= n_steps``), and warn when ``timesteps`` is below one rollout
    (``learn()`` collects a whole rollout of ``n_steps`` anyway, so the timings would not cover ``timesteps`` steps).

    :raises ~sb3_gtr.benchmarks.arguments.BadArgument: For an argument no run could use, naming its flag
    """
    import gymnasium

    check_count("--timesteps", timesteps)
    check_count("--repeats", repeats)
    check_count("--num-threads", num_threads)
    if not is_int(seed) or not 0 <= seed <= MAX_SEED:
        raise BadArgument(f"--seed must be an integer in [0, {MAX_SEED}], got {seed!r}")
    # PPO normalises advantages per minibatch: a buffer or minibatch of one sample has no spread to normalise by.
    for flag, value in (("--n-steps", n_steps), ("--batch-size", batch_size)):
        if not is_int(value) or value < 2:
            raise BadArgument(f"{flag} must be an integer >= 2 (advantages are normalised per minibatch), got {value!r}")
    if batch_size > n_steps:
        # The minibatch would silently be the whole rollout: the runs would time another batch size than recorded.
        raise BadArgument(
            f"--batch-size {batch_size} is larger than the rollout it is drawn from (--n-steps {n_steps} steps, one env): "
            "give --batch-size <= --n-steps"
        )
    try:
        gymnasium.make(env_id).close()
    except Exception as error:
        raise BadArgument(f"--env {env_id!r}: cannot make it: {error_text(error)}") from error
    if timesteps < n_steps:
        warnings.warn(
            f"--timesteps {timesteps} is less than one rollout (n_steps = {n_steps}): learn() still collects and trains "
            f"on {n_steps} steps, so every run times {n_steps} steps",
            UserWarning,
            stacklevel=3,
        )


def run_benchmark(
    env_id: str = "HalfCheetah-v5",
    timesteps: int = 20480,
    repeats: int = 3,
    seed: int = 0,
    n_steps: int = 2048,
    batch_size: int = 64,
    output: Optional[str] = "docs/benchmarks/overhead",
    command: Optional[str] = None,
    verbose: bool = True,
    num_threads: int = NUM_THREADS,
) -> dict[str, Any]:
    """
    Time every method of :data:`~sb3_gtr.benchmarks.methods.OVERHEAD_METHODS` ``repeats`` times, in alternation, each
    run in a fresh subprocess. Every argument is checked, and the environment built once, before the first run.

    :param env_id: Gymnasium environment id
    :param timesteps: ``total_timesteps`` of each ``learn()``
    :param repeats: Number of runs per method
    :param seed: Seed of every run
    :param n_steps: Rollout length (SB3's default: 2048)
    :param batch_size: Minibatch size (SB3's default: 64)
    :param output: Path prefix of the ``.json``, ``.md`` and ``.rst`` files, or a folder (existing, or ending with
        ``/``) to write ``overhead.json`` ... in; ``None`` to write nothing. Checked writable before the first run
    :param command: The command line to record (default: the current one)
    :param verbose: Print each run's timings as it finishes
    :param num_threads: Torch threads of each run
    :return: The report: ``date``, ``command``, ``machine``, ``config``, ``runs`` and ``summary``
    :raises ~sb3_gtr.benchmarks.arguments.BadArgument: For an argument no run could use (an ``output`` that cannot be
        written included), naming its flag
    """
    check_arguments(env_id, timesteps, repeats, seed, n_steps, batch_size, num_threads)
    # Before the first run: an output that cannot be written would lose every run, found only at the end.
    prefix = None if output is None else output_prefix(output, "overhead")
    config = {
        "env": env_id,
        "timesteps": timesteps,
        "repeats": repeats,
        "seed": seed,
        "n_steps": n_steps,
        "batch_size": batch_size,
        "device": "cpu",
        "torch_threads": num_threads,
        "order": list(OVERHEAD_METHODS),
    }
    if command is None:
        command = f"run_benchmark(**{config!r})"
    report: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "machine": machine_info(),
        "config": config,
        "load_average_start": load_average(),
        "runs": [],
    }
    for repeat in range(repeats):
        for method in OVERHEAD_METHODS:
            run_config = {key: config[key] for key in ("env", "timesteps", "seed", "n_steps", "batch_size")}
            # In a fresh interpreter, stopped with this process on Ctrl-C or SIGTERM.
            result = run_in_worker(run_single, {**run_config, "method": method, "num_threads": num_threads})
            result.update(repeat=repeat, position=len(report["runs"]), load_average=load_average())
            report["runs"].append(result)
            if verbose:
                snapshot = "" if result["snapshot_s"] is None else f", snapshot {result['snapshot_s']:.2f} s"
                print(
                    f"[{repeat + 1}/{repeats}] {OVERHEAD_METHODS[method].label:<30} total {result['total_s']:7.2f} s, "
                    f"train {result['train_s']:7.2f} s{snapshot}",
                    flush=True,
                )
    report["load_average_end"] = load_average()
    report["summary"] = summarize(report["runs"])
    if prefix is not None:
        write_report(report, str(prefix))
    return report


def write_report(report: dict[str, Any], output: str) -> None:
    """
    Write a report to ``<output>.json`` (raw numbers), ``<output>.md`` and ``<output>.rst`` (summary tables).

    :param report: A report of :func:`run_benchmark`
    :param output: Path prefix of the three files
    """
    prefix = pathlib.Path(output)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(f"{prefix}.json").write_text(json.dumps(report, indent=2) + "\n")
    pathlib.Path(f"{prefix}.md").write_text(to_markdown(report))
    pathlib.Path(f"{prefix}.rst").write_text(to_rst(report))


def render(json_path: str, output: Optional[str] = None) -> dict[str, Any]:
    """
    Recompute the summary of a saved report from its raw runs and rewrite its tables, without running anything.

    :param json_path: A ``.json`` file written by :func:`run_benchmark`
    :param output: Path prefix of the files to write, or a folder as for :func:`run_benchmark` (default: ``json_path``
        without its suffix)
    :return: The report
    :raises ~sb3_gtr.benchmarks.arguments.BadArgument: If ``output`` cannot be written
    """
    prefix = str(pathlib.Path(json_path).with_suffix("")) if output is None else str(output_prefix(output, "overhead"))
    report = json.loads(pathlib.Path(json_path).read_text())
    report["summary"] = summarize(report["runs"])
    write_report(report, prefix)
    return report


def main(argv: Optional[Sequence[str]] = None) -> dict[str, Any]:
    """
    Command-line entry point.

    :param argv: The arguments (default: ``sys.argv[1:]``)
    :return: The report of :func:`run_benchmark`
    """
    parser = argparse.ArgumentParser(prog="python -m sb3_gtr.benchmarks.overhead", description=__doc__.strip().splitlines()[0])
    parser.add_argument("--env", default="HalfCheetah-v5", help="Gymnasium environment id")
    parser.add_argument("--timesteps", type=positive_int, default=20480, help="total_timesteps of each learn()")
    parser.add_argument("--repeats", type=positive_int, default=3, help="number of runs per method")
    parser.add_argument("--seed", type=seed_argument, default=0, help="seed of every run")
    parser.add_argument("--n-steps", type=positive_int, default=2048, help="rollout length (SB3 default 2048)")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="minibatch size (SB3 default 64)")
    parser.add_argument("--num-threads", type=positive_int, default=NUM_THREADS, help=NUM_THREADS_HELP)
    parser.add_argument(
        "--output",
        default=None,
        help="path prefix of the .json/.md/.rst files, or a folder to write overhead.json ... in (default: "
        "docs/benchmarks/overhead)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not print each run")
    parser.add_argument(
        "--render", metavar="JSON", help="only rewrite the tables of a saved report (to --output if given) and exit"
    )
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if args.render is not None:
        try:
            report = render(args.render, args.output)
        except BadArgument as error:
            parser.error(str(error))
        except (OSError, ValueError, KeyError) as error:
            parser.error(f"--render {args.render}: cannot read a saved report from it: {error_text(error)}")
        if not args.quiet:
            print(to_markdown(report), end="")
        return report
    command = shlex.join(["python", "-m", "sb3_gtr.benchmarks.overhead", *argv])
    with timing_command_errors(parser):
        report = run_benchmark(
            env_id=args.env,
            timesteps=args.timesteps,
            repeats=args.repeats,
            seed=args.seed,
            n_steps=args.n_steps,
            batch_size=args.batch_size,
            output="docs/benchmarks/overhead" if args.output is None else args.output,
            command=command,
            verbose=not args.quiet,
            num_threads=args.num_threads,
        )
    if not args.quiet:
        print()
        print(to_markdown(report), end="")
    return report


if __name__ == "__main__":
    main()
