"""A table as data, and its Markdown and CSV forms.

A :class:`Table` is a title, typed columns, rows of raw cells (text, counts, fractions, USD) and
notes. The CSV keeps raw values (fractions as fractions, rounded to 4 decimals; empty for no
value) so a spreadsheet can compute with them; Markdown and the terminal show them formatted
(``45.7%``, ``+3.0 pp``, ``±4.1``, ``$0.0123``, ``-`` for no value). A column may be shown
only to readers (``show="display"``: the ``±`` of an accuracy) or only in the CSV
(``show="csv"``: the interval's bounds), and may belong to a ``group`` (the n, accuracy and
``±`` of one dataset), which the terminal's compact layout puts on one line. Every text that
comes from a run (model names, directory names) is escaped in Markdown. Deliberately left out:
which tables a report has (see :mod:`creator.report.document`) and any terminal styling (the
CLI's job; its compact layout is :mod:`creator.report.compact`).
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "NO_VALUE",
    "Cell",
    "Column",
    "Kind",
    "Show",
    "Table",
    "display",
    "escape_markdown",
    "read_csv",
    "to_csv",
    "to_markdown",
]

Kind = Literal["text", "count", "percent", "delta", "pm", "ratio", "usd", "price"]
"""``percent``: a fraction shown as 45.7%; ``delta``: a difference of fractions shown in
percentage points; ``pm``: half an interval's width, a fraction shown in points as ±4.1;
``ratio``: a plain number with one decimal; ``usd``: money; ``price``: USD per 1M tokens."""
Show = Literal["both", "display", "csv"]

Cell = str | int | float | None
"""A raw value; ``None`` is no value (no records), a string in a numeric column is a reason
("unknown", "n/a (replay)")."""

NO_VALUE = "-"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~$]|&(?=#?\w+;))")
"""What could turn literal text into markup inside a table cell or a heading: emphasis, code,
links, HTML, cell separators, strikethrough, math, and ``&`` that would start an entity."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind = "text"
    show: Show = "both"
    group: str | None = None
    """The columns of one measured thing (``MATH n``, ``MATH``, ``MATH ±``) share a group."""

    @property
    def displayed(self) -> bool:
        return self.show != "csv"

    @property
    def in_csv(self) -> bool:
        return self.show != "display"


@dataclass(frozen=True, slots=True)
class Table:
    """One table of a report; ``name`` is its file stem (``<name>.csv``)."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(
                    f"table {self.name}: a row has {len(row)} cells, not {len(self.columns)}"
                )

    @property
    def header(self) -> list[str]:
        """Every column's name (the CSV and the displayed forms each leave some out)."""
        return [column.name for column in self.columns]

    @property
    def display_columns(self) -> list[Column]:
        return [column for column in self.columns if column.displayed]

    def column(self, name: str) -> list[Cell]:
        """The cells of the column called ``name``."""
        index = self.header.index(name)
        return [row[index] for row in self.rows]

    def display_rows(self) -> list[list[str]]:
        """The displayed cells (see :attr:`display_columns`) formatted for reading (not
        escaped)."""
        return [
            [
                display(cell, column.kind)
                for cell, column in zip(row, self.columns, strict=True)
                if column.displayed
            ]
            for row in self.rows
        ]


def _usd(value: float) -> str:
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    decimals = min(8, 2 - math.floor(math.log10(abs(value))))
    return f"${value:.{decimals}f}"


def display(cell: Cell, kind: Kind) -> str:
    """``cell`` as a person reads it."""
    if cell is None:
        return NO_VALUE
    if isinstance(cell, str):
        return cell
    if kind == "count":
        return f"{cell:,}"
    if kind == "percent":
        return f"{cell * 100:.1f}%"
    if kind == "delta":
        return f"{cell * 100:+.1f} pp"
    if kind == "pm":
        return f"±{cell * 100:.1f}"
    if kind == "ratio":
        return f"{cell:,.1f}"
    if kind == "usd":
        return _usd(float(cell))
    if kind == "price":
        return f"{cell:g}"
    return str(cell)


def escape_markdown(text: str) -> str:
    """``text`` as literal Markdown on one line: specials backslash-escaped, newlines spaces."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def to_markdown(table: Table) -> str:
    """A Markdown section: the title, the table (or why it is empty) and its notes."""
    lines = [f"## {escape_markdown(table.title)}", ""]
    if table.rows:
        columns = table.display_columns
        aligns = ["---" if c.kind == "text" else "---:" for c in columns]
        lines.append("| " + " | ".join(escape_markdown(c.name) for c in columns) + " |")
        lines.append("|" + "|".join(aligns) + "|")
        for row in table.display_rows():
            lines.append("| " + " | ".join(escape_markdown(cell) for cell in row) + " |")
        lines.append("")
    lines.extend(f"{escape_markdown(note)}\n" for note in table.notes)
    return "\n".join(lines).rstrip() + "\n"


def _csv_value(cell: Cell, kind: Kind) -> str:
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, int) and not isinstance(cell, bool):
        return str(cell)
    digits = {"percent": 4, "delta": 4, "pm": 4, "ratio": 2, "usd": 8, "price": 6}.get(kind, 6)
    return repr(round(float(cell), digits))


def to_csv(table: Table) -> str:
    """The header and the raw values of the CSV columns (see the module docstring)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(column.name for column in table.columns if column.in_csv)
    for row in table.rows:
        writer.writerow(
            _csv_value(c, col.kind) for c, col in zip(row, table.columns, strict=True) if col.in_csv
        )
    return out.getvalue()


def read_csv(text: str) -> tuple[list[str], list[list[str]]]:
    """A CSV written by :func:`to_csv`, as (header, rows of strings)."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return [], []
    return rows[0], rows[1:]
