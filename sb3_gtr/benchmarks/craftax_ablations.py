"""
The paper's Craftax ablations (Sections 5.2 and 5.4) as a benchmark: PPO, SPO and GTR at 4, 8 and 12 epochs per
rollout (the update-to-data ratio), and at PPO's clip range 0.2 against relaxed clipping (0.5, and no clipping), on a
Craftax id (the ``craftax`` extra) with a zoo entry's settings: the CPU files (``--scale cpu``,
``hyperparams/<algo>_craftax_cpu.yml``) or the paper's (``--scale paper``, a GPU workload).

Each cell (``<method>-<variant>``) and seed is one job in its own folder, run by the benchmarks' job runner (worker
processes or Ray, resumed from the ``done`` markers). A job logs every rollout's values to ``progress.csv``, the
achievement rates and Crafter score of :class:`~sb3_gtr.craftax.callbacks.CraftaxAchievementCallback` among them.
``report`` scores each job by its Crafter score and episode return over the last tenth of its rollouts, and writes
the median and range over seeds per cell, with the curves, to ``<output>.{json,rst,png}``.

Usage::

    python -m sb3_gtr.benchmarks.craftax_ablations run --axis epochs --seeds 0 1 2 --jobs 2
    python -m sb3_gtr.benchmarks.craftax_ablations report --axis epochs
"""

import argparse
import csv
import json
import pathlib
import shlex
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any, Optional

from sb3_gtr.benchmarks.arguments import (
    NUM_THREADS,
    BadArgument,
    add_dispatch_arguments,
    check_dispatch,
    check_seeds,
    dispatcher_of,
    error_text,
    positive_int,
    prepare_output_dir,
)
from sb3_gtr.benchmarks.jobs import check_resume, job_dir, run_in_job_folder
from sb3_gtr.benchmarks.methods import resolve_methods
from sb3_gtr.benchmarks.reports import fixed, rst_simple_table
from sb3_gtr.benchmarks.runner import machine_info, progress_file_callback, read_done, run_jobs

HYPERPARAMS_DIR = pathlib.Path(__file__).resolve().parents[1] / "hyperparams"
RESULTS_DIR = pathlib.Path("results") / "craftax_ablations"
DOCS_PREFIX = pathlib.Path(__file__).resolve().parents[2] / "docs" / "benchmarks" / "craftax_ablation"
ALGOS = {"gtr_ppo_recurrent": "RecurrentGTRPPO", "gtr_ppo": "GTRPPO"}
SCALES = ("cpu", "paper")
METHODS = ("ppo", "spo", "gtr")
#: The axes of the paper's Craftax ablations: their variants' GTRPPO arguments.
AXES: dict[str, dict[str, dict[str, Any]]] = {
    "epochs": {f"e{n}": {"n_epochs": n} for n in (4, 8, 12)},
    "clip": {"clip0.2": {"clip_range": 0.2}, "clip0.5": {"clip_range": 0.5}, "noclip": {"clip_surrogate": False}},
}
#: The share of a job's last rollouts its final scores average over.
FINAL_SHARE = 0.1


def hyperparams_path(algo: str, scale: str) -> pathlib.Path:
    """:return: The zoo file of ``algo`` at ``scale``: the CPU file or the paper's"""
    return HYPERPARAMS_DIR / (f"{algo}_craftax_cpu.yml" if scale == "cpu" else f"{algo}.yml")


def entry_settings(env_id: str, algo: str, scale: str) -> dict[str, Any]:
    """:return: The zoo entry of ``env_id`` for ``algo`` at ``scale`` (``policy``, ``n_envs``, ``n_timesteps`` included)"""
    from sb3_gtr.demo import read_hyperparams

    return read_hyperparams(env_id, path=str(hyperparams_path(algo, scale)), ignore=("callback",))


