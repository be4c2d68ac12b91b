"""Writing a report directory: ``report.md``, one CSV per table, and the PNG figures.

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
from creator.report.costs import PriceTable
from creator.report.paper import (
    REPLAY_NOTE,
    creation_by_hint_table,
    math_by_level_table,
    math_by_subject_table,
    method_by_dataset_table,
    transfer_table,
)
from creator.report.plots import (
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
    "runs",
)
FIGURE_NAMES = ("accuracy_by_level", "accuracy_by_rounds")
_FIGURE_AFTER = {"accuracy_by_level": "math_by_level", "accuracy_by_rounds": "accuracy_by_rounds"}


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


def _figures(specs: Sequence[FigureSpec], out_dir: Path) -> tuple[list[Path], list[str]]:
    written: list[Path] = []
    for spec in specs:
        path = out_dir / f"{spec.name}.png"
        try:
            save(spec, path)
        except PlotsUnavailableError as exc:
            return written, [f"Figures skipped: {exc}"]
        written.append(path)
    return written, []


def _markdown(
    runs: Sequence[Run], tables: Sequence[Table], figures: dict[str, FigureSpec], notes: list[str]
) -> str:
    parts = [
        "# CREATOR evaluation report\n",
        f"Built by `creator report` from {len(runs)} run(s): "
        + ", ".join(escape_markdown(run.name) for run in runs)
        + ". Accuracy is strict scoring unless marked (paper). Each table is also a CSV file "
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
                parts.append(f"![{title}]({name}.png)\n")
    return "\n".join(parts)


def write_report(runs: Sequence[Run], *, out_dir: Path, prices: PriceTable) -> ReportFiles:
    """Write the report of ``runs`` into ``out_dir`` (created if missing)."""
    _check_out_dir(out_dir, runs)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = build_tables(runs, prices=prices)
    notes: list[str] = []
    specs = [s for s in (level_figure(runs), rounds_figure(runs, max_rounds(runs))) if s]
    if not any(s.name == "accuracy_by_level" for s in specs):
        notes.append("No run has MATH levels: the accuracy-by-level figure is not drawn.")
    figures, figure_notes = _figures(specs, out_dir)
    notes.extend(figure_notes)
    drawn = {path.stem for path in figures}
    csvs: list[Path] = []
    for table in tables:
        if table.rows:
            path = out_dir / f"{table.name}.csv"
            path.write_text(to_csv(table), encoding="utf-8")
            csvs.append(path)
    markdown = out_dir / "report.md"
    text = _markdown(runs, tables, {s.name: s for s in specs if s.name in drawn}, notes)
    tmp = markdown.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(markdown)
    kept = {p.name for p in (*csvs, *figures)}
    for stale in [f"{n}.csv" for n in TABLE_NAMES] + [f"{n}.png" for n in FIGURE_NAMES]:
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
