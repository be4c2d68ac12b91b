"""Which runs share a row of a report table, and the labels that tell rows apart.

A row is one method and model under one set of settings (:func:`~creator.report.runs.row_settings`:
temperature, rounds, limits, hint, prompts, ...); its cells are runs, one per column (a dataset,
or a hint mode). Runs are put in one row only when they agree on every such setting, so two
runs made differently are never merged into one line; a second run for a cell that is taken
starts a row of its own. Rows of the same method and model are told apart by a label naming
what differs between them: first the settings, then what selected their problems; rows that
differ in nothing and hold runs of the same column (a repeat) are numbered. Deliberately left
out: what the cells hold (see :mod:`creator.report.paper`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from creator.report.runs import Run, row_settings, selection

__all__ = ["NOT_RECORDED", "GridRow", "grid_rows", "labels", "runs_cell"]


@dataclass(frozen=True, slots=True)
class GridRow:
    """One row: its method and model, the label telling it apart, and its run per column."""

    method: str
    model: str
    label: str
    cells: Mapping[str, Run]


NOT_RECORDED = "not recorded"
"""A setting a run's config lacks (made before creator recorded it)."""


def _settings(cells: Mapping[str, Run], ignore: Collection[str]) -> dict[str, str]:
    first = next(iter(cells.values()))
    return {k: v for k, v in row_settings(first.config).items() if k not in ignore}


def _selections(cells: Mapping[str, Run], title: Callable[[str], str]) -> dict[str, str]:
    """Per column, what selected the problems of the run there (``MATH subjects``)."""
    out: dict[str, str] = {}
    for column, run in cells.items():
        out.update({f"{title(column)} {k}": v for k, v in selection(run.config).items()})
    return out


def labels(
    rows: Sequence[tuple[tuple[str, str], Mapping[str, Run]]],
    *,
    ignore: Collection[str] = (),
    title: Callable[[str], str] = str,
) -> list[str]:
    """Per row (keyed by method and model), what tells it apart from the other rows of the same
    method and model (``temperature=0.7``); empty for a row alone of its kind."""
    settings = [_settings(cells, ignore) for _, cells in rows]
    selections = [_selections(cells, title) for _, cells in rows]
    out = [""] * len(rows)
    for key in dict.fromkeys(k for k, _ in rows):
        members = [i for i, (k, _) in enumerate(rows) if k == key]
        if len(members) < 2:
            continue
        # every setting (one a run lacks is "not recorded"); a column's selection where every
        # row has a run in that column
        names = list(dict.fromkeys(k for i in members for k in settings[i]))
        descriptors = {i: {k: settings[i].get(k, NOT_RECORDED) for k in names} for i in members}
        for i in members:
            descriptors[i].update(selections[i])
        shared = [k for k in descriptors[members[0]] if all(k in descriptors[i] for i in members)]
        differing = [k for k in shared if len({descriptors[i][k] for i in members}) > 1]
        named = {i: ", ".join(f"{k}={descriptors[i][k]}" for k in differing) for i in members}
        for place, i in enumerate(members):
            # a repeat: an earlier row alike in everything, with a run in a column of this one
            alike = [
                j for j in members[:place]
                if named[j] == named[i] and rows[j][1].keys() & rows[i][1].keys()
            ]  # fmt: skip
            extra = f"repeat {len(alike) + 1}" if alike else ""
            out[i] = ", ".join(filter(None, [named[i], extra]))
    return out


def grid_rows(
    runs: Sequence[Run],
    column_of: Callable[[Run], str],
    *,
    ignore: Collection[str] = (),
    title: Callable[[str], str] = str,
) -> list[GridRow]:
    """``runs`` as rows, one run per column, never merging runs whose settings differ (those
    named in ``ignore`` are the columns themselves, ``hint`` for the hint-mode table)."""
    rows: list[tuple[tuple[str, str, tuple[tuple[str, str], ...]], dict[str, Run]]] = []
    for run in runs:
        settings = tuple(
            sorted((k, v) for k, v in row_settings(run.config).items() if k not in ignore)
        )
        key, column = (run.method_label, run.model_label, settings), column_of(run)
        for row_key, cells in rows:
            if row_key == key and column not in cells:
                cells[column] = run
                break
        else:
            rows.append((key, {column: run}))
    keyed = [((key[0], key[1]), cells) for key, cells in rows]
    names = labels(keyed, ignore=ignore, title=title)
    return [
        GridRow(method=key[0], model=key[1], label=label, cells=cells)
        for (key, cells), label in zip(keyed, names, strict=True)
    ]


def runs_cell(cells: Mapping[str, Run], order: Sequence[str], title: Callable[[str], str]) -> str:
    """Which run fills each cell: ``MATH: runs/a; TabMWP: runs/b (partial: 3 of 10 selected)``."""
    return "; ".join(f"{title(k)}: {cells[k].display_name}" for k in order if k in cells)
