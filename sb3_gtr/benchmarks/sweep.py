"""
Optuna sweep of GTR's trust-region arguments on a continual suite: ``sigma``, clipping (``clip_surrogate`` and
``clip_range``) and the anchor window, scored by how well the agent keeps up with the task switches. ``--method``
tunes another method of the continual benchmark in the same way, over its own arguments (PPO: ``clip_range``;
PPO+KL: its coefficient and ``clip_range``; SPO: its ``eps``, ``clip_range``; see
:data:`~sb3_gtr.benchmarks.search.SEARCHED`), and ``--search-epochs`` adds ``n_epochs`` to any method's space: the
same trial budget per method is the fair tuned comparison of :mod:`~sb3_gtr.benchmarks.tuned`.

Every trial trains ``GTRPPO`` across the suite on each of the sweep's seeds, with the same jobs as the benchmark
runner (:func:`sb3_gtr.benchmarks.jobs.run_job`: same environments, evaluations and metrics), and scores the
mean over the seeds of one metric (:data:`OBJECTIVES`, default ``auc_current_task``: the normalised performance on the
task being trained, averaged over training, so it rewards fast re-adaptation after each switch and a high level
reached, and averages out the noise of single evaluations). Returns are normalised by fixed references, so that trials
compare across the whole sweep: per task, the minimum and maximum evaluation return of a PPO baseline trained on the
same seeds first (a score of 1 is "as good as PPO's best evaluation", above 1 is better).

The first trial is the method's defaults, so the sweep says whether anything beats them; the next ones are random
(``--n-startup-trials``), then TPE. The study lives in an Optuna storage (default: SQLite in the output folder), so an
interrupted sweep resumes; its trials' job folders are ``<output-dir>/trial_<n>/seed_<s>``. A trial whose setting is a
finished trial's takes that trial's scores and trains nothing (a job is deterministic given its setting and seed, and
TPE on a small discrete space proposes the same point again): it has no folder, and its row names the trial
(``same_as``).

Writes, in ``<output-dir>``: ``trials.csv`` (one row per finished trial, and the baseline), ``sweep.md`` (the ranked
table, with the settings and the command to validate the best trial on fresh seeds), ``sweep.json`` and ``sweep.png``
(the objective against each searched argument, PPO's score as a line).

The best of a few noisy trials is biased upward (it is partly the luckiest): validate it on fresh seeds against the
other methods before changing a default, e.g. with the benchmark runner and
``--method-kwargs '{"gtr-tuned": {"base": "gtr", ...}}'``.

Usage::

    python -m sb3_gtr.benchmarks.sweep --suite flip --scale 0.05 --suite-kwargs '{"max_episode_steps": 200}' \\
        --algo-kwargs '{"n_steps": 1024}' --seeds 100 101 --n-trials 14 --jobs 2 --output-dir results/sweep-flip
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

from sb3_gtr.benchmarks.aggregate import run_metrics, shared_references
from sb3_gtr.benchmarks.arguments import (
    NUM_THREADS,
    BadArgument,
    add_job_arguments,
    check_dispatch,
    check_seeds,
    dispatcher_of,
    error_text,
    interrupted_message,
    job_arguments,
    non_negative_int,
    positive_int,
    prepare_output_dir,
    reject_repeats,
    seed_argument,
    split_zoo_kwargs,
)
from sb3_gtr.benchmarks.jobs import check_resume, job_config_json, load_job, run_job
from sb3_gtr.benchmarks.methods import resolve_methods
from sb3_gtr.benchmarks.reports import describe, fixed, markdown_table, without_nan, write_csv
from sb3_gtr.benchmarks.runner import LOCK_FILE, lock_holder, run_jobs
from sb3_gtr.benchmarks.search import (
    SEARCHED,
    check_search,
    default_raw_params,
    default_storage,
    folder_of,
    interrupted_trials,
    open_study,
    sample_sweep_params,
    searched_keys,
    sweep_kwargs,
)
from sb3_gtr.benchmarks.settings import job_settings, validate_jobs
from sb3_gtr.common.checks import is_int
from sb3_gtr.continual.plotting import agg_figure
from sb3_gtr.continual.suites import SUITES

#: The metrics a sweep can maximise (of :func:`~sb3_gtr.benchmarks.aggregate.run_metrics`), with their labels.
OBJECTIVES: dict[str, str] = {
    "auc_current_task": "AUC current task",
    "average_performance": "average performance",
    "auc_all_tasks": "AUC all tasks",
}
#: Method of the baseline every trial is normalised by.
BASELINE = "ppo"
#: Largest seed of the Optuna sampler (NumPy's bound).
MAX_SAMPLER_SEED = 2**32 - 1


def default_output_dir(suite: str, method: str = "gtr") -> pathlib.Path:
    """:return: A sweep's output folder when none is given: ``results/sweep-<suite>``, ``-<method>`` for another method"""
    return pathlib.Path("results") / (f"sweep-{suite}" if method == "gtr" else f"sweep-{suite}-{method}")


