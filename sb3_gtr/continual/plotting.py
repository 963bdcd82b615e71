"""
:func:`plot_learning_curves`: every task's evaluation return over training, the task switches marked.
"""

from collections.abc import Sequence
from typing import Optional

from sb3_gtr.common.checks import (
    check_instance,
)
from sb3_gtr.continual.metrics import EvaluationTable, _check_phases
from sb3_gtr.continual.tasks import Phase


def plot_learning_curves(table: EvaluationTable, phases: Sequence[Phase], path: str, title: Optional[str] = None) -> None:
    """
    Plot the evaluation return of every task over training steps, with a dashed line at each task
    switch and each phase shaded in its task's colour and labelled with its name. Uses matplotlib's Agg
    canvas directly, without touching the global backend.

    :param table: The evaluations
    :param phases: The phases actually trained, in order
    :param path: The image file (PNG)
    :param title: Title of the figure
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    check_instance("table", table, EvaluationTable, "an EvaluationTable")
    phases = _check_phases(phases, len(table.task_names))

    figure = Figure(figsize=(10, 5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    colors = [f"C{task_id % 10}" for task_id in range(len(table.task_names))]
    for phase in phases:
        axes.axvspan(phase.start, phase.end, color=colors[phase.task_id], alpha=0.08, linewidth=0)
        axes.text(
            (phase.start + phase.end) / 2,
            1.0,
            table.task_names[phase.task_id],
            transform=axes.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=8,
            color=colors[phase.task_id],
            clip_on=False,
        )
    for phase in phases[1:]:
        axes.axvline(phase.start, color="grey", linestyle="--", linewidth=0.8)
    for task_id, name in enumerate(table.task_names):
        axes.plot(table.steps, table.returns[:, task_id], marker=".", color=colors[task_id], label=name)
        if table.std_returns is not None:
            low = table.returns[:, task_id] - table.std_returns[:, task_id]
            high = table.returns[:, task_id] + table.std_returns[:, task_id]
            axes.fill_between(table.steps, low, high, color=colors[task_id], alpha=0.15, linewidth=0)
    axes.set_xlabel("training steps")
    axes.set_ylabel("evaluation return")
    axes.legend(loc="best", fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