def job_configs(
    axis: str, env_id: str, algo: str, scale: str, seeds: Sequence[int], output_dir: pathlib.Path,
    variants: Optional[Sequence[str]] = None, methods: Sequence[str] = METHODS, timesteps: Optional[int] = None,
    n_envs: Optional[int] = None, num_threads: int = NUM_THREADS,
) -> list[dict[str, Any]]:  # fmt: skip
    """
    The jobs of an axis, seed-major (a partial run has every cell on its first seeds), checked before any runs.

    :raises BadArgument: For an unknown axis, variant, method, algorithm or scale, or an id without an entry
    """
    if axis not in AXES:
        raise BadArgument(f"--axis: unknown axis {axis!r}; axes: {', '.join(AXES)}")
    if algo not in ALGOS:
        raise BadArgument(f"--algo: unknown algorithm {algo!r}; algorithms: {', '.join(ALGOS)}")
    if scale not in SCALES:
        raise BadArgument(f"--scale: unknown scale {scale!r}; scales: {', '.join(SCALES)}")
    variants = list(AXES[axis]) if variants is None else list(variants)
    for name in variants:
        if name not in AXES[axis]:
            raise BadArgument(f"--variants: {name!r} is not a variant of axis {axis!r}; variants: {', '.join(AXES[axis])}")
    resolved = resolve_methods(list(methods))
    try:
        entry = entry_settings(env_id, algo, scale)
    except ValueError as error:
        raise BadArgument(f"--env: {error}") from None
    n_envs = int(entry["n_envs"]) if n_envs is None else n_envs
    # The entry's minibatches per epoch, kept when --n-envs changes the rollout size
    minibatches = max(int(entry["n_steps"]) * int(entry["n_envs"]) // int(entry["batch_size"]), 1)
    algo_kwargs = {key: value for key, value in entry.items() if key not in ("n_envs", "n_timesteps", "policy", "normalize")}
    algo_kwargs["batch_size"] = max(int(entry["n_steps"]) * n_envs // minibatches, 1)
    configs = []
    for seed in check_seeds(seeds):
        for variant in variants:
            for method in methods:
                name = f"{method}-{variant}"
                configs.append(
                    {
                        "env_id": env_id,
                        "algo": algo,
                        "scale": scale,
                        "policy": entry["policy"],
                        "algo_kwargs": algo_kwargs,
                        "method": name,
                        "method_kwargs": {**resolved[method], **AXES[axis][variant]},
                        "n_envs": n_envs,
                        "timesteps": int(entry["n_timesteps"]) if timesteps is None else timesteps,
                        "seed": seed,
                        "job_dir": str(job_dir(output_dir, name, seed)),
                        "num_threads": num_threads,
                    }
                )
    return configs


def run_craftax_job(config: dict[str, Any], keep_done: bool = False) -> dict[str, Any]:
    """
    Train one cell with one seed on Craftax; meant to run in its own process (see
    :func:`sb3_gtr.benchmarks.jobs.run_in_job_folder`: lock, ``progress``, ``progress.csv``, ``done`` last,
    ``error.txt`` on an error).
    """
    import torch as th
    from stable_baselines3.common.logger import configure

    import sb3_gtr
    from sb3_gtr.craftax import CraftaxAchievementCallback, make_craftax_vec_env

    th.set_num_threads(int(config.get("num_threads", NUM_THREADS)))

    def train(directory: pathlib.Path) -> tuple[Any, float]:
        env = make_craftax_vec_env(config["env_id"].split("/")[-1], config["n_envs"], seed=config["seed"])
        algorithm = getattr(sb3_gtr, ALGOS[config["algo"]])
        kwargs = {**config["algo_kwargs"], **config["method_kwargs"]}
        model = algorithm(config["policy"], env, seed=config["seed"], device="cpu", **kwargs)
        model.set_logger(configure(str(directory), ["csv"]))
        start = time.perf_counter()
        model.learn(config["timesteps"], callback=[CraftaxAchievementCallback(), progress_file_callback(directory)])
        wall_time = time.perf_counter() - start
        model.logger.close()
        env.close()
        return model, wall_time

    return run_in_job_folder(config, keep_done, train)


def run_axis(
    axis: str, env_id: str = "sb3_gtr/Craftax-Classic-Symbolic-v1", algo: str = "gtr_ppo_recurrent", scale: str = "cpu",
    seeds: Sequence[int] = (0, 1, 2), jobs: int = 1, results_dir: pathlib.Path = RESULTS_DIR,
    dispatch: str = "processes", address: Optional[str] = None, verbose: bool = True, **kwargs: Any,
) -> dict[str, list[str]]:  # fmt: skip
    """Run an axis' jobs, skipping the finished ones; ``kwargs`` go to :func:`job_configs`."""
    check_dispatch(dispatch, address)
    output_dir = prepare_output_dir(pathlib.Path(results_dir) / axis / env_id.split("/")[-1])
    configs = job_configs(axis, env_id, algo, scale, seeds, output_dir, **kwargs)
    pending = [config for config in configs if not check_resume(pathlib.Path(config["job_dir"]), config)]
    if verbose:
        print(f"{len(pending)} job(s) to run, {len(configs) - len(pending)} already done, in {output_dir}", flush=True)
    return run_jobs(
        run_craftax_job,
        pending,
        jobs,
        configs[0]["timesteps"],
        len(configs) - len(pending),
        verbose,
        dispatcher=dispatcher_of(dispatch, address, jobs),
    )


def read_curve(directory: pathlib.Path) -> dict[str, list[float]]:
    """:return: A finished job's ``time/total_timesteps``, ``craftax/score`` and ``rollout/ep_rew_mean`` per rollout"""
    keys = {"steps": "time/total_timesteps", "score": "craftax/score", "return": "rollout/ep_rew_mean"}
    curve: dict[str, list[float]] = {name: [] for name in keys}
    with open(directory / "progress.csv", newline="") as file:
        for row in csv.DictReader(file):
            if row.get(keys["steps"]):
                for name, key in keys.items():
                    curve[name].append(float(row[key]) if row.get(key) else float("nan"))
    return curve


def final_value(values: Sequence[float]) -> float:
    """:return: The mean over the last :data:`FINAL_SHARE` of a curve's values that are not NaN (NaN if none)"""
    present = [value for value in values if value == value]
    if not present:
        return float("nan")
    tail = present[-max(1, round(len(present) * FINAL_SHARE)) :]
    return sum(tail) / len(tail)


def axis_report(axis: str, env_id: str, results_dir: pathlib.Path = RESULTS_DIR) -> dict[str, Any]:
    """:return: Per cell with a finished job: its seeds, final scores and returns, their median and range, the curves"""
    base = pathlib.Path(results_dir) / axis / env_id.split("/")[-1]
    cells = {}
    for variant in AXES[axis]:
        for method in METHODS:
            name = f"{method}-{variant}"
            runs = {}
            for directory in sorted((base / name).glob("seed_*")):
                done = read_done(directory)
                if done is not None:
                    curve = read_curve(directory)
                    runs[int(directory.name[len("seed_") :])] = {
                        "score": final_value(curve["score"]),
                        "return": final_value(curve["return"]),
                        "wall_time_s": done["wall_time_s"],
                        "curve": curve,
                    }
            if runs:
                summary = {}
                for key in ("score", "return"):
                    values = [run[key] for run in runs.values() if run[key] == run[key]]
                    summary[key] = (
                        {"median": statistics.median(values), "min": min(values), "max": max(values)} if values else None
                    )
                cells[name] = {"method": method, "variant": variant, "runs": runs, **summary}
    return {"axis": axis, "env_id": env_id, "cells": cells, "machine": machine_info()}


def _range(summary: Optional[dict[str, float]], digits: int) -> str:
    if summary is None:
        return "n/a"
    return f"{fixed(summary['median'], digits)} [{fixed(summary['min'], digits)}, {fixed(summary['max'], digits)}]"


def rst_lines(report: dict[str, Any]) -> list[str]:
    """:return: The report's table: per cell, seeds, final Crafter score and episode return (median [min, max])"""
    rows = [
        (name, str(len(cell["runs"])), _range(cell["score"], 2), _range(cell["return"], 2),
         fixed(statistics.median(run["wall_time_s"] for run in cell["runs"].values()) / 60, 1))
        for name, cell in report["cells"].items()
    ]  # fmt: skip
    header = ("cell", "seeds", "Crafter score", "episode return", "minutes per run")
    return rst_simple_table(header, rows)


def plot(report: dict[str, Any], path: pathlib.Path) -> None:
    """The Crafter score against steps, the median over seeds of every cell, one panel per variant."""
    import numpy as np

    from sb3_gtr.continual.plotting import agg_figure

    variants = list(dict.fromkeys(cell["variant"] for cell in report["cells"].values()))
    with agg_figure(path, (4.5 * len(variants), 3.5)) as figure:
        for index, variant in enumerate(variants):
            ax = figure.add_subplot(1, len(variants), index + 1)
            for cell in report["cells"].values():
                if cell["variant"] != variant:
                    continue
                curves = [run["curve"] for run in cell["runs"].values()]
                length = min(len(curve["steps"]) for curve in curves)
                scores = np.nanmedian(np.array([curve["score"][:length] for curve in curves], dtype=float), axis=0)
                ax.plot(curves[0]["steps"][:length], scores, label=cell["method"])
            ax.set_title(f"{report['env_id'].split('/')[-1]}, {variant}")
            ax.set_xlabel("steps")
            ax.set_ylabel("Crafter score (%)")
            ax.legend()


def write_report(report: dict[str, Any], prefix: pathlib.Path) -> None:
    """Write ``<prefix>.json``, ``<prefix>.rst`` (the table) and ``<prefix>.png`` (the curves)."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    prefix.with_suffix(".json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    prefix.with_suffix(".rst").write_text("\n".join(rst_lines(report)) + "\n")
    if report["cells"]:
        plot(report, prefix.with_suffix(".png"))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sb3_gtr.benchmarks.craftax_ablations", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="train the axis' cells (finished jobs are skipped)")
    report = commands.add_parser("report", help="write the axis' table and plot")
    for command in (run, report):
        command.add_argument("--axis", required=True, choices=list(AXES))
        command.add_argument("--env", default="sb3_gtr/Craftax-Classic-Symbolic-v1")
        command.add_argument("--results-dir", type=pathlib.Path, default=RESULTS_DIR)
    run.add_argument("--algo", default="gtr_ppo_recurrent", choices=list(ALGOS))
    run.add_argument("--scale", default="cpu", choices=SCALES, help="the CPU file's settings or the paper's")
    run.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    run.add_argument("--variants", nargs="+", help="the variants to run (default: all)")
    run.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    run.add_argument("--timesteps", type=positive_int, help="steps per job (default: the entry's n_timesteps)")
    run.add_argument("--n-envs", type=positive_int, help="environments (default: the entry's)")
    run.add_argument("--jobs", type=positive_int, default=1)
    run.add_argument("--num-threads", type=positive_int, default=NUM_THREADS)
    run.add_argument("--quiet", action="store_true")
    add_dispatch_arguments(run)
    report.add_argument("--output", type=pathlib.Path, help="output prefix (default: docs/benchmarks/craftax_ablation_<axis>)")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            outcome = run_axis(
                args.axis, args.env, args.algo, args.scale, args.seeds, args.jobs, args.results_dir, args.dispatch,
                args.address, not args.quiet, variants=args.variants, methods=args.methods, timesteps=args.timesteps,
                n_envs=args.n_envs, num_threads=args.num_threads,
            )  # fmt: skip
            return 1 if outcome["failed"] else 0
        result = axis_report(args.axis, args.env, args.results_dir)
        result["command"] = " ".join(["python -m sb3_gtr.benchmarks.craftax_ablations", *map(shlex.quote, sys.argv[1:])])
        prefix = args.output or DOCS_PREFIX.with_name(f"{DOCS_PREFIX.name}_{args.axis}")
        write_report(result, prefix)
        print("\n".join(rst_lines(result)))
        return 0
    except BadArgument as error:
        print(error_text(error), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