class SweepError(RuntimeError):
    """The sweep cannot go on: jobs failed, or another process is running one of them."""


def _score(per_seed: Sequence[Mapping[str, Optional[float]]], metric: str) -> float:
    values = [run[metric] for run in per_seed if run.get(metric) is not None]
    return float(np.mean(values)) if values else math.nan


def _metrics_of(directories: Sequence[pathlib.Path], references: tuple[list, list]) -> list[dict[str, Optional[float]]]:
    runs = []
    for directory in directories:
        table, phases = load_job(directory)
        runs.append(run_metrics(table, phases, *references))
    return runs


def _row(
    name: str, kwargs: Mapping[str, Any], per_seed: Sequence[Mapping[str, Any]], objective: str, keys: Sequence[str]
) -> dict[str, Any]:
    row: dict[str, Any] = {"trial": name}
    for key in keys:
        row[key] = kwargs.get(key, "-") if name != BASELINE else "-"
    row["objective"] = _score(per_seed, objective)
    for metric in OBJECTIVES:
        row[metric] = _score(per_seed, metric)
    row["forgetting"] = _score(per_seed, "forgetting")
    row["per_seed_" + objective] = [run.get(objective) for run in per_seed]
    return row


def _setting_key(kwargs: Mapping[str, Any]) -> str:
    """:return: A job setting as a canonical string (JSON, sorted keys), equal for equal settings"""
    return json.dumps(kwargs, sort_keys=True, default=describe)


def _format_cell(value: Any) -> str:
    if isinstance(value, float):
        return fixed(value, 3)
    if value is None:
        return "all"
    if isinstance(value, list):
        return ", ".join(_format_cell(item) for item in value)
    return str(value)


def _category_order(label: str) -> tuple:
    """Sort key of a categorical axis: numbers by value, then other words, then ``all``."""
    try:
        return (0, float(label), "")
    except ValueError:
        return (1 + (label == "all"), 0.0, label)


def plot_sweep(
    rows: Sequence[Mapping[str, Any]],
    baseline: Mapping[str, Any],
    path: Union[str, pathlib.Path],
    title: str,
    keys: Sequence[str] = searched_keys(),
) -> None:
    """
    Plot the objective of every trial against each searched argument, the method's defaults (trial 0) circled, the
    PPO baseline as a dashed line.

    :param rows: The trial rows (of :func:`run_sweep`'s report)
    :param baseline: The baseline's row
    :param path: The image file (PNG)
    :param title: Title of the figure
    :param keys: The searched arguments (the report's ``searched``)
    """
    with agg_figure(path, (3 * len(keys) + 1, 3.6)) as figure:
        axes_list = np.atleast_1d(figure.subplots(1, len(keys), sharey=True))
        for axes, key in zip(axes_list, keys, strict=True):
            if key in ("sigma", "penalty_coef"):
                positions = [row[key] for row in rows]
                axes.set_xscale("log")
            else:
                labels = sorted({_format_cell(row[key]) for row in rows}, key=_category_order)
                positions = [labels.index(_format_cell(row[key])) for row in rows]
                axes.set_xticks(range(len(labels)), labels)
            colors = ["C1" if row.get("clip_surrogate", True) else "C0" for row in rows]
            axes.scatter(positions, [row["objective"] for row in rows], c=colors, s=30, zorder=3)
            for position, row in zip(positions, rows, strict=True):
                if row["trial"] == "trial_0":
                    axes.scatter([position], [row["objective"]], s=150, facecolors="none", edgecolors="k", zorder=4)
            axes.axhline(baseline["objective"], color="grey", linestyle="--", linewidth=1)
            axes.set_xlabel(key)
            axes.grid(alpha=0.3)
        axes_list[0].set_ylabel("objective (mean over seeds)")
        figure.suptitle(
            f"{title}\ndashed: PPO; circled: the defaults (trial 0); orange: clipped surrogate, blue: not", fontsize=10
        )


