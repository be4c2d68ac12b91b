"""A table as plain text blocks, one per row: what the terminal shows when the table is too wide.

A wide table squeezed into 80 columns (or into a pipe, which a terminal library treats as 80
columns) shows every cell cut to ``…``. Here each row becomes a heading (its leading text
cells: method, model, settings) and one line per measured thing: the cells of a column group
(``MATH``: n, accuracy, ``±``, paper) on one line, every other cell on a line of its own. Cells
without a value are left out. Nothing is ever cut: a long line is for the terminal to wrap.
Deliberately left out: styling and deciding when to use it (the CLI's job).
"""

from __future__ import annotations

from creator.report.tables import NO_VALUE, Column, Table

__all__ = ["blocks"]


def _lead_count(columns: list[Column]) -> int:
    """How many leading columns name the row (text columns outside any group)."""
    count = 0
    for column in columns:
        if column.kind != "text" or column.group is not None or column.name == "runs":
            break
        count += 1
    return count


def _part(column: Column, value: str) -> str:
    """A cell inside its group's line: ``n 6``, ``50.0%``, ``±4.1``, ``paper 66.7%``."""
    group = column.group or ""
    suffix = column.name[len(group) :].strip() if column.name.startswith(group) else column.name
    if not suffix or suffix.endswith("±"):
        return value
    return f"{suffix.strip('()')} {value}"


def _row_lines(columns: list[Column], cells: list[str]) -> list[str]:
    """The indented lines of one row (after its heading), in column order."""
    entries: dict[str, list[str]] = {}  # a line per group, or per ungrouped cell
    for column, cell in zip(columns, cells, strict=True):
        if cell == NO_VALUE:
            continue
        if column.group is None:
            entries[f"{column.name}\0"] = [cell]
            continue
        parts = entries.setdefault(column.group, [])
        if column.name.endswith("±") and parts:
            parts[-1] += f" {cell}"
        else:
            parts.append(_part(column, cell))
    return [f"  {key.rstrip(chr(0))}: {', '.join(parts)}" for key, parts in entries.items()]


def blocks(table: Table) -> list[str]:
    """The table's title, then per row its heading and indented lines (see the module)."""
    columns = table.display_columns
    lead = _lead_count(columns)
    lines = [table.title]
    for row in table.display_rows():
        lines.append(" · ".join(cell for cell in row[:lead] if cell != NO_VALUE) or NO_VALUE)
        lines.extend(_row_lines(columns[lead:], row[lead:]))
    return lines
