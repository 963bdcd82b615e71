"""
Continual-learning benchmark: PPO, PPO with a KL penalty, SPO and GTR on a named task suite, several
seeds each, one process per (method, seed) job, then one table and one plot comparing them.

Every method is a ``GTRPPO`` (``RecurrentGTRPPO`` for a recurrent policy) that differs only in its trust-region
arguments (:data:`~sb3_gtr.benchmarks.methods.CONTINUAL_METHODS`), with the same policy, hyperparameters,
environment seeds and evaluation seeds, so the comparison isolates the objective. Each job
(:func:`~sb3_gtr.benchmarks.jobs.run_job`) trains one model across the whole suite with a
:class:`~sb3_gtr.continual.callbacks.ContinualTaskCallback` and writes the callback's files (``evaluations.csv``,
``metrics.json`` ...) and a ``done`` marker into ``<output-dir>/<method>/seed_<s>/``; a rerun skips the jobs whose
marker holds the same configuration, so an interrupted benchmark resumes.

Every setting is checked before any job starts (:func:`~sb3_gtr.benchmarks.settings.job_settings`,
:func:`~sb3_gtr.benchmarks.settings.validate_jobs`: the suite's
environments and each method's model are built once in the runner), so a bad one ends the command with a line
naming its flag rather than failing in every job. While a job runs its process holds a lock on its folder, so a
second runner on the same folder leaves the job alone; Ctrl-C or ``SIGTERM`` stops every job (each runs in its
own process group) and keeps the finished ones.

When every job is done the runner normalises each task's returns by the minimum and maximum evaluation
return of that task over *all* the jobs of the run (shared by every method, so that a score of 1 means
"the best any method reached"), recomputes the metrics of every job with these references
(:func:`~sb3_gtr.benchmarks.aggregate.aggregate`), and writes, in ``<output-dir>``:

- ``results.csv`` (one row per method and metric: number of seeds, IQM, mean, standard deviation, 95% interval of
  the IQM) and ``results.md``
  (the same as a table, with the settings);
- ``per_seed.csv`` (every job's metrics) and ``results.json`` (settings, normalisation, per-seed metrics);
- ``comparison.png``: mean normalised performance over training steps per method, with its 95% band.

Cells are the interquartile mean over seeds with its stratified bootstrap interval, from ``rliable``
(:mod:`sb3_gtr.benchmarks.statistics`); no interval with a single seed. The bands of the plot are bootstrap intervals of
the mean at every step.

Usage::

    python -m sb3_gtr.benchmarks.continual --suite flip --methods ppo ppo-kl spo gtr --seeds 0 1 2 \\
        --scale 0.05 --jobs 2 --output-dir results/flip

    # a sweep over sigma: new methods derived from an existing one
    python -m sb3_gtr.benchmarks.continual --suite flip --methods gtr gtr-s0.3 \\
        --method-kwargs '{"gtr-s0.3": {"base": "gtr", "sigma": 0.3}}' --algo-kwargs '{"n_steps": 1024}'
"""

import argparse
import datetime
import json
import math
import pathlib
import shlex
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np

from sb3_gtr.benchmarks.aggregate import (
    CONFIDENCE,
    FINAL_RETURN,
    METRICS,
    NothingToAggregate,
    aggregate,
    band,
)
from sb3_gtr.benchmarks.arguments import (
    NUM_THREADS,
    BadArgument,
    add_job_arguments,
    check_count,
    check_dispatch,
    check_seeds,
    dispatcher_of,
    interrupted_message,
    job_arguments,
    json_argument,
    prepare_output_dir,
    reject_repeats,
    seed_argument,
    split_zoo_kwargs,
)
from sb3_gtr.benchmarks.jobs import RESERVED_ALGO_KWARGS, check_resume, default_output_dir, job_dir, run_job
from sb3_gtr.benchmarks.methods import CONTINUAL_METHODS, gtr_defaults, resolve_methods
from sb3_gtr.benchmarks.reports import csv_value, describe, dumps, fixed, markdown_table, without_nan, write_csv
from sb3_gtr.benchmarks.runner import LOCK_FILE, lock_holder, run_jobs
from sb3_gtr.benchmarks.settings import job_settings, validate_jobs
from sb3_gtr.continual.plotting import agg_figure
from sb3_gtr.continual.suites import SUITES
from sb3_gtr.continual.tasks import Phase