def _validation_command(report: Mapping[str, Any], best_kwargs: Mapping[str, Any]) -> str:
    settings, method = report["settings"], report["method"]
    methods = [BASELINE] if method == BASELINE else [BASELINE, method]
    argv = ["python", "-m", "sb3_gtr.benchmarks.continual", "--suite", settings["suite"], "--methods", *methods]
    argv += [f"{method}-tuned", "--method-kwargs", json.dumps({f"{method}-tuned": {"base": method, **best_kwargs}})]
    argv += ["--scale", f"{settings['scale']:g}", "--seeds", "0", "1", "2"]
    if settings["n_cycles"] is not None:
        argv += ["--n-cycles", str(settings["n_cycles"])]
    if settings["suite_kwargs"]:
        argv += ["--suite-kwargs", json.dumps(settings["suite_kwargs"])]
    if settings["algo_kwargs"]:
        argv += ["--algo-kwargs", json.dumps(settings["algo_kwargs"])]
    return shlex.join(argv)


def to_markdown(report: Mapping[str, Any]) -> str:
    """
    :param report: The report of :func:`run_sweep`
    :return: The sweep as a Markdown page: settings, the ranked trials and the baseline, the best trial
    """
    settings, objective, keys = report["settings"], report["objective"], report["searched"]
    lines = [
        f"# {report['method']} sweep: {settings['suite']}",
        "",
        f"Command: `{report['command']}`" if report.get("command") else "Called from Python.",
        "",
        f"Suite `{settings['suite']}` (scale {settings['scale']:g}, {settings['total_timesteps']} steps per job), "
        f"seeds {', '.join(map(str, settings['seeds']))}; policy `{settings['policy']}`, shared hyperparameters "
        f"`{json.dumps(settings['algo_kwargs'])}`; evaluation every {settings['eval_freq']} steps, "
        f"{settings['n_eval_episodes']} episode(s) per task. {len(report['rows'])} finished trials "
        f"(trial 0: {report['method']}'s defaults, then {report['n_startup_trials']} random, then TPE, sampler seed "
        f"{report['sampler_seed']}).",
        "",
        f"Objective: {OBJECTIVES[objective]} (mean over seeds), maximised. Returns are normalised per task by the "
        f"minimum and maximum evaluation return of the `{BASELINE}` baseline on the same seeds: "
        + "; ".join(
            f"{task} [{low:.1f}, {high:.1f}]"
            for task, low, high in zip(
                report["normalization"]["tasks"],
                report["normalization"]["reference_min"],
                report["normalization"]["reference_max"],
                strict=True,
            )
        )
        + ".",
        "",
    ]
    others = [metric for metric in OBJECTIVES if metric != objective]
    header = ["trial", *keys, f"**{OBJECTIVES[objective]}**", "per seed", *(OBJECTIVES[m] for m in others), "forgetting"]
    table = (
        [
            row["trial"] + (f" (= {row['same_as']})" if row.get("same_as") else ""),
            *(_format_cell(row[key]) for key in keys),
            f"**{_format_cell(row['objective'])}**",
            _format_cell(row["per_seed_" + objective]),
            *(_format_cell(row[m]) for m in others),
            _format_cell(row["forgetting"]),
        ]
        for row in [*report["rows"], report["baseline"]]
    )
    lines += markdown_table(header, table)
    best = report["best"]
    lines += [
        "",
        f"Best trial: {best['trial']} with `{json.dumps(best['kwargs'])}`. The best of a few noisy trials is biased "
        "upward; validate it on fresh seeds before changing a default:",
        "",
        f"    {best['validation_command']}",
        "",
    ]
    return "\n".join(lines)


