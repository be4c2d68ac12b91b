"""The report's accuracy tables in the paper's layout, built from runs.

Method by dataset; MATH by subject and by level; the Creation Challenge by hint mode (a run
setting, so its columns come from several runs); Tool Transfer without and with transfer on the
same scenarios. Accuracy is strict scoring, with the half-width of its 95% Wilson interval
(``±``, in points; the CSV has the interval's bounds, ``ci low`` and ``ci high``); the paper's
lenient rule is added as its own column wherever the two differ. Every table starts with the
method and the model, whose label says so when a run is the reference replay, and, when rows of
one method and model differ in their settings, a ``settings`` column naming the difference
(:mod:`creator.report.rows`). Deliberately left out: rounds, tokens, cost and the runs overview
(:mod:`creator.report.usage`), file output and figures (:mod:`creator.report.document`,
:mod:`creator.report.plots`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from creator.datasets import MATH_SUBJECTS
from creator.report.measures import (
    MATH_LEVELS,
    Score,
    by_level,
    by_subject,
    score,
    transfer_scores,
)
from creator.report.rows import grid_rows, labels, runs_cell
from creator.report.runs import DATASET_TITLES, HINT_TITLES, Run
from creator.report.tables import Cell, Column, Table

__all__ = [
    "LEAD",
    "REPLAY_NOTE",
    "ROWS_NOTE",
    "SETTINGS",
    "accuracy_columns",
    "creation_by_hint_table",
    "interval_cells",
    "interval_columns",
    "math_by_level_table",
    "math_by_subject_table",
    "method_by_dataset_table",
    "per_run_table",
    "subject_title",
    "transfer_table",
]

REPLAY_NOTE = (
    "Rows whose model is the reference are a replay of the dataset's recorded solutions, "
    "not an LLM: they measure the recorded solutions and this harness, never LLM accuracy."
)
LEAD = (Column("method"), Column("model"))
SETTINGS = Column("settings")
"""The lead column naming what tells rows of one method and model apart; only in tables that
have such rows."""
ROWS_NOTE = (
    "One row per method, model and settings: runs share a row only when every setting that "
    "can change results is the same (all but the dataset and which problems were selected); "
    "'settings' names what tells rows of one method and model apart, 'runs' which run fills "
    "each cell, and a run with fewer records than problems selected (stopped, or still "
    "running) is marked partial."
)


def subject_title(subject: str) -> str:
    """``counting_and_probability`` -> ``Counting & Probability``."""
    return " ".join(
        w if w == "&" else w.capitalize() for w in subject.replace("_and_", " & ").split("_")
    )


def _score_of(run: Run) -> Score:
    """Score of the problems solved on their own (a Tool Transfer run's transfer arm left out)."""
    return score(r for r in run.records if r.arm != "transfer")


def interval_columns(prefix: str, *, group: str | None = None) -> list[Column]:
    """``prefix ±`` (shown) and ``prefix ci low``, ``prefix ci high`` (CSV only), in ``group``
    (default: ``prefix``)."""
    group = group or prefix
    return [
        Column(f"{prefix} ±", "pm", show="display", group=group),
        Column(f"{prefix} ci low", "percent", show="csv", group=group),
        Column(f"{prefix} ci high", "percent", show="csv", group=group),
    ]


def interval_cells(s: Score | None) -> list[Cell]:
    """The cells of :func:`interval_columns` for ``s`` (no value without records)."""
    interval = None if s is None else s.interval
    if s is None or interval is None:
        return [None, None, None]
    return [s.pm, interval[0], interval[1]]


def accuracy_columns(
    prefix: str, scores: Sequence[Score | None], *, paper: bool, n_name: str | None = None
) -> tuple[list[Column], list[list[Cell]]]:
    """``prefix n``, ``prefix`` (strict), its 95% interval (:func:`interval_columns`) and,
    when ``paper``, ``prefix (paper)``: per score. The columns share the group ``prefix``."""
    columns = [
        Column(n_name or f"{prefix} n", "count", group=prefix),
        Column(prefix, "percent", group=prefix),
        *interval_columns(prefix),
    ]
    if paper:
        columns.append(Column(f"{prefix} (paper)", "percent", group=prefix))
    cells: list[list[Cell]] = []
    for s in scores:
        if s is None:
            cells.append([None] * len(columns))
            continue
        row: list[Cell] = [s.n, s.accuracy, *interval_cells(s)]
        if paper:
            row.append(s.accuracy_paper)
        cells.append(row)
    return columns, cells


def _lead(rows: Sequence[tuple[str, str, str]]) -> tuple[list[Column], list[list[Cell]]]:
    """The method and model columns, and ``settings`` when some row has a label."""
    if any(label for _, _, label in rows):
        return [*LEAD, SETTINGS], [[m, model, label or None] for m, model, label in rows]
    return list(LEAD), [[m, model] for m, model, _ in rows]


def _grid_table(
    *,
    name: str,
    title: str,
    runs: Sequence[Run],
    keys: Sequence[str],
    titles: dict[str, str],
    column_of: Callable[[Run], str],
    notes: tuple[str, ...],
    ignore: tuple[str, ...] = (),
) -> Table:
    def title_of(key: str) -> str:
        return titles.get(key, key)

    rows = grid_rows(runs, column_of, ignore=ignore, title=title_of)
    grid = [row.cells for row in rows]
    present = [k for k in keys if any(k in cells for cells in grid)]
    columns, body = _lead([(row.method, row.model, row.label) for row in rows])
    for key in present:
        scores = [_score_of(cells[key]) if key in cells else None for cells in grid]
        paper = any(s is not None and s.differ for s in scores)
        new_columns, new_cells = accuracy_columns(titles[key], scores, paper=paper)
        columns.extend(new_columns)
        for row, extra in zip(body, new_cells, strict=True):
            row.extend(extra)
    columns.append(Column("runs"))
    for row, cells in zip(body, grid, strict=True):
        row.append(runs_cell(cells, present, title_of))
    return Table(
        name=name,
        title=title,
        columns=tuple(columns),
        rows=tuple(tuple(row) for row in body),
        notes=tuple(notes),
    )


def method_by_dataset_table(runs: Sequence[Run]) -> Table:
    """One row per method and model; per dataset n and accuracy (Creation Challenge: no hint)."""
    chosen = [r for r in runs if not (r.config.dataset == "creation" and r.config.hint != "none")]
    notes: list[str] = [ROWS_NOTE]
    if len(chosen) < len(runs):
        notes.append("Creation Challenge runs with hints are in the hint-mode table.")
    if any(r.config.dataset == "transfer" for r in chosen):
        notes.append(
            "Tool Transfer: every scenario solved on its own (the control arm); "
            "the transfer arm is compared in its own table."
        )
    if not chosen:
        notes.append("Every run given is a Creation Challenge run with hints.")
    keys = list(DATASET_TITLES) + sorted({r.config.dataset for r in chosen} - set(DATASET_TITLES))
    titles = {k: DATASET_TITLES.get(k, k) for k in keys}
    return _grid_table(
        name="method_by_dataset",
        title="Accuracy by method and dataset",
        runs=chosen,
        keys=keys,
        titles=titles,
        column_of=lambda r: r.config.dataset,
        notes=tuple(notes),
    )


def creation_by_hint_table(runs: Sequence[Run]) -> Table:
    chosen = [r for r in runs if r.config.dataset == "creation"]
    notes = () if chosen else ("No Creation Challenge run among the runs given.",)
    return _grid_table(
        name="creation_by_hint",
        title="Creation Challenge by hint mode",
        runs=chosen,
        keys=list(HINT_TITLES),
        titles=HINT_TITLES,
        column_of=lambda r: r.config.hint,
        notes=notes,
        ignore=("hint",),
    )


def per_run_table(
    *,
    name: str,
    title: str,
    runs: Sequence[Run],
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    notes: Sequence[str] = (),
) -> Table:
    """One row per run: the lead columns (with ``settings`` where runs of one method and model
    differ in them), ``columns``, and the run (marked when partial)."""
    keyed = [((r.method_label, r.model_label), {r.dataset_label: r}) for r in runs]
    names = labels(keyed, ignore=("hint",))  # the dataset label names the hint mode
    lead, cells = _lead(
        [(r.method_label, r.model_label, n) for r, n in zip(runs, names, strict=True)]
    )
    partial = [run for run in runs if run.partial]
    if partial:
        notes = [
            *notes,
            "Partial: the run has records for fewer problems than it selected (it was "
            "stopped, or is still running).",
        ]
    return Table(
        name=name,
        title=title,
        columns=(*lead, *columns, Column("run")),
        rows=tuple(
            (*first, *row, run.display_name)
            for run, first, row in zip(runs, cells, rows, strict=True)
        ),
        notes=tuple(notes),
    )


def _grouped_table(
    *,
    name: str,
    title: str,
    runs: Sequence[Run],
    groups: Sequence[tuple[str, list[Score]]],
    missing: str,
) -> Table:
    """Per run: n and strict accuracy of each group, then overall (with paper if it differs)."""
    columns: list[Column] = []
    rows: list[list[Cell]] = [[] for _ in runs]
    for title_, scores in groups:
        new_columns, cells = accuracy_columns(title_, scores, paper=False)
        columns.extend(new_columns)
        for row, extra in zip(rows, cells, strict=True):
            row.extend(extra)
    overall = [score(run.records) for run in runs]
    new_columns, cells = accuracy_columns("overall", overall, paper=any(s.differ for s in overall))
    columns.extend(new_columns)
    for row, extra in zip(rows, cells, strict=True):
        row.extend(extra)
    notes = () if runs else (missing,)
    return per_run_table(name=name, title=title, runs=runs, columns=columns, rows=rows, notes=notes)


def math_by_subject_table(runs: Sequence[Run]) -> Table:
    chosen = [r for r in runs if r.config.dataset == "math"]
    per_run = [by_subject(run.records) for run in chosen]
    subjects = [s for s in MATH_SUBJECTS if any(s in scores for scores in per_run)]
    subjects += sorted({s for scores in per_run for s in scores} - set(subjects))
    groups = [
        (subject_title(s), [scores.get(s, Score(0, 0, 0)) for scores in per_run]) for s in subjects
    ]
    return _grouped_table(
        name="math_by_subject",
        title="MATH by subject",
        runs=chosen,
        groups=groups,
        missing="No MATH run among the runs given.",
    )


def math_by_level_table(runs: Sequence[Run]) -> Table:
    chosen = [r for r in runs if r.config.dataset == "math"]
    per_run = [by_level(run.records) for run in chosen]
    groups = [(f"level {level}", [scores[level] for scores in per_run]) for level in MATH_LEVELS]
    return _grouped_table(
        name="math_by_level",
        title="MATH by difficulty level",
        runs=chosen,
        groups=groups,
        missing="No MATH run among the runs given.",
    )


def transfer_table(runs: Sequence[Run]) -> Table:
    """Without and with transfer on the same scenario 2 and 3 problems, per scenario and both."""
    chosen = [r for r in runs if r.config.dataset == "transfer"]
    measured = [transfer_scores(run.records) for run in chosen]
    paper = any(c.differ or t.differ for m in measured for c, t in m.scopes.values())
    columns: list[Column] = []
    for scope in ("2", "3", "2+3"):
        label = f"scenario {scope}" if scope != "2+3" else "scenarios 2+3"
        without, with_ = f"{label} without transfer", f"{label} with transfer"
        columns += [
            Column(f"{label} n", "count", group=label),
            Column(without, "percent", group=label),
            *interval_columns(without, group=label),
            Column(with_, "percent", group=label),
            *interval_columns(with_, group=label),
            Column(f"{label} change", "delta", group=label),
        ]
    if paper:
        columns += [
            Column("scenarios 2+3 without transfer (paper)", "percent"),
            Column("scenarios 2+3 with transfer (paper)", "percent"),
        ]
    rows: list[list[Cell]] = []
    notes: list[str] = []
    for run, m in zip(chosen, measured, strict=True):
        row: list[Cell] = []
        for scope in ("2", "3", "2+3"):
            control, transfer = m.scopes[scope]
            change = (
                transfer.accuracy - control.accuracy
                if transfer.accuracy is not None and control.accuracy is not None
                else None
            )
            row += [
                control.n,
                control.accuracy,
                *interval_cells(control),
                transfer.accuracy,
                *interval_cells(transfer),
                change,
            ]
        if paper:
            control, transfer = m.scopes["2+3"]
            row += [control.accuracy_paper, transfer.accuracy_paper]
        rows.append(row)
        if m.transfer_records == 0:
            notes.append(
                f"{run.name} has no transfer-arm records: every scenario was solved on its own."
            )
        elif m.unpaired:
            notes.append(
                f"{run.name}: {m.unpaired} scenario 2/3 record(s) without a record of the same "
                "problem in the other arm are left out."
            )
    if not chosen:
        notes.append("No Tool Transfer run among the runs given.")
    notes.insert(
        0,
        "Both arms on the same problems: scenarios 2 and 3 with a record in each arm. "
        "With transfer, they are solved with the tool created for scenario 1 of their group.",
    )
    return per_run_table(
        name="transfer",
        title="Tool Transfer: without and with transfer",
        runs=chosen,
        columns=columns,
        rows=rows,
        notes=notes,
    )