# --------------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------------


def _format(value: Optional[float], metric: str) -> str:
    return fixed(value, 0 if metric == "adaptation_speed" else 1 if metric.startswith(FINAL_RETURN) else 3)


def _cell(row: Optional[Mapping[str, Any]]) -> str:
    if row is None or row["n"] == 0:
        return "-"
    mean = _format(row["iqm"], row["metric"])
    if math.isnan(row["ci_low"]):
        return mean
    return f"{mean} [{_format(row['ci_low'], row['metric'])}, {_format(row['ci_high'], row['metric'])}]"


def write_results_csv(rows: Sequence[Mapping[str, Any]], path: Union[str, pathlib.Path]) -> None:
    """
    Write the rows of :func:`~sb3_gtr.benchmarks.aggregate.summarize` as CSV (empty cells for NaN).

    :param rows: The rows
    :param path: The CSV file
    """
    columns = ["method", "metric", "n", "iqm", "mean", "std", "ci_low", "ci_high"]
    write_csv(path, columns, ([csv_value(row[column]) for column in columns] for row in rows))


def write_per_seed_csv(per_seed: Sequence[Mapping[str, Any]], path: Union[str, pathlib.Path]) -> None:
    """
    Write every job's metrics, one row per job.

    :param per_seed: Entries with ``method``, ``seed``, ``metrics`` and ``wall_time_s``
    :param path: The CSV file
    """
    metric_names = list(dict.fromkeys(name for run in per_seed for name in run["metrics"]))
    rows = (
        [run["method"], run["seed"], *(csv_value(run["metrics"].get(name)) for name in metric_names), run["wall_time_s"]]
        for run in per_seed
    )
    write_csv(path, ["method", "seed", *metric_names, "wall_time_s"], rows)


def _description(name: str, kwargs: Mapping[str, Any]) -> str:
    """The description of a method of :data:`~sb3_gtr.benchmarks.methods.CONTINUAL_METHODS` run as defined there."""
    method = CONTINUAL_METHODS.get(name)
    return f" — {method.description}" if method is not None and dict(kwargs) == method.kwargs else ""


def to_markdown(report: Mapping[str, Any]) -> str:
    """
    The results page: the settings, the methods, the normalisation and one table (IQM [95% interval]).

    :param report: A report of :func:`run_benchmark` (``settings``, ``methods``, ``normalization``, ``rows``)
    :return: The Markdown text
    """
    settings, rows = report["settings"], report["rows"]
    task_names = report["normalization"]["tasks"]
    columns = [*METRICS, *(FINAL_RETURN + name for name in task_names)]
    labels = [*METRICS.values(), *(f"final return {name}" for name in task_names)]
    by_key = {(row["method"], row["metric"]): row for row in rows}
    percent = f"{100 * settings['confidence']:g}%"

    lines = [
        f"# Continual benchmark: {settings['suite']}",
        "",
        f"Suite `{settings['suite']}` (scale {settings['scale']:g}, {settings['total_timesteps']} steps per job, "
        f"tasks {', '.join(task_names)}), seeds {', '.join(map(str, settings['seeds']))}; policy "
        f"`{settings['policy']}` with policy_kwargs `{dumps(settings['policy_kwargs'])}`, shared hyperparameters "
        f"`{dumps(settings['algo_kwargs'])}`, {settings['n_envs']} env(s), VecNormalize "
        f"{'off' if settings['normalize_kwargs'] is None else '`' + dumps(settings['normalize_kwargs']) + '`'}; "
        f"evaluation every {settings['eval_freq']} steps, at every task switch and at the end, "
        f"{settings['n_eval_episodes']} episode(s) per task.",
        "",
        "Methods (all `GTRPPO`, differing only in these arguments; GTRPPO's defaults for the others: "
        f"`{dumps(settings['gtr_defaults'])}`):",
        "",
        *(f"- `{name}`: `{dumps(kwargs)}`{_description(name, kwargs)}" for name, kwargs in report["methods"].items()),
        "",
        "Normalisation, shared by all methods: per task, the minimum and maximum evaluation return over every "
        "evaluation of every method and seed of this run map to 0 and 1: "
        + "; ".join(
            f"{name} [{_format(low, FINAL_RETURN)}, {_format(high, FINAL_RETURN)}]"
            for name, low, high in zip(
                task_names, report["normalization"]["reference_min"], report["normalization"]["reference_max"], strict=True
            )
        )
        + ".",
        "",
        f"Cells: interquartile mean over seeds [{percent} stratified bootstrap interval, rliable]. Average performance: mean "
        "normalised performance over the tasks at the end; forgetting: performance at the end of a task's last "
        "phase minus at the end, averaged over tasks; adaptation speed: steps until a revisited task is back to "
        f"{settings['adaptation_fraction']:g} of its best earlier performance (mean over the revisits that get there); "
        "AUC: mean over training of the normalised performance of the task being trained (current task) or of all "
        "tasks. Final returns are raw.",
        "",
    ]
    table = (
        [method, str(sum(1 for run in report["per_seed"] if run["method"] == method))]
        + [_cell(by_key.get((method, column))) for column in columns]
        for method in report["methods"]
    )
    lines += markdown_table(["method", "seeds", *labels], table)
    if report.get("missing"):
        lines += ["", f"Missing (unfinished or failed) jobs: {', '.join(report['missing'])}."]
    return "\n".join(lines) + "\n"


