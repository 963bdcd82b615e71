"""
The report writer of every benchmark: numbers as table cells, Markdown and reStructuredText tables, CSV files, and
values as JSON (classes by their import path, NaN as ``null``).

Each command-line module composes its pages from these: :mod:`~sb3_gtr.benchmarks.continual` (``results.md``,
``results.csv``, ``per_seed.csv``), :mod:`~sb3_gtr.benchmarks.sweep` (``sweep.md``, ``trials.csv``),
:mod:`~sb3_gtr.benchmarks.overhead` and :mod:`~sb3_gtr.benchmarks.policies` (``.md`` and ``.rst`` summaries).
"""

import csv
import json
import math
import pathlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Optional, Union


def fixed(value: Optional[float], digits: int, suffix: str = "") -> str:
    """
    A number as a table cell.

    :param value: The number (``None`` or NaN: missing)
    :param digits: Digits after the decimal point
    :param suffix: Appended to the number (``"x"`` for a ratio)
    :return: The number with ``digits`` decimals, ``-`` when missing
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}{suffix}"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]], right_from: Optional[int] = 1) -> list[str]:
    """
    A Markdown (GitHub) table.

    :param header: The column titles
    :param rows: The cells of each row, as text
    :param right_from: Index of the first right-aligned column (the numbers; the columns before it are labels);
        ``None``: every column with the default alignment
    :return: The lines of the table
    """
    if right_from is None:
        separator = "|" + "---|" * len(header)
    else:
        separator = "|" + "---|" * right_from + "---:|" * (len(header) - right_from)
    return [_markdown_row(header), separator, *(_markdown_row(row) for row in rows)]


def _markdown_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _widths(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    return [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]


def rst_grid_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """
    A reStructuredText grid table (``+---+`` borders, a line between rows).

    :param header: The column titles
    :param rows: The cells of each row, as text
    :return: The lines of the table
    """
    rows = [list(row) for row in rows]
    widths = _widths(header, rows)

    def border(char: str) -> str:
        return "+" + "+".join(char * (width + 2) for width in widths) + "+"

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    table = [border("-"), line(header), border("=")]
    for row in rows:
        table += [line(row), border("-")]
    return table


def rst_simple_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """
    A reStructuredText simple table (``===`` borders, one line per row).

    :param header: The column titles
    :param rows: The cells of each row, as text
    :return: The lines of the table
    """
    rows = [list(row) for row in rows]
    widths = _widths(header, rows)
    border = "  ".join("=" * width for width in widths)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    return [border, line(header), border, *(line(row) for row in rows), border]


def csv_value(value: Any) -> Any:
    """
    :param value: A value of a results row
    :return: The value as a CSV cell: ``None`` and NaN as an empty cell
    """
    value = without_nan(value)
    return "" if value is None else value


def write_csv(path: Union[str, pathlib.Path], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """
    Write a CSV file: the header, then the rows (their values written as they are; see :func:`csv_value`).

    :param path: The CSV file
    :param header: The column names
    :param rows: The values of each row
    """
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)


def describe(value: Any) -> str:
    """
    JSON stand-in of a value JSON cannot hold (the ``default`` of ``json.dumps``).

    :param value: The value
    :return: A class (``activation_fn`` ...) by its import path, anything else by its repr
    """
    return f"{value.__module__}.{value.__qualname__}" if isinstance(value, type) else repr(value)


def dumps(value: Any) -> str:
    """
    :param value: A value
    :return: The value as JSON on one line, for messages and pages (classes by their import path)
    """
    return json.dumps(value, default=describe)


def without_nan(value: Any) -> Any:
    """
    :param value: A value, with lists, tuples and mappings inside
    :return: The value with every NaN float replaced by ``None`` (JSON has no NaN)
    """
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Mapping):
        return {key: without_nan(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_nan(item) for item in value]
    return value