def run_sweep(
    suite: str,
    method: str = "gtr",
    n_epochs_choices: Optional[Sequence[int]] = None,
    seeds: Sequence[int] = (100, 101),
    n_trials: int = 14,
    objective: str = "auc_current_task",
    scale: float = 1.0,
    n_cycles: Optional[int] = None,
    suite_kwargs: Optional[dict[str, Any]] = None,
    algo_kwargs: Optional[dict[str, Any]] = None,
    zoo_algo_kwargs: Optional[dict[str, Any]] = None,
    policy: Optional[str] = None,
    policy_kwargs: Optional[dict[str, Any]] = None,
    n_envs: int = 1,
    normalize: Optional[bool] = None,
    normalize_kwargs: Optional[dict[str, Any]] = None,
    eval_freq: Optional[int] = None,
    n_eval_episodes: int = 2,
    device: str = "cpu",
    jobs: int = 1,
    num_threads: int = NUM_THREADS,
    dispatch: str = "ray",
    address: Optional[str] = None,
    n_startup_trials: int = 5,
    sampler_seed: int = 0,
    storage: Optional[str] = None,
    study_name: Optional[str] = None,
    output_dir: Optional[Union[str, pathlib.Path]] = None,
    command: Optional[str] = None,
    verbose: bool = True,
) -> dict[str, Any]:
    """
    Run the PPO baseline on the sweep's seeds (unless done), then trials until ``n_trials`` have finished, then
    write the result files.

    :param suite: A key of :data:`~sb3_gtr.continual.suites.SUITES`
    :param method: The method tuned, a key of :data:`~sb3_gtr.benchmarks.search.SEARCHED`
    :param n_epochs_choices: The ``n_epochs`` values searched too (``None``: not searched); they must hold the runs'
        own ``n_epochs``, that of the defaults' trial
    :param seeds: Seeds of every trial (use others than those of the benchmark the sweep is validated on)
    :param n_trials: Finished trials wanted, the defaults' trial included
    :param objective: The metric maximised, a key of :data:`OBJECTIVES`
    :param scale: Factor on every task's step budget
    :param n_cycles: Passes over the tasks (``None``: the suite's default)
    :param suite_kwargs: Suite-specific keyword arguments
    :param algo_kwargs: Hyperparameters shared by all trials; they cannot set the searched arguments
    :param zoo_algo_kwargs: Hyperparameters of the suite's zoo entry (``--zoo-hyperparams``): defaults that
        ``algo_kwargs``, the baseline's kwargs and each trial's sampled arguments override (see
        :func:`~sb3_gtr.benchmarks.arguments.split_zoo_kwargs`)
    :param policy: Policy alias or import path (``None``: the suite's recommendation, else ``MlpPolicy``)
    :param policy_kwargs: Policy keyword arguments (``None``: the suite's when the policy is the suite's)
    :param n_envs: Parallel environments per job
    :param normalize: Wrap the training env in ``VecNormalize`` (``None``: as the suite recommends)
    :param normalize_kwargs: Keyword arguments of ``VecNormalize`` (``None``: the suite's)
    :param eval_freq: Evaluate every ``eval_freq`` steps (``None``: 10 times per phase, at most once per rollout)
    :param n_eval_episodes: Evaluation episodes per task
    :param device: Torch device of every job
    :param jobs: Jobs (seeds of a trial) run at the same time, each in its own process
    :param dispatch: How jobs run: ``"ray"`` (Ray tasks, see :mod:`~sb3_gtr.benchmarks.ray_dispatch`) or
        ``"processes"`` (this machine's worker processes, without Ray)
    :param address: Address of a Ray cluster (``None``: a local Ray started for the run)
    :param num_threads: Torch threads of each job (see :data:`~sb3_gtr.benchmarks.arguments.NUM_THREADS` for why one)
    :param n_startup_trials: Random trials after the defaults' trial, before TPE
    :param sampler_seed: Seed of the Optuna sampler
    :param storage: Optuna storage URL (``None``: ``sqlite:///<output-dir>/study.db``)
    :param study_name: Study name, not empty (``None``: ``gtr-sweep-<suite>``, ``<method>-sweep-<suite>`` for another
        method)
    :param output_dir: Output folder (``None``: ``results/sweep-<suite>``, ``results/sweep-<suite>-<method>`` for
        another method)
    :param command: The command line to record
    :param verbose: Show the progress and log lines
    :return: The report: ``settings``, ``method``, ``searched``, ``objective``, ``rows`` (finished trials, best first),
        ``baseline``, ``best``, ``normalization`` and ``files``
    :raises ~sb3_gtr.benchmarks.arguments.BadArgument: Before anything trains (the study included), for a setting no
        job could run with, a storage or study that cannot be used, an empty ``study_name``, or an ``output_dir`` that
        is a file or cannot be created or written
    :raises ~sb3_gtr.benchmarks.runner.Interrupted: On ``SIGINT`` or ``SIGTERM`` while jobs run, once every worker is
        stopped; the trial is marked interrupted and run again, in the same folder, by the next call
    :raises SweepError: If jobs fail, or another process is running one of them
    """
    import optuna

    if suite not in SUITES:
        raise BadArgument(f"Unknown suite {suite!r} (--suite), available suites: {', '.join(sorted(SUITES))}")
    if objective not in OBJECTIVES:
        raise BadArgument(f"Unknown objective {objective!r} (--objective): use one of {', '.join(OBJECTIVES)}")
    for flag, value, minimum in (
        ("--n-trials", n_trials, 1),
        ("--jobs", jobs, 1),
        ("--n-startup-trials", n_startup_trials, 0),
    ):
        if not is_int(value) or value < minimum:
            raise BadArgument(f"{flag} must be an integer >= {minimum}, got {value!r}")
    if not is_int(sampler_seed) or not 0 <= sampler_seed <= MAX_SAMPLER_SEED:
        raise BadArgument(f"--sampler-seed must be an integer in [0, {MAX_SAMPLER_SEED}], got {sampler_seed!r}")
    seeds = check_seeds(seeds)
    check_dispatch(dispatch, address)
    check_search(method, n_epochs_choices)
    keys = searched_keys(method, n_epochs_choices is not None)
    if study_name is not None and (not isinstance(study_name, str) or not study_name.strip()):
        # An empty name used to fall back to the default study silently, resuming (or mixing into) another sweep.
        raise BadArgument(
            f"--study-name must be a non-empty name, got {study_name!r} (leave it out for {method}-sweep-{suite})"
        )
    if algo_kwargs is not None and not isinstance(algo_kwargs, Mapping):
        raise BadArgument(f"--algo-kwargs must be a JSON object (a dict of keyword arguments), got {algo_kwargs!r}")
    searched_kwargs = ("sigma", "penalty_coef", "clip_surrogate", "clip_range", "anchor_window", "penalty")
    searched_kwargs += ("n_epochs",) if n_epochs_choices is not None else ()
    clash = sorted(set(algo_kwargs or {}) & set(searched_kwargs))
    if clash:
        raise BadArgument(f"--algo-kwargs cannot set {clash}: the sweep sets them")
    baseline_kwargs = resolve_methods([BASELINE])[BASELINE]
    algo_kwargs, zoo_defaults = split_zoo_kwargs(
        zoo_algo_kwargs, dict(algo_kwargs or {}), {*searched_kwargs, *baseline_kwargs}
    )
    baseline_kwargs = {**zoo_defaults, **baseline_kwargs}
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
    # The baseline and the method's defaults (trial 0) are built once here, so that a bad setting fails before any job.
    defaults_kwargs = {**zoo_defaults, **resolve_methods([method])[method]}
    checked = validate_jobs(sequence, settings, {BASELINE: baseline_kwargs, "trial_0": defaults_kwargs})
    # The anchor window is capped at n_epochs: the largest window tried
    n_epochs = checked["n_epochs"]["trial_0"]
    if n_epochs_choices is not None and n_epochs not in n_epochs_choices:
        raise BadArgument(
            f"--search-epochs {' '.join(map(str, n_epochs_choices))} must hold the runs' n_epochs ({n_epochs}): the first "
            "trial is the method's defaults"
        )
    # Created (and checked writable) before the study, which may live in it: no traceback, and nothing trained for it.
    output_dir = prepare_output_dir(output_dir if output_dir is not None else default_output_dir(suite, method))
    # The study is opened before anything trains: a bad --storage or --study-name must not cost the baseline's runs.
    study_name = study_name or f"{method}-sweep-{suite}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        sampler = optuna.samplers.TPESampler(n_startup_trials=n_startup_trials + 1, seed=sampler_seed)
    except Exception as error:
        raise BadArgument(
            f"--sampler-seed {sampler_seed} / --n-startup-trials {n_startup_trials}: {error_text(error)}"
        ) from error
    attributes: dict[str, Any] = {"settings": job_config_json(settings), "seeds": list(seeds), "objective": objective}
    if method != "gtr" or n_epochs_choices is not None:  # left out for GTR's own space: its older studies resume
        attributes.update(method=method, n_epochs_choices=None if n_epochs_choices is None else list(n_epochs_choices))
    study = open_study(storage, study_name, sampler, output_dir, attributes)
    storage = storage or default_storage(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    def log(message: str) -> None:
        if verbose:
            print(message, flush=True)

    dispatcher = None

    def run(method: str, kwargs: dict[str, Any], folder: pathlib.Path) -> list[pathlib.Path]:
        nonlocal dispatcher
        directories, pending = [], []
        for seed in seeds:
            directory = folder / f"seed_{seed}"
            config = {**settings, "method": method, "method_kwargs": kwargs, "seed": seed, "job_dir": str(directory)}
            directories.append(directory)
            if check_resume(directory, config):
                continue
            holder = lock_holder(directory)
            if holder is not None:
                raise SweepError(
                    f"{directory} is being trained by another process (pid {holder} holds {directory / LOCK_FILE}): wait "
                    "for it to finish, or give this sweep another --output-dir"
                )
            pending.append(config)
        if pending and dispatcher is None:
            dispatcher = dispatcher_of(dispatch, address, jobs)
        outcome = run_jobs(
            run_job,
            pending,
            min(jobs, max(1, len(pending))),
            sequence.total_timesteps,
            len(seeds) - len(pending),
            verbose,
            dispatcher=dispatcher,
        )
        if outcome["failed"]:
            raise SweepError(f"Jobs failed: {outcome['failed']} (see error.txt in {folder})")
        if outcome["busy"]:
            raise SweepError(f"Jobs {outcome['busy']} in {folder} were started by another process meanwhile: rerun later")
        return directories

    # The baseline: its evaluations fix the normalisation of every trial.
    baseline_dirs = run(BASELINE, baseline_kwargs, output_dir / BASELINE)
    tables = [load_job(directory)[0] for directory in baseline_dirs]
    references = shared_references(tables)
    baseline_per_seed = _metrics_of(baseline_dirs, references)

    def scored_before(kwargs: dict[str, Any]) -> Optional[tuple[str, list[dict[str, Any]]]]:
        # A finished trial's scores for the same setting: a job is deterministic given its setting and seed, so running
        # it again would spend its steps to get the same numbers (TPE proposes a point of a small discrete space again).
        key = _setting_key(kwargs)
        for done in study.trials:
            if done.state == optuna.trial.TrialState.COMPLETE and _setting_key(done.user_attrs["kwargs"]) == key:
                return done.user_attrs.get("same_as", folder_of(done)), done.user_attrs["per_seed"]
        return None

    def objective_fn(trial: optuna.Trial) -> float:
        raw = sample_sweep_params(trial, n_epochs, method, n_epochs_choices)
        kwargs = {**zoo_defaults, **sweep_kwargs(raw, n_epochs, method)}
        # A retried interrupted trial reuses its folder, so that its seeds already done are kept.
        name = trial.user_attrs.get("folder", f"trial_{trial.number}")
        trial.set_user_attr("folder", name)
        log(f"{name}: {json.dumps(kwargs)}")
        same = scored_before(kwargs)
        if same is not None:
            log(f"{name}: the setting of {same[0]}, whose scores it takes (nothing trained)")
            trial.set_user_attr("same_as", same[0])
            per_seed = same[1]
        else:
            per_seed = _metrics_of(run(name, kwargs, output_dir / name), references)
        trial.set_user_attr("kwargs", kwargs)
        trial.set_user_attr("per_seed", per_seed)
        value = _score(per_seed, objective)
        log(f"{name}: {OBJECTIVES[objective]} {value:.3f} (baseline {_score(baseline_per_seed, objective):.3f})")
        if math.isnan(value):
            raise RuntimeError(f"{name}: the objective {objective} is undefined for every seed")
        return value

    if not study.trials:
        study.enqueue_trial(default_raw_params(method, None if n_epochs_choices is None else n_epochs))
    for retried in interrupted_trials(study):
        study.enqueue_trial(retried.params, user_attrs={"folder": folder_of(retried)})
    finished = [trial for trial in study.trials if trial.state == optuna.trial.TrialState.COMPLETE]
    log(f"{len(finished)} trial(s) finished, {max(0, n_trials - len(finished))} to run, output in {output_dir}")
    # Ask and tell rather than study.optimize: an interrupted trial is marked as such (and retried on resume) without
    # Optuna logging a traceback of it.
    while len(finished) < n_trials:
        trial = study.ask()
        try:
            value = objective_fn(trial)
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt):
                trial.set_user_attr("interrupted", True)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise
        study.tell(trial, value)
        finished = [trial for trial in study.trials if trial.state == optuna.trial.TrialState.COMPLETE]

    rows = [
        {
            **_row(folder_of(trial), trial.user_attrs["kwargs"], trial.user_attrs["per_seed"], objective, keys),
            "same_as": trial.user_attrs.get("same_as"),
        }
        for trial in finished
    ]
    rows.sort(key=lambda row: -row["objective"] if not math.isnan(row["objective"]) else math.inf)
    baseline = _row(BASELINE, baseline_kwargs, baseline_per_seed, objective, keys)
    best_trial = max(finished, key=lambda trial: trial.value)
    settings.update(seeds=list(seeds), total_timesteps=sequence.total_timesteps, tasks=sequence.task_names)
    report: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "settings": settings,
        "method": method,
        "searched": list(keys),
        "objective": objective,
        "n_startup_trials": n_startup_trials,
        "sampler_seed": sampler_seed,
        "study": {"storage": storage, "study_name": study_name},
        "normalization": {"tasks": sequence.task_names, "reference_min": references[0], "reference_max": references[1]},
        "rows": rows,
        "baseline": baseline,
    }
    report["best"] = {
        "trial": folder_of(best_trial),
        "value": best_trial.value,
        "kwargs": best_trial.user_attrs["kwargs"],
        "validation_command": _validation_command(report, best_trial.user_attrs["kwargs"]),
    }
    files = {name: output_dir / name for name in ("trials.csv", "sweep.md", "sweep.json", "sweep.png")}
    columns = ["trial", *keys, "objective", *OBJECTIVES, "forgetting"]
    # Empty cells for None only: a NaN score is written as nan.
    write_csv(
        files["trials.csv"], columns, (["" if row[key] is None else row[key] for key in columns] for row in [*rows, baseline])
    )
    files["sweep.md"].write_text(to_markdown(report))
    files["sweep.json"].write_text(json.dumps(without_nan(report), indent=2, default=describe) + "\n")
    title = f"{method} sweep on {suite} (scale {scale:g}): {OBJECTIVES[objective]}"
    plot_sweep(rows, baseline, files["sweep.png"], title, keys)
    report["files"] = {name: str(path) for name, path in files.items()}
    best = report["best"]
    log(f"best {best['trial']} ({best['value']:.3f}, baseline {baseline['objective']:.3f}); see {files['sweep.md']}")
    return report


