"""
:func:`plot_learning_curves`: every task's evaluation return over training, the task switches marked; and
:func:`agg_figure`, the figure every plot of the package draws on: matplotlib's Agg canvas used directly, without
touching the global backend, saved as a PNG.
"""

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any, Optional, Union

from sb3_gtr.common.checks import check_instance
from sb3_gtr.continual.metrics import EvaluationTable, check_phases
from sb3_gtr.continual.tasks import Phase


@contextlib.contextmanager
def agg_figure(
    path: Union[str, "os.PathLike[str]"], figsize: tuple[float, float], tight: bool = True, dpi: int = 100, **kwargs: Any
) -> Iterator[Any]:
    """
    A matplotlib figure on its own Agg canvas, saved to a PNG when the ``with`` block ends without an error::

        with agg_figure("curves.png", (10, 5)) as figure:
            axes = figure.add_subplot()
            ...

    :param path: The image file (PNG)
    :param figsize: Width and height in inches
    :param tight: Call ``tight_layout`` before saving (``False`` for a figure with a layout engine of its own)
    :param dpi: Resolution of the image
    :param kwargs: Further keyword arguments of ``matplotlib.figure.Figure`` (``layout`` ...)
    :return: The figure, as the ``with`` target
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, **kwargs)
    FigureCanvasAgg(figure)
    yield figure
    if tight:
        figure.tight_layout()
    figure.savefig(path, dpi=dpi)


def plot_learning_curves(table: EvaluationTable, phases: Sequence[Phase], path: str, title: Optional[str] = None) -> None:
    """
    Plot the evaluation return of every task over training steps, with a dashed line at each task
    switch and each phase shaded in its task's colour and labelled with its name, on an :func:`agg_figure`.

    :param table: The evaluations
    :param phases: The phases actually trained, in order
    :param path: The image file (PNG)
    :param title: Title of the figure
    """
    check_instance("table", table, EvaluationTable, "an EvaluationTable")
    phases = check_phases(phases, len(table.task_names))

    with agg_figure(path, (10, 5)) as figure:
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
