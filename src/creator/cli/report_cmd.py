"""``creator report``: the paper's tables and figures from one or more run directories.

Thin: reads the runs, writes the report with :func:`creator.report.document.write_report`, and
prints where it went with the main table: as a table when it fits the terminal's width, else
(narrow terminals, and pipes, which count as 80 columns) one block per row
(:func:`creator.report.compact.blocks`), so that no cell is ever cut to "…". Runs are only read,
never repaired or written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table as RichTable
from rich.text import Text

from creator.cli.price_args import add_price_arg, price_table
from creator.report.compact import blocks
from creator.report.document import write_report
from creator.report.paper import REPLAY_NOTE
from creator.report.plots import FORMATS, parse_formats
from creator.report.runs import load_runs
from creator.report.tables import Table

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "report",
        help="tables (Markdown, CSV) and figures (PNG, SVG, PDF) from evaluation runs",
        description="Build the paper's tables and figures from the run directories written by "
        "`creator eval --out DIR`. The runs are only read (a run in progress is fine).",
    )
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR", help="run directories")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("report"),
        metavar="DIR",
        help="where to write report.md, the CSV files and the figures (default: ./report)",
    )
    add_price_arg(parser)
    parser.add_argument(
        "--format",
        default="png",
        metavar="LIST",
        help=f"figure formats, comma-separated, from {', '.join(FORMATS)} (default: png)",
    )
    parser.set_defaults(func=run)


def _rich(table: Table) -> RichTable:
    out = RichTable(title=Text(table.title), title_justify="left")
    for column in table.display_columns:
        text = column.kind == "text"
        out.add_column(
            Text(column.name),
            justify="left" if text else "right",
            overflow="fold",
            no_wrap=not text,  # figures whole; text (models, runs) may wrap between words
        )
    for row in table.display_rows():
        out.add_row(*(Text(cell) for cell in row))
    return out


def _show(console: Console, table: Table) -> None:
    """The table if it fits the console's width with every figure whole and text wrapped only
    between words, else its compact blocks."""
    wide = _rich(table)
    unbounded = console.options.update_width(1_000_000)  # measured as is, not clamped
    if Measurement.get(console, unbounded, wide).minimum <= console.width:
        console.print(wide)
        return
    for line in blocks(table):
        console.print(Text(line, overflow="fold"), soft_wrap=False)


def run(args: argparse.Namespace) -> int:
    prices = price_table(args)
    formats = parse_formats(args.format)
    runs = load_runs(args.runs)
    files = write_report(runs, out_dir=args.out, prices=prices, formats=formats)
    console = Console(highlight=False)
    main = next((t for t in files.tables if t.rows), files.tables[-1])
    _show(console, main)
    for note in main.notes:
        console.print(Text(note, style="dim"))
    if any(r.replay for r in runs):
        console.print(Text(REPLAY_NOTE, style="yellow"))
    for note in files.notes:
        console.print(Text(note, style="dim"))
    console.print(
        Text(
            f"report: {files.markdown}   ({len(files.csvs)} CSV file(s) and "
            f"{len(files.figures)} figure(s) in {files.out_dir})"
        )
    )
    return 0