def main(argv: Optional[Sequence[str]] = None) -> dict[str, Any]:
    """
    Command-line entry point. A bad argument (storage and study included) exits with status 2 and a one-line
    ``error: --flag ...`` before anything trains; Ctrl-C (or ``SIGTERM``) stops every job and exits with status 130
    (143), printing one line; failed jobs exit with status 1.

    :param argv: The arguments (default: ``sys.argv[1:]``)
    :return: The report of :func:`run_sweep`
    """
    parser = argparse.ArgumentParser(
        prog="python -m sb3_gtr.benchmarks.sweep", description=" ".join(__doc__.strip().split("\n\n")[0].split())
    )
    add_job_arguments(parser, n_eval_episodes=2)
    parser.add_argument(
        "--seeds", nargs="+", type=seed_argument, default=[100, 101], help="seeds of every trial (default: 100 101)"
    )
    parser.add_argument(
        "--n-trials", type=positive_int, default=14, help="finished trials wanted, the defaults' trial included"
    )
    parser.add_argument("--method", default="gtr", choices=list(SEARCHED), help="the method tuned (default: gtr)")
    parser.add_argument(
        "--search-epochs",
        nargs="+",
        type=positive_int,
        default=None,
        help="n_epochs values to search too (they must hold the runs' own n_epochs; default: not searched)",
    )
    parser.add_argument("--objective", default="auc_current_task", choices=list(OBJECTIVES), help="the metric maximised")
    parser.add_argument("--n-startup-trials", type=non_negative_int, default=5, help="random trials before TPE (default: 5)")
    parser.add_argument("--sampler-seed", type=non_negative_int, default=0, help="seed of the Optuna sampler")
    parser.add_argument("--storage", default=None, help="Optuna storage URL (default: SQLite in the output folder)")
    parser.add_argument("--study-name", default=None, help="study name (default: <method>-sweep-<suite>)")
    parser.add_argument(
        "--output-dir", default=None, help="output folder (default: results/sweep-<suite>, -<method> for a method not gtr)"
    )
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    reject_repeats(parser, "--seeds", args.seeds, "each seed is one job per trial, a repeat would run it twice")
    if args.search_epochs is not None:
        reject_repeats(parser, "--search-epochs", args.search_epochs, "each value is tried once")
    output_dir = args.output_dir if args.output_dir is not None else default_output_dir(args.suite, args.method)
    try:
        return run_sweep(
            **job_arguments(args),
            method=args.method,
            n_epochs_choices=args.search_epochs,
            seeds=args.seeds,
            n_trials=args.n_trials,
            objective=args.objective,
            n_startup_trials=args.n_startup_trials,
            sampler_seed=args.sampler_seed,
            storage=args.storage,
            study_name=args.study_name,
            output_dir=output_dir,
            command=shlex.join(["python", "-m", "sb3_gtr.benchmarks.sweep", *argv]),
        )
    except BadArgument as error:
        parser.error(str(error))
    except KeyboardInterrupt as error:  # Ctrl-C anywhere, or Interrupted (SIGINT / SIGTERM) while jobs run
        print(interrupted_message(output_dir), file=sys.stderr, flush=True)
        sys.exit(getattr(error, "exit_code", 130))
    except SweepError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