def plot_comparison(
    curves: Mapping[str, Sequence[Mapping[str, np.ndarray]]],
    phases: Sequence[Phase],
    task_names: Sequence[str],
    path: Union[str, pathlib.Path],
    title: Optional[str] = None,
    confidence: float = CONFIDENCE,
) -> None:
    """
    Plot, per method, the mean normalised performance over training steps with its interval band: the task being
    trained (top) and the mean over all tasks (bottom); dashed lines at the task switches. Every run is
    interpolated onto the union of the evaluation steps; the bands are clipped to ``[0, 1]``.

    :param curves: Per method, the :func:`~sb3_gtr.benchmarks.aggregate.performance_curves` of each seed
    :param phases: The phases (of any run: the schedule is shared), for the task switches
    :param task_names: The task names, indexed by task id
    :param path: The image file (PNG)
    :param title: Title of the figure
    :param confidence: Confidence level of the bands
    """
    with agg_figure(path, (10, 7)) as figure:
        axes_current, axes_all = figure.subplots(2, 1, sharex=True)
        all_steps = [run["steps"] for runs in curves.values() for run in runs]
        grid = np.unique(np.concatenate(all_steps)) if all_steps else np.array([0])
        for index, (method, runs) in enumerate(curves.items()):
            color = f"C{index % 10}"
            for axes, key in ((axes_current, "current_task"), (axes_all, "all_tasks")):
                mean, low, high = band([np.interp(grid, run["steps"], run[key]) for run in runs], confidence)
                axes.plot(grid, mean, color=color, label=f"{method} (n={len(runs)})")
                # Normalised performance lies in [0, 1]: so does the band drawn (the numbers in results.csv are not clipped).
                axes.fill_between(grid, np.clip(low, 0, 1), np.clip(high, 0, 1), color=color, alpha=0.2, linewidth=0)
        for phase in phases:
            axes_current.text(
                (phase.start + phase.end) / 2,
                1.0,
                task_names[phase.task_id],
                transform=axes_current.get_xaxis_transform(),
                ha="center",
                va="bottom",
                fontsize=8,
                clip_on=False,
            )
        for axes in (axes_current, axes_all):
            for phase in phases[1:]:
                axes.axvline(phase.start, color="grey", linestyle="--", linewidth=0.8)
            axes.set_ylim(-0.05, 1.05)
        percent = f"{100 * confidence:g}%"
        axes_current.set_ylabel("normalised performance\n(task being trained)")
        axes_all.set_ylabel("normalised performance\n(mean over tasks)")
        axes_all.set_xlabel("training steps")
        axes_current.legend(loc="best", fontsize=8, title=f"mean, {percent} band")
        if title:
            figure.suptitle(title)


# --------------------------------------------------------------------------------------------------
# Runner
# --------------------------------------------------------------------------------------------------


