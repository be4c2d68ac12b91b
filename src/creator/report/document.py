"""Writing a report directory: ``report.md``, one CSV per table, and the figures (PNG by
default; SVG and PDF on request, :data:`~creator.report.plots.FORMATS`).

The output directory is never a run directory (a report never writes into a run). Files a
previous report left there under this module's names and not written this time (a table that
is now empty, a figure now skipped) are removed, so the directory never mixes two reports;
nothing else in it is touched. Without matplotlib the tables are still written and the
figures skipped with a note. Deliberately left out: terminal output (the CLI's job).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from creator.errors import InputError
from creator.files import ensure_dir, write_text
from creator.report.costs import PriceTable
from creator.report.equal_cost import equal_cost_figure, equal_cost_table
from creator.report.paper import (
    REPLAY_NOTE,
    creation_by_hint_table,
    math_by_level_table,
    math_by_subject_table,
    method_by_dataset_table,
    transfer_table,
)
from creator.report.plots import (
    FORMATS,
    FigureSpec,
    PlotsUnavailableError,
    level_figure,
    rounds_figure,
    save,
)
from creator.report.runs import Run
from creator.report.tables import Table, escape_markdown, to_csv, to_markdown
from creator.report.usage import costs_table, max_rounds, rounds_table, runs_table

__all__ = ["FIGURE_NAMES", "TABLE_NAMES", "ReportFiles", "build_tables", "write_report"]

TABLE_NAMES = (
    "method_by_dataset",
    "math_by_subject",
    "math_by_level",
    "creation_by_hint",
    "transfer",
    "accuracy_by_rounds",
    "costs",
    "equal_cost",
    "runs",
)
FIGURE_NAMES = ("accuracy_by_level", "accuracy_by_rounds", "accuracy_by_tokens")
_FIGURE_AFTER = {
    "accuracy_by_level": "math_by_level",
    "accuracy_by_rounds": "accuracy_by_rounds",
    "accuracy_by_tokens": "equal_cost",
}


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """What :func:`write_report` wrote, and the tables it built (the main one first)."""

    out_dir: Path
    markdown: Path
    csvs: tuple[Path, ...]
    figures: tuple[Path, ...]
    tables: tuple[Table, ...]
    notes: tuple[str, ...]

    @property
    def main(self) -> Table:
        return self.tables[0]


def build_tables(runs: Sequence[Run], *, prices: PriceTable) -> list[Table]:
    """Every table of a report, the main one (method by dataset) first."""
    return [
        method_by_dataset_table(runs),
        math_by_subject_table(runs),
        math_by_level_table(runs),
        creation_by_hint_table(runs),
        transfer_table(runs),
        rounds_table(runs),
        costs_table(runs, prices=prices),
        equal_cost_table(runs),
        runs_table(runs),
    ]


def _check_out_dir(out_dir: Path, runs: Sequence[Run]) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir} is a file, not a directory")
    run_paths = {run.path.resolve() for run in runs}
    if (
        out_dir.resolve() in run_paths
        or (out_dir / "results.jsonl").exists()
        or (out_dir / "config.json").exists()
    ):
        raise InputError(f"--out {out_dir} is a run directory: a report never writes into a run")


def _figures(
    specs: Sequence[FigureSpec], out_dir: Path, formats: Sequence[str]
) -> tuple[list[Path], list[str]]:
    written: list[Path] = []
    for spec in specs:
        for fmt in formats:
            path = out_dir / f"{spec.name}.{fmt}"
            try:
                save(spec, path, fmt=fmt)
            except PlotsUnavailableError as exc:
                return written, [f"Figures skipped: {exc}"]
            written.append(path)
    return written, []


def _figure_link(name: str, title: str, formats: Sequence[str]) -> str:
    """An image for PNG or SVG (the first asked for), else a link to the PDF."""
    shown = next((f for f in formats if f in ("png", "svg")), None)
    if shown is not None:
        return f"![{title}]({name}.{shown})\n"
    return f"Figure: [{title}]({name}.{formats[0]})\n"


def _markdown(
    runs: Sequence[Run],
    tables: Sequence[Table],
    figures: dict[str, FigureSpec],
    notes: list[str],
    formats: Sequence[str],
) -> str:
    parts = [
        "# CREATOR evaluation report\n",
        f"Built by `creator report` from {len(runs)} run(s): "
        + ", ".join(escape_markdown(run.display_name) for run in runs)
        + ". Accuracy is strict scoring unless marked (paper); ± is half the width of its 95% "
        "Wilson interval, in points (the CSV files have the interval itself: ci low, ci high), "
        "and the figures draw that interval as error bars. Each table is also a CSV file "
        "next to this one.\n",
    ]
    if any(run.replay for run in runs):
        parts.append(f"**Replay.** {REPLAY_NOTE}\n")
    parts.extend(f"{escape_markdown(note)}\n" for note in notes)
    for table in tables:
        parts.append(to_markdown(table))
        if table.rows:
            parts.append(f"CSV: [{table.name}.csv]({table.name}.csv)\n")
        for name, after in _FIGURE_AFTER.items():
            if after == table.name and name in figures:
                title = escape_markdown(figures[name].title)
                parts.append(_figure_link(name, title, formats))
    return "\n".join(parts)


def write_report(
    runs: Sequence[Run],
    *,
    out_dir: Path,
    prices: PriceTable,
    formats: Sequence[str] = ("png",),
) -> ReportFiles:
    """Write the report of ``runs`` into ``out_dir`` (created if missing), its figures in each
    of ``formats``."""
    _check_out_dir(out_dir, runs)
    ensure_dir(out_dir)
    tables = build_tables(runs, prices=prices)
    notes: list[str] = []
    candidates = (
        level_figure(runs),
        rounds_figure(runs, max_rounds(runs)),
        equal_cost_figure(runs),
    )
    specs = [s for s in candidates if s]
    if not any(s.name == "accuracy_by_level" for s in specs):
        notes.append("No run has MATH levels: the accuracy-by-level figure is not drawn.")
    figures, figure_notes = _figures(specs, out_dir, formats)
    notes.extend(figure_notes)
    drawn = {path.stem for path in figures}
    csvs: list[Path] = []
    for table in tables:
        if table.rows:
            path = out_dir / f"{table.name}.csv"
            write_text(path, to_csv(table))
            csvs.append(path)
    markdown = out_dir / "report.md"
    text = _markdown(runs, tables, {s.name: s for s in specs if s.name in drawn}, notes, formats)
    write_text(markdown, text)
    kept = {p.name for p in (*csvs, *figures)}
    figure_files = [f"{n}.{fmt}" for n in FIGURE_NAMES for fmt in FORMATS]
    for stale in [f"{n}.csv" for n in TABLE_NAMES] + figure_files:
        if stale not in kept:
            (out_dir / stale).unlink(missing_ok=True)
    return ReportFiles(
        out_dir=out_dir,
        markdown=markdown,
        csvs=tuple(csvs),
        figures=tuple(figures),
        tables=tuple(tables),
        notes=tuple(notes),
    )
