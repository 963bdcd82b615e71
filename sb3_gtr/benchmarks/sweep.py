"""
Optuna sweep of GTR's trust-region arguments on a continual suite: ``sigma``, clipping (``clip_surrogate`` and
``clip_range``) and the anchor window, scored by how well the agent keeps up with the task switches.

Every trial trains ``GTRPPO`` across the suite on each of the sweep's seeds, with the same jobs as the benchmark
runner (:func:`sb3_gtr.benchmarks.continual.run_job`: same environments, evaluations and metrics), and scores the
mean over the seeds of one metric (:data:`OBJECTIVES`, default ``auc_current_task``: the normalised performance on the
task being trained, averaged over training, so it rewards fast re-adaptation after each switch and a high level
reached, and averages out the noise of single evaluations). Returns are normalised by fixed references, so that trials
compare across the whole sweep: per task, the minimum and maximum evaluation return of a PPO baseline trained on the
same seeds first (a score of 1 is "as good as PPO's best evaluation", above 1 is better).

The first trial is ``GTRPPO``'s defaults, so the sweep says whether anything beats them; the next ones are random
(``--n-startup-trials``), then TPE. The study lives in an Optuna storage (default: SQLite in the output folder), so an
interrupted sweep resumes; its trials' job folders are ``<output-dir>/trial_<n>/seed_<s>``.

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
import csv
import datetime
import inspect
import json
import math
import pathlib
import shlex
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np

from sb3_gtr.benchmarks.continual import (
    _check_resume,
    _describe,
    _run_jobs,
    add_job_arguments,
    gtr_defaults,
    job_arguments,
    job_settings,
    load_job,
    resolve_methods,
    run_metrics,
    shared_references,
)
from sb3_gtr.envs.suites import SUITES

#: The metrics a sweep can maximise (of :func:`~sb3_gtr.benchmarks.continual.run_metrics`), with their labels.
OBJECTIVES: dict[str, str] = {
    "auc_current_task": "AUC current task",
    "average_performance": "average performance",
    "auc_all_tasks": "AUC all tasks",
}
#: Values of ``clip_range`` tried: those of the RL Zoo's PPO search space.
CLIP_RANGES = (0.1, 0.2, 0.3, 0.4)
#: The searched arguments, in table order.
SEARCHED = ("sigma", "clip_surrogate", "clip_range", "anchor_window")
#: Method of the baseline every trial is normalised by.
BASELINE = "ppo"


def sample_sweep_params(trial: Any, n_epochs: int) -> dict[str, Any]:
    """
    Sample the swept arguments, as raw Optuna parameters: the zoo sampler's GTR arguments with the
    advantage-weighted coefficient (the paper's), plus ``clip_range``.

    :param trial: Optuna trial
    :param n_epochs: Epochs per update of the runs: the largest anchor window tried
    :return: The raw parameters (see :func:`sweep_kwargs`)
    """
    from sb3_gtr.zoo.samplers import sample_gtr_raw_params

    raw = sample_gtr_raw_params(trial, penalty_coef_modes=("advantage",), max_anchor_window=n_epochs)
    raw["clip_range"] = trial.suggest_categorical("clip_range", list(CLIP_RANGES))
    return raw


def sweep_kwargs(raw: Mapping[str, Any], n_epochs: int) -> dict[str, Any]:
    """
    :param raw: Raw parameters of :func:`sample_sweep_params`
    :param n_epochs: Epochs per update of the runs
    :return: The ``GTRPPO`` keyword arguments of a trial
    """
    from sb3_gtr.zoo.samplers import gtr_kwargs_from_raw

    return {**gtr_kwargs_from_raw(dict(raw), n_epochs), "clip_range": raw["clip_range"]}


def default_raw_params() -> dict[str, Any]:
    """:return: ``GTRPPO``'s defaults as raw parameters of :func:`sample_sweep_params` (the first trial)"""
    defaults = gtr_defaults()
    if defaults["penalty_coef"] != "advantage" or defaults["clip_range"] not in CLIP_RANGES:
        raise RuntimeError(f"GTRPPO's defaults {defaults} lie outside the sweep's search space")
    raw = {
        "sigma": defaults["sigma"],
        "penalty_coef_mode": "advantage",
        "clip_surrogate": defaults["clip_surrogate"],
        "anchor_window_mode": "all" if defaults["anchor_window"] is None else "window",
        "clip_range": defaults["clip_range"],
    }
    if defaults["anchor_window"] is not None:
        raw["anchor_window"] = defaults["anchor_window"]
    return raw


def _score(per_seed: Sequence[Mapping[str, Optional[float]]], metric: str) -> float:
    values = [run[metric] for run in per_seed if run.get(metric) is not None]
    return float(np.mean(values)) if values else math.nan


def _metrics_of(directories: Sequence[pathlib.Path], references: tuple[list, list]) -> list[dict[str, Optional[float]]]:
    runs = []
    for directory in directories:
        table, phases = load_job(directory)
        runs.append(run_metrics(table, phases, *references))
    return runs


def _row(name: str, kwargs: Mapping[str, Any], per_seed: Sequence[Mapping[str, Any]], objective: str) -> dict[str, Any]:
    row: dict[str, Any] = {"trial": name}
    for key in SEARCHED:
        row[key] = kwargs.get(key, "-") if name != BASELINE else "-"
    row["objective"] = _score(per_seed, objective)
    for metric in OBJECTIVES:
        row[metric] = _score(per_seed, metric)
    row["forgetting"] = _score(per_seed, "forgetting")
    row["per_seed_" + objective] = [run.get(objective) for run in per_seed]
    return row


def _without_nan(value: Any) -> Any:
    """The value with every NaN float replaced by ``None`` (JSON has no NaN)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Mapping):
        return {key: _without_nan(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_without_nan(item) for item in value]
    return value


def _format_cell(value: Any) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.3f}"
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
    rows: Sequence[Mapping[str, Any]], baseline: Mapping[str, Any], path: Union[str, pathlib.Path], title: str
) -> None:
    """
    Plot the objective of every trial against each searched argument, GTR's defaults (trial 0) circled, the PPO
    baseline as a dashed line.

    :param rows: The trial rows (of :func:`run_sweep`'s report)
    :param baseline: The baseline's row
    :param path: The image file (PNG)
    :param title: Title of the figure
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 3.6))
    FigureCanvasAgg(figure)
    axes_list = figure.subplots(1, len(SEARCHED), sharey=True)
    for axes, key in zip(axes_list, SEARCHED, strict=True):
        if key == "sigma":
            positions = [row[key] for row in rows]
            axes.set_xscale("log")
        else:
            labels = sorted({_format_cell(row[key]) for row in rows}, key=_category_order)
            positions = [labels.index(_format_cell(row[key])) for row in rows]
            axes.set_xticks(range(len(labels)), labels)
        colors = ["C1" if row["clip_surrogate"] else "C0" for row in rows]
        axes.scatter(positions, [row["objective"] for row in rows], c=colors, s=30, zorder=3)
        for position, row in zip(positions, rows, strict=True):
            if row["trial"] == "trial_0":
                axes.scatter([position], [row["objective"]], s=150, facecolors="none", edgecolors="k", zorder=4)
        axes.axhline(baseline["objective"], color="grey", linestyle="--", linewidth=1)
        axes.set_xlabel(key)
        axes.grid(alpha=0.3)
    axes_list[0].set_ylabel("objective (mean over seeds)")
    figure.suptitle(
        f"{title}\ndashed: PPO; circled: GTR defaults (trial 0); orange: clipped surrogate, blue: not", fontsize=10
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def _validation_command(report: Mapping[str, Any], best_kwargs: Mapping[str, Any]) -> str:
    settings = report["settings"]
    argv = ["python", "-m", "sb3_gtr.benchmarks.continual", "--suite", settings["suite"], "--methods", "ppo", "gtr"]
    argv += ["gtr-tuned", "--method-kwargs", json.dumps({"gtr-tuned": {"base": "gtr", **best_kwargs}})]
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
    settings, objective = report["settings"], report["objective"]
    lines = [
        f"# GTR sweep: {settings['suite']}",
        "",
        f"Command: `{report['command']}`" if report.get("command") else "Called from Python.",
        "",
        f"Suite `{settings['suite']}` (scale {settings['scale']:g}, {settings['total_timesteps']} steps per job), "
        f"seeds {', '.join(map(str, settings['seeds']))}; policy `{settings['policy']}`, shared hyperparameters "
        f"`{json.dumps(settings['algo_kwargs'])}`; evaluation every {settings['eval_freq']} steps, "
        f"{settings['n_eval_episodes']} episode(s) per task. {len(report['rows'])} finished trials "
        f"(trial 0: GTRPPO's defaults, then {report['n_startup_trials']} random, then TPE, sampler seed "
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
        "| trial | "
        + " | ".join(SEARCHED)
        + f" | **{OBJECTIVES[objective]}** | per seed | "
        + " | ".join(OBJECTIVES[m] for m in OBJECTIVES if m != objective)
        + " | forgetting |",
        "|---|" + "---:|" * (len(SEARCHED) + len(OBJECTIVES) + 2),
    ]
    for row in [*report["rows"], report["baseline"]]:
        cells = [row["trial"], *(_format_cell(row[key]) for key in SEARCHED), f"**{_format_cell(row['objective'])}**"]
        cells.append(_format_cell(row["per_seed_" + objective]))
        cells += [_format_cell(row[m]) for m in OBJECTIVES if m != objective]
        cells.append(_format_cell(row["forgetting"]))
        lines.append("| " + " | ".join(cells) + " |")
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
    seeds: Sequence[int] = (100, 101),
    n_trials: int = 14,
    objective: str = "auc_current_task",
    scale: float = 1.0,
    n_cycles: Optional[int] = None,
    suite_kwargs: Optional[dict[str, Any]] = None,
    algo_kwargs: Optional[dict[str, Any]] = None,
    policy: Optional[str] = None,
    policy_kwargs: Optional[dict[str, Any]] = None,
    n_envs: int = 1,
    normalize: Optional[bool] = None,
    normalize_kwargs: Optional[dict[str, Any]] = None,
    eval_freq: Optional[int] = None,
    n_eval_episodes: int = 2,
    device: str = "cpu",
    jobs: int = 1,
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

    :param suite: A key of :data:`~sb3_gtr.envs.suites.SUITES`
    :param seeds: Seeds of every trial (use others than those of the benchmark the sweep is validated on)
    :param n_trials: Finished trials wanted, the defaults' trial included
    :param objective: The metric maximised, a key of :data:`OBJECTIVES`
    :param scale: Factor on every task's step budget
    :param n_cycles: Passes over the tasks (``None``: the suite's default)
    :param suite_kwargs: Suite-specific keyword arguments
    :param algo_kwargs: Hyperparameters shared by all trials; they cannot set the searched arguments
    :param policy: Policy alias or import path (``None``: the suite's recommendation, else ``MlpPolicy``)
    :param policy_kwargs: Policy keyword arguments (``None``: the suite's when the policy is the suite's)
    :param n_envs: Parallel environments per job
    :param normalize: Wrap the training env in ``VecNormalize`` (``None``: as the suite recommends)
    :param normalize_kwargs: Keyword arguments of ``VecNormalize`` (``None``: the suite's)
    :param eval_freq: Evaluate every ``eval_freq`` steps (``None``: 10 times per phase)
    :param n_eval_episodes: Evaluation episodes per task
    :param device: Torch device of every job
    :param jobs: Jobs (seeds of a trial) run at the same time, each in its own process
    :param n_startup_trials: Random trials after the defaults' trial, before TPE
    :param sampler_seed: Seed of the Optuna sampler
    :param storage: Optuna storage URL (``None``: ``sqlite:///<output-dir>/study.db``)
    :param study_name: Study name (``None``: ``gtr-sweep-<suite>``)
    :param output_dir: Output folder (``None``: ``results/sweep-<suite>``)
    :param command: The command line to record
    :param verbose: Show the progress and log lines
    :return: The report: ``settings``, ``objective``, ``rows`` (finished trials, best first), ``baseline``,
        ``best``, ``normalization`` and ``files``
    """
    import optuna

    if suite not in SUITES:
        raise ValueError(f"Unknown suite {suite!r}, available suites: {', '.join(sorted(SUITES))}")
    if objective not in OBJECTIVES:
        raise ValueError(f"Unknown objective {objective!r}: use one of {', '.join(OBJECTIVES)}")
    if n_trials < 1 or jobs < 1 or not seeds or n_startup_trials < 0:
        raise ValueError(
            f"`n_trials` and `jobs` must be >= 1, `seeds` non-empty and `n_startup_trials` >= 0, got {n_trials}, {jobs}, "
            f"{list(seeds)} and {n_startup_trials}"
        )
    searched_kwargs = ("sigma", "penalty_coef", "clip_surrogate", "clip_range", "anchor_window", "penalty")
    clash = sorted(set(algo_kwargs or {}) & set(searched_kwargs))
    if clash:
        raise ValueError(f"--algo-kwargs cannot set {clash}: the sweep sets them")
    sequence, settings = job_settings(
        suite,
        scale,
        n_cycles,
        suite_kwargs,
        algo_kwargs,
        policy,
        policy_kwargs,
        n_envs,
        normalize,
        normalize_kwargs,
        eval_freq,
        n_eval_episodes,
        device,
    )
    from sb3_gtr import GTRPPO

    # The anchor window is capped at n_epochs: the largest window tried
    default_n_epochs = inspect.signature(GTRPPO.__init__).parameters["n_epochs"].default
    n_epochs = int(settings["algo_kwargs"].get("n_epochs", default_n_epochs))
    output_dir = pathlib.Path(output_dir if output_dir is not None else pathlib.Path("results") / f"sweep-{suite}")
    output_dir.mkdir(parents=True, exist_ok=True)

    def log(message: str) -> None:
        if verbose:
            print(message, flush=True)

    def run(method: str, kwargs: dict[str, Any], folder: pathlib.Path) -> list[pathlib.Path]:
        directories, pending = [], []
        for seed in seeds:
            directory = folder / f"seed_{seed}"
            config = {**settings, "method": method, "method_kwargs": kwargs, "seed": seed, "job_dir": str(directory)}
            directories.append(directory)
            if not _check_resume(directory, config):
                pending.append(config)
        outcome = _run_jobs(
            pending, min(jobs, max(1, len(pending))), sequence.total_timesteps, len(seeds) - len(pending), verbose
        )
        if outcome["failed"]:
            raise RuntimeError(f"Jobs failed: {outcome['failed']} (see error.txt in {folder})")
        return directories

    # The baseline: its evaluations fix the normalisation of every trial.
    baseline_kwargs = resolve_methods([BASELINE])[BASELINE]
    baseline_dirs = run(BASELINE, baseline_kwargs, output_dir / BASELINE)
    tables = [load_job(directory)[0] for directory in baseline_dirs]
    references = shared_references(tables)
    baseline_per_seed = _metrics_of(baseline_dirs, references)

    def objective_fn(trial: optuna.Trial) -> float:
        raw = sample_sweep_params(trial, n_epochs)
        kwargs = sweep_kwargs(raw, n_epochs)
        name = f"trial_{trial.number}"
        log(f"{name}: {json.dumps(kwargs)}")
        per_seed = _metrics_of(run(name, kwargs, output_dir / name), references)
        trial.set_user_attr("kwargs", kwargs)
        trial.set_user_attr("per_seed", per_seed)
        value = _score(per_seed, objective)
        log(f"{name}: {OBJECTIVES[objective]} {value:.3f} (baseline {_score(baseline_per_seed, objective):.3f})")
        if math.isnan(value):
            raise RuntimeError(f"{name}: the objective {objective} is undefined for every seed")
        return value

    storage = storage or f"sqlite:///{output_dir / 'study.db'}"
    study_name = study_name or f"gtr-sweep-{suite}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(n_startup_trials=n_startup_trials + 1, seed=sampler_seed)
    study = optuna.create_study(
        study_name=study_name, storage=storage, direction="maximize", sampler=sampler, load_if_exists=True
    )
    if not study.trials:
        study.enqueue_trial(default_raw_params())
    finished = [trial for trial in study.trials if trial.state == optuna.trial.TrialState.COMPLETE]
    log(f"{len(finished)} trial(s) finished, {max(0, n_trials - len(finished))} to run, output in {output_dir}")
    while len(finished) < n_trials:
        study.optimize(objective_fn, n_trials=n_trials - len(finished))
        finished = [trial for trial in study.trials if trial.state == optuna.trial.TrialState.COMPLETE]

    rows = [
        _row(f"trial_{trial.number}", trial.user_attrs["kwargs"], trial.user_attrs["per_seed"], objective)
        for trial in finished
    ]
    rows.sort(key=lambda row: -row["objective"] if not math.isnan(row["objective"]) else math.inf)
    baseline = _row(BASELINE, baseline_kwargs, baseline_per_seed, objective)
    best_trial = max(finished, key=lambda trial: trial.value)
    settings.update(seeds=list(seeds), total_timesteps=sequence.total_timesteps, tasks=sequence.task_names)
    report: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "settings": settings,
        "objective": objective,
        "n_startup_trials": n_startup_trials,
        "sampler_seed": sampler_seed,
        "study": {"storage": storage, "study_name": study_name},
        "normalization": {"tasks": sequence.task_names, "reference_min": references[0], "reference_max": references[1]},
        "rows": rows,
        "baseline": baseline,
    }
    report["best"] = {
        "trial": f"trial_{best_trial.number}",
        "value": best_trial.value,
        "kwargs": best_trial.user_attrs["kwargs"],
        "validation_command": _validation_command(report, best_trial.user_attrs["kwargs"]),
    }
    files = {name: output_dir / name for name in ("trials.csv", "sweep.md", "sweep.json", "sweep.png")}
    with open(files["trials.csv"], "w", newline="") as file:
        fieldnames = ["trial", *SEARCHED, "objective", *OBJECTIVES, "forgetting"]
        writer = csv.DictWriter(file, fieldnames=fieldnames, extrasaction="ignore")
        writer.writeheader()
        for row in [*rows, baseline]:
            writer.writerow({key: ("" if value is None else value) for key, value in row.items()})
    files["sweep.md"].write_text(to_markdown(report))
    files["sweep.json"].write_text(json.dumps(_without_nan(report), indent=2, default=_describe) + "\n")
    plot_sweep(rows, baseline, files["sweep.png"], f"GTR sweep on {suite} (scale {scale:g}): {OBJECTIVES[objective]}")
    report["files"] = {name: str(path) for name, path in files.items()}
    best = report["best"]
    log(f"best {best['trial']} ({best['value']:.3f}, baseline {baseline['objective']:.3f}); see {files['sweep.md']}")
    return report


def main(argv: Optional[Sequence[str]] = None) -> dict[str, Any]:
    """
    Command-line entry point.

    :param argv: The arguments (default: ``sys.argv[1:]``)
    :return: The report of :func:`run_sweep`
    """
    parser = argparse.ArgumentParser(description=" ".join(__doc__.strip().split("\n\n")[0].split()))
    add_job_arguments(parser, n_eval_episodes=2)
    parser.add_argument("--seeds", nargs="+", type=int, default=[100, 101], help="seeds of every trial (default: 100 101)")
    parser.add_argument("--n-trials", type=int, default=14, help="finished trials wanted, the defaults' trial included")
    parser.add_argument("--objective", default="auc_current_task", choices=list(OBJECTIVES), help="the metric maximised")
    parser.add_argument("--n-startup-trials", type=int, default=5, help="random trials before TPE (default: 5)")
    parser.add_argument("--sampler-seed", type=int, default=0, help="seed of the Optuna sampler")
    parser.add_argument("--storage", default=None, help="Optuna storage URL (default: SQLite in the output folder)")
    parser.add_argument("--study-name", default=None, help="study name (default: gtr-sweep-<suite>)")
    parser.add_argument("--output-dir", default=None, help="output folder (default: results/sweep-<suite>)")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    return run_sweep(
        **job_arguments(args),
        seeds=args.seeds,
        n_trials=args.n_trials,
        objective=args.objective,
        n_startup_trials=args.n_startup_trials,
        sampler_seed=args.sampler_seed,
        storage=args.storage,
        study_name=args.study_name,
        output_dir=args.output_dir,
        command=shlex.join(["python", "-m", "sb3_gtr.benchmarks.sweep", *argv]),
    )


if __name__ == "__main__":
    main()
