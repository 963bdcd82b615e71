"""
The main comparison on the fast continual suites, scored for plasticity and aggregated with rliable.

The runs are those of the continual benchmark on a fast suite with the suite's zoo hyperparameters::

    python -m sb3_gtr.benchmarks.continual --suite cartpole-reversed --zoo-hyperparams \\
        --seeds 0 1 2 3 4 5 6 7 8 9 --eval-freq 2560 --jobs 2 --output-dir results/fast/cartpole-reversed

and the references are the calibration's single-task runs (:mod:`~sb3_gtr.benchmarks.calibration`). Per run:

- ``relearning_cost``: mean over the switches (every phase after the first) of the steps to the task's threshold
  divided by the median steps PPO needs from scratch (:func:`~sb3_gtr.continual.metrics.relearning_cost`); a switch
  whose threshold is never reached counts as its whole phase, a lower bound of its cost (lower is better);
- ``solved_switches``: the fraction of the switches whose threshold is reached within the phase (higher is better);
- ``auc_current_task``: the continual benchmark's area under the current task's normalised curve, normalised per task
  by the worst and best evaluation of any run of the suite (higher is better);
- ``forward_transfer``: Continual World's forward transfer of the second task, whose first phase follows the first
  task's, against the median curve of that task learned from scratch (the calibration's runs, normalised alike):
  0 means no effect, below 0 that the first task got in the way (higher is better).

Each score is aggregated per method with the interquartile mean and its stratified bootstrap 95% interval, and the
probability of improvement of GTR over each baseline (:mod:`~sb3_gtr.benchmarks.statistics`)::

    python -m sb3_gtr.benchmarks.fast_suites  # writes docs/benchmarks/fast_suites.json and .rst
"""

import argparse
import json
import math
import pathlib
import sys
from collections.abc import Sequence
from typing import Any, Optional, Union

import numpy as np

from sb3_gtr.benchmarks import calibration
from sb3_gtr.benchmarks.aggregate import run_metrics, shared_references
from sb3_gtr.benchmarks.jobs import load_job
from sb3_gtr.benchmarks.reports import fixed, rst_simple_table
from sb3_gtr.benchmarks.runner import machine_info, read_done
from sb3_gtr.benchmarks.statistics import iqm_intervals, probability_of_improvement
from sb3_gtr.continual.metrics import forward_transfer, normalize_returns, relearning_cost, steps_to_threshold
from sb3_gtr.continual.suites import REVERSAL_SUITES, make_suite

#: The comparison's methods (the continual benchmark's defaults), the compared one last.
METHODS = ("ppo", "ppo-kl", "spo", "gtr")
#: The method compared with the others.
COMPARED = "gtr"
#: The scores, with whether higher is better.
SCORES = {"relearning_cost": False, "solved_switches": True, "auc_current_task": True, "forward_transfer": True}
RESULTS_DIR = pathlib.Path("results") / "fast"
REPORT_PREFIX = pathlib.Path("docs") / "benchmarks" / "fast_suites"


def run_scores(
    job_dir: Union[str, pathlib.Path],
    from_scratch: Sequence[Optional[float]],
    reference_min: Optional[Sequence[Optional[float]]] = None,
    reference_max: Optional[Sequence[Optional[float]]] = None,
    reference_curves: Optional[Sequence[Optional[tuple[np.ndarray, np.ndarray]]]] = None,
) -> dict[str, Any]:
    """
    :param job_dir: A finished job of the continual benchmark on a fast suite
    :param from_scratch: Median steps to each task's threshold from scratch (the calibration's)
    :param reference_min: Return mapped to 0 per task for the AUC (``None``: the run's own minimum)
    :param reference_max: Return mapped to 1 per task for the AUC (``None``: the run's own maximum)
    :param reference_curves: Per task, ``(steps, normalised performance)`` of training from scratch, normalised with
        the same references (``None``: no forward transfer)
    :return: The run's scores (:data:`SCORES`), its per-switch steps and costs, its forward transfer, its seed and
        wall time
    """
    done = read_done(job_dir)
    if done is None:
        raise ValueError(f"{job_dir} is not a finished job (no done file)")
    config = done["config"]
    sequence = make_suite(config["suite"], scale=config["scale"], n_cycles=config["n_cycles"], **config["suite_kwargs"])
    table, phases = load_job(job_dir)
    thresholds = [task.reward_threshold for task in sequence.tasks]
    steps = steps_to_threshold(table.steps, table.returns, phases, thresholds)
    # An unreached threshold counts as the whole phase: a lower bound of that switch's cost
    bounded = np.array(
        [found if not math.isnan(found) else phase.end - phase.start for found, phase in zip(steps, phases, strict=True)]
    )
    costs = relearning_cost(bounded, phases, from_scratch)[1:]
    auc = run_metrics(table, phases, reference_min, reference_max)["auc_current_task"]
    normalized = normalize_returns(table.returns, reference_min, reference_max)
    transfer = forward_transfer(table.steps, normalized, phases, reference_curves)
    return {
        "seed": int(config["seed"]),
        "method": config["method"],
        "relearning_cost": float(np.mean(costs)),
        "solved_switches": float(np.mean(~np.isnan(steps[1:]))),
        "auc_current_task": float(auc),
        "steps_to_threshold": [None if math.isnan(value) else int(value) for value in steps],
        "switch_costs": [float(value) for value in costs],
        # The second task's first phase against that task learned from scratch (the first task has no predecessor)
        "forward_transfer": None if math.isnan(transfer[1]) else float(transfer[1]),
        "wall_time_s": float(done["wall_time_s"]),
    }