def run_benchmark(
    suite: str,
    methods: Optional[Sequence[str]] = None,
    seeds: Sequence[int] = (0, 1, 2),
    scale: float = 1.0,
    n_cycles: Optional[int] = None,
    suite_kwargs: Optional[dict[str, Any]] = None,
    method_kwargs: Optional[dict[str, dict[str, Any]]] = None,
    algo_kwargs: Optional[dict[str, Any]] = None,
    zoo_algo_kwargs: Optional[dict[str, Any]] = None,
    policy: Optional[str] = None,
    policy_kwargs: Optional[dict[str, Any]] = None,
    n_envs: int = 1,
    normalize: Optional[bool] = None,
    normalize_kwargs: Optional[dict[str, Any]] = None,
    eval_freq: Optional[int] = None,
    n_eval_episodes: int = 5,
    device: str = "cpu",
    jobs: int = 1,
    num_threads: int = NUM_THREADS,
    dispatch: str = "ray",
    address: Optional[str] = None,
    output_dir: Optional[Union[str, pathlib.Path]] = None,
    force: bool = False,
    confidence: float = CONFIDENCE,
    command: Optional[str] = None,
    verbose: bool = True,
) -> dict[str, Any]:
    """
    Run every (method, seed) job not finished yet, then aggregate all of them into the result files.

    :param suite: A key of :data:`~sb3_gtr.continual.suites.SUITES`
    :param methods: Method names (keys of :data:`~sb3_gtr.benchmarks.methods.CONTINUAL_METHODS` or defined in
        ``method_kwargs``; ``None``: all of them)
    :param seeds: Seeds; job ``(method, seed)`` trains and evaluates on environments seeded from ``seed`` alone, so
        all methods see the same environment seeds
    :param scale: Factor on every task's step budget
    :param n_cycles: Passes over the tasks (``None``: the suite's default)
    :param suite_kwargs: Suite-specific keyword arguments (for ``flip``: environment kwargs such as
        ``max_episode_steps``)
    :param method_kwargs: Per method, overrides of its ``GTRPPO`` kwargs, or new methods (see
        :func:`~sb3_gtr.benchmarks.methods.resolve_methods`)
    :param algo_kwargs: ``GTRPPO`` hyperparameters shared by all methods (``n_steps``, ``batch_size`` ...); a key that
        a method sets itself is an error (it would silently change that method)
    :param zoo_algo_kwargs: Hyperparameters of the suite's zoo entry (``--zoo-hyperparams``): defaults that
        ``algo_kwargs`` and each method's own kwargs override (see :func:`~sb3_gtr.benchmarks.arguments.split_zoo_kwargs`)
    :param policy: Policy alias or import path (``None``: the suite's recommendation, else ``MlpPolicy``)
    :param policy_kwargs: Policy keyword arguments (``None``: the suite's recommendation when the policy is the
        suite's, else none)
    :param n_envs: Parallel environments per job
    :param normalize: Wrap the training env in ``VecNormalize``: ``None`` as the suite recommends, ``True`` always
        (with ``normalize_kwargs``, else the suite's, else VecNormalize's defaults), ``False`` never
    :param normalize_kwargs: Keyword arguments of ``VecNormalize`` (``None``: the suite's)
    :param eval_freq: Evaluate every ``eval_freq`` steps (``None``: :func:`~sb3_gtr.benchmarks.settings.default_eval_freq`,
        :data:`~sb3_gtr.benchmarks.arguments.EVALS_PER_PHASE`
        times per phase but at most once per rollout)
    :param n_eval_episodes: Evaluation episodes per task
    :param device: Torch device of every job
    :param jobs: Jobs run at the same time, each in its own process
    :param dispatch: How jobs run: ``"ray"`` (Ray tasks, see :mod:`~sb3_gtr.benchmarks.ray_dispatch`) or
        ``"processes"`` (this machine's worker processes, without Ray)
    :param address: Address of a Ray cluster (``None``: a local Ray started for the run)
    :param num_threads: Torch threads of each job (see :data:`~sb3_gtr.benchmarks.arguments.NUM_THREADS` for why one)
    :param output_dir: Output folder (``None``: ``results/<suite>``)
    :param force: Rerun finished jobs too
    :param confidence: Confidence level of the intervals
    :param command: The command line to record in ``results.json``
    :param verbose: Show the progress and log lines
    :return: The report: ``settings``, ``methods``, ``ran``, ``skipped``, ``busy`` (jobs left alone because another
        process holds their folder), ``failed``, ``missing``, ``per_seed``, ``rows``, ``normalization`` and ``files``
    :raises BadArgument: Before any job starts or any folder is written, for a setting no job could run with; also for
        an ``output_dir`` that is a file or cannot be created or written (checked last, before the first job)
    :raises ~sb3_gtr.benchmarks.runner.Interrupted: On ``SIGINT`` or ``SIGTERM`` while jobs run, once every worker
        is stopped (finished jobs are kept: a rerun resumes)
    :raises NothingToAggregate: If no job of the run has finished
    """
    if suite not in SUITES:
        raise BadArgument(f"Unknown suite {suite!r} (--suite), available suites: {', '.join(sorted(SUITES))}")
    check_count("--jobs", jobs)
    check_dispatch(dispatch, address)
    seeds = check_seeds(seeds)
    methods = list(CONTINUAL_METHODS) if methods is None else list(methods)
    resolved = resolve_methods(methods, method_kwargs)
    if algo_kwargs is not None and not isinstance(algo_kwargs, Mapping):
        raise BadArgument(f"--algo-kwargs must be a JSON object (a dict of keyword arguments), got {algo_kwargs!r}")
    algo_kwargs = dict(algo_kwargs or {})
    reserved = sorted(set(algo_kwargs) & set(RESERVED_ALGO_KWARGS))
    if reserved:
        raise BadArgument(
            f"--algo-kwargs cannot set {reserved}: the runner sets them (see --policy, --policy-kwargs, --seeds)"
        )
    for name, kwargs in resolved.items():
        clash = sorted(set(algo_kwargs) & set(kwargs))
        if clash:
            raise BadArgument(f"--algo-kwargs sets {clash}, which define method {name!r}: set them with --method-kwargs")
    algo_kwargs, zoo_defaults = split_zoo_kwargs(zoo_algo_kwargs, algo_kwargs, {key for kw in resolved.values() for key in kw})
    resolved = {name: {**zoo_defaults, **kwargs} for name, kwargs in resolved.items()}
    sequence, settings = job_settings(
        suite,
        scale=scale,
        n_cycles=n_cycles,
        suite_kwargs=suite_kwargs,
        algo_kwargs=algo_kwargs,
        policy=policy,
        policy_kwargs=policy_kwargs,
        n_envs=n_envs,
        normalize=normalize,
        normalize_kwargs=normalize_kwargs,
        eval_freq=eval_freq,
        n_eval_episodes=n_eval_episodes,
        device=device,
        num_threads=num_threads,
    )
    validate_jobs(sequence, settings, resolved)
    output_dir = prepare_output_dir(output_dir if output_dir is not None else default_output_dir(suite))

    def log(message: str) -> None:
        if verbose:
            print(message, flush=True)

    pending, skipped, busy = [], [], []
    for seed in seeds:  # seed-major: a partial run has every method on its first seeds
        for method in methods:
            directory = job_dir(output_dir, method, seed)
            # Kept as is (classes in policy_kwargs travel to the job by pickling); `done` stores its JSON form.
            config = {**settings, "method": method, "method_kwargs": resolved[method], "seed": seed, "job_dir": str(directory)}
            if not force and check_resume(directory, config):
                skipped.append(f"{method}/seed_{seed}")
                log(f"skip {method}/seed_{seed}: already done")
            elif (holder := lock_holder(directory)) is not None:
                # Another runner trains this job right now: training here too would mix two runs in one folder.
                busy.append(f"{method}/seed_{seed}")
                log(f"skip {method}/seed_{seed}: running in another process (pid {holder} holds {directory / LOCK_FILE})")
            else:
                pending.append(config)
    log(
        f"{len(pending)} job(s) to run, {len(skipped)} already done, {len(busy)} running elsewhere, {jobs} at a time, "
        f"output in {output_dir}"
    )
    outcome = run_jobs(
        run_job,
        pending,
        min(jobs, max(1, len(pending))),
        sequence.total_timesteps,
        len(skipped) + len(busy),
        verbose,
        not force,
        # Ray is started (or the cluster reached) only when there is something to run
        dispatcher=dispatcher_of(dispatch, address, jobs) if pending else None,
    )
    outcome["busy"] = busy + outcome["busy"]

    try:
        results = aggregate(output_dir, methods, seeds, confidence)
    except NothingToAggregate as error:
        details = "; ".join(f"{key}: {', '.join(outcome[key])}" for key in ("failed", "busy") if outcome[key])
        raise NothingToAggregate(f"{error}{' (' + details + ')' if details else ''}") from None
    settings.update(
        gtr_defaults=gtr_defaults(),
        seeds=list(seeds),
        total_timesteps=sequence.total_timesteps,
        confidence=confidence,
        adaptation_fraction=0.8,
        tasks=sequence.task_names,
    )
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "settings": settings,
        "methods": {name: resolved[name] for name in methods},
        "skipped": skipped,
        **outcome,
        "missing": results["missing"],
        "per_seed": results["per_seed"],
        "rows": results["rows"],
        "normalization": results["normalization"],
    }
    files = {
        name: output_dir / name for name in ("results.csv", "results.md", "per_seed.csv", "results.json", "comparison.png")
    }
    write_results_csv(results["rows"], files["results.csv"])
    write_per_seed_csv(results["per_seed"], files["per_seed.csv"])
    files["results.md"].write_text(to_markdown(report))
    plot_comparison(
        results["curves"],
        results["phases"],
        sequence.task_names,
        files["comparison.png"],
        f"{suite} (scale {scale:g})",
        confidence,
    )
    rows_json = without_nan(report["rows"])
    json_ready = {**report, "rows": rows_json}
    files["results.json"].write_text(json.dumps(json_ready, indent=2, default=describe) + "\n")
    report["files"] = {name: str(path) for name, path in files.items()}
    log(f"results in {files['results.md']} and {files['comparison.png']}")
    return report