def reported_job_dirs(
    suite: str, results_dir: Union[str, pathlib.Path], methods: Sequence[str] = METHODS
) -> dict[str, list[pathlib.Path]]:
    """
    :return: The finished job folders of each method with at least 2 of them (the methods a report shows)
    """
    job_dirs = {
        method: [
            job_dir for job_dir in sorted((pathlib.Path(results_dir) / suite / method).glob("seed_*")) if read_done(job_dir)
        ]
        for method in methods
    }
    return {method: dirs for method, dirs in job_dirs.items() if len(dirs) >= 2}


def suite_report(
    suite: str,
    results_dir: Union[str, pathlib.Path] = RESULTS_DIR,
    calibration_dir: Union[str, pathlib.Path] = calibration.RESULTS_DIR,
    reps: int = 2_000,
    methods: Sequence[str] = METHODS,
    compared: str = COMPARED,
    references: Optional[tuple[Sequence[Optional[float]], Sequence[Optional[float]]]] = None,
) -> Optional[dict[str, Any]]:
    """
    :param suite: A fast suite
    :param results_dir: The folder of the comparison runs (``<suite>/<method>/seed_<n>`` below it)
    :param calibration_dir: The folder of the calibration runs
    :param reps: Bootstrap resamples
    :param methods: The methods (folder names)
    :param compared: The method whose probability of improvement over each other one is reported
    :param references: The AUC's normalisation, ``(reference_min, reference_max)`` per task (``None``: the worst and
        best evaluation of the runs reported; pass the main comparison's to compare ablation cells with it)
    :return: The suite's runs, the IQM intervals of each score per method and the compared method's probabilities of
        improvement (methods with fewer than 2 finished runs left out); ``None`` if no method has 2
    """
    from_scratch = calibration.from_scratch_steps(calibration.summarize(calibration_dir), suite)
    if any(value is None for value in from_scratch):
        raise ValueError(f"No calibration runs of every task of {suite!r} in {calibration_dir}: run the calibration first")
    job_dirs = reported_job_dirs(suite, results_dir, methods)
    if not job_dirs:
        return None
    # The AUC's normalisation, shared by every run of the suite: the worst and best evaluation of any of them
    if references is None:
        references = shared_references([load_job(d)[0] for dirs in job_dirs.values() for d in dirs])
    reference_min, reference_max = references
    reference_curves = calibration.reference_curves(suite, reference_min, reference_max, calibration_dir)
    runs = {
        method: [run_scores(job_dir, from_scratch, reference_min, reference_max, reference_curves) for job_dir in dirs]
        for method, dirs in job_dirs.items()
    }
    return {
        "suite": suite,
        "compared": compared,
        "from_scratch_steps": from_scratch,
        "auc_references": {"min": reference_min, "max": reference_max},
        "runs": runs,
        "scores": aggregate_scores(runs, compared, reps),
    }


def aggregate_scores(
    runs: dict[str, Sequence[dict[str, Any]]], compared: str = COMPARED, reps: int = 2_000
) -> dict[str, dict[str, Any]]:
    """
    Aggregate runs' scores with rliable: per score (:data:`SCORES`), the IQM of each method with its interval and the
    compared method's probability of improvement over each other method.

    :param runs: Per method, its runs' scores (:func:`run_scores`, as a report's ``runs``: 2 runs or more each)
    :param compared: The method compared with the others
    :param reps: Bootstrap resamples
    :return: Per score with a value for every run, ``higher_is_better``, ``iqm`` and ``probability_of_improvement``
        (the latter only when ``compared`` is among several methods)
    """
    scores = {}
    for score, higher_is_better in SCORES.items():
        values = {method: [run[score] for run in method_runs] for method, method_runs in runs.items()}
        if any(value is None for method_values in values.values() for value in method_values):
            continue  # forward transfer without a reference
        entry: dict[str, Any] = {"higher_is_better": higher_is_better, "iqm": iqm_intervals(values, reps=reps)}
        if compared in values and len(values) > 1:
            signed = {method: np.asarray(value) * (1 if higher_is_better else -1) for method, value in values.items()}
            baselines = [method for method in values if method != compared]
            entry["probability_of_improvement"] = probability_of_improvement(signed, compared, baselines, reps=reps)
        scores[score] = entry
    return scores


def write_report(reports: Sequence[dict[str, Any]], prefix: Union[str, pathlib.Path] = REPORT_PREFIX) -> None:
    """
    Write the raw figures (``<prefix>.json``) and the tables the docs include (``<prefix>.rst``).

    :param reports: The reports of :func:`suite_report`
    :param prefix: Path of the files without their suffix
    """
    prefix = pathlib.Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    prefix.with_suffix(".json").write_text(json.dumps({"machine": machine_info(), "suites": list(reports)}, indent=2) + "\n")
    lines: list[str] = []
    for report in reports:
        methods = list(report["runs"])
        title = f"``{report['suite']}``"
        lines += [title, "~" * len(title), ""]
        header = ["score", *[f"{method} ({len(report['runs'][method])} seeds)" for method in methods]]
        cells = []
        for score, entry in report["scores"].items():
            digits = 2
            cells.append(
                [
                    score.replace("_", " ") + (" (lower is better)" if not entry["higher_is_better"] else ""),
                    *[
                        f"{fixed(entry['iqm'][m]['iqm'], digits)} [{fixed(entry['iqm'][m]['low'], digits)}, "
                        f"{fixed(entry['iqm'][m]['high'], digits)}]"
                        for m in methods
                    ],
                ]
            )
        lines += [*rst_simple_table(header, cells), ""]
        n_phases = len(next(iter(report["runs"].values()))[0]["steps_to_threshold"])
        sequence = make_suite(report["suite"])
        names = [sequence.task_names[phase.task_id] for phase in sequence.schedule()]
        phase_header = [
            "seeds reaching the threshold",
            *[f"phase {index + 1} ({names[index]})" for index in range(n_phases)],
        ]
        phase_cells = [
            [
                method,
                *[
                    f"{sum(run['steps_to_threshold'][index] is not None for run in method_runs)}/{len(method_runs)}"
                    for index in range(n_phases)
                ],
            ]
            for method, method_runs in report["runs"].items()
        ]
        lines += [*rst_simple_table(phase_header, phase_cells), ""]
        poi_rows = []
        for score, entry in report["scores"].items():
            for baseline, value in entry.get("probability_of_improvement", {}).items():
                poi_rows.append(
                    [
                        score.replace("_", " "),
                        f"{report.get('compared', COMPARED)} over {baseline}",
                        f"{value['probability']:.2f}",
                        f"[{value['low']:.2f}, {value['high']:.2f}]",
                    ]
                )
        if poi_rows:
            lines += rst_simple_table(["score", "comparison", "probability of improvement", "95% interval"], poi_rows)
            lines += [""]
    prefix.with_suffix(".rst").write_text("\n".join(lines))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """
    Write the comparison's report over every fast suite with runs.

    :param argv: Arguments (``None``: ``sys.argv[1:]``)
    :return: The exit status
    """
    parser = argparse.ArgumentParser(prog="python -m sb3_gtr.benchmarks.fast_suites", description=__doc__.split("\n\n")[0])
    parser.add_argument("--results-dir", default=str(RESULTS_DIR))
    parser.add_argument("--calibration-dir", default=str(calibration.RESULTS_DIR))
    parser.add_argument("--output", default=str(REPORT_PREFIX), help="path of the .json and .rst files, no suffix")
    args = parser.parse_args(argv)
    try:
        reports = [
            report for suite in REVERSAL_SUITES if (report := suite_report(suite, args.results_dir, args.calibration_dir))
        ]
    except ValueError as error:
        parser.error(str(error))
    if not reports:
        parser.error(f"--results-dir: no suite with 2 finished runs of a method in {args.results_dir}")
    write_report(reports, args.output)
    print(pathlib.Path(args.output).with_suffix(".rst").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