def main(argv: Optional[Sequence[str]] = None) -> dict[str, Any]:
    """
    Command-line entry point. A bad argument exits with status 2 and a one-line ``error: --flag ...`` before any job
    starts; Ctrl-C (or ``SIGTERM``) stops every job and exits with status 130 (143), printing one line; a run in which
    no job finished exits with status 1.

    :param argv: The arguments (default: ``sys.argv[1:]``)
    :return: The report of :func:`run_benchmark`
    """
    parser = argparse.ArgumentParser(
        prog="python -m sb3_gtr.benchmarks.continual", description=" ".join(__doc__.strip().split("\n\n")[0].split())
    )
    add_job_arguments(parser)
    parser.add_argument(
        "--methods",
        nargs="+",
        default=list(CONTINUAL_METHODS),
        help=f"methods to run (default: {' '.join(CONTINUAL_METHODS)})",
    )
    parser.add_argument("--seeds", nargs="+", type=seed_argument, default=[0, 1, 2], help="seeds (default: 0 1 2)")
    parser.add_argument(
        "--method-kwargs",
        type=json_argument,
        default={},
        help='JSON object: per method, GTRPPO kwargs overriding its own; a new method needs "base", '
        'e.g. \'{"gtr-s0.3": {"base": "gtr", "sigma": 0.3}}\'',
    )
    parser.add_argument("--output-dir", default=None, help="output folder (default: results/<suite>)")
    parser.add_argument("--force", action="store_true", help="rerun finished jobs too")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    reject_repeats(parser, "--seeds", args.seeds, "each seed is one job per method, a repeat would run it twice")
    reject_repeats(parser, "--methods", args.methods, "each method is one job per seed, a repeat would run it twice")
    output_dir = args.output_dir if args.output_dir is not None else default_output_dir(args.suite)
    try:
        return run_benchmark(
            **job_arguments(args),
            methods=args.methods,
            seeds=args.seeds,
            method_kwargs=args.method_kwargs,
            output_dir=output_dir,
            force=args.force,
            command=shlex.join(["python", "-m", "sb3_gtr.benchmarks.continual", *argv]),
        )
    except BadArgument as error:
        parser.error(str(error))
    except KeyboardInterrupt as error:  # Ctrl-C anywhere, or Interrupted (SIGINT / SIGTERM) while jobs run
        print(interrupted_message(output_dir), file=sys.stderr, flush=True)
        sys.exit(getattr(error, "exit_code", 130))
    except NothingToAggregate as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    report = main()
    sys.exit(1 if report["failed"] or report["busy"] else 0)
