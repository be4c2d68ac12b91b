"""The terminal's main table: whole at any width, one block per row when the table is too wide."""

from __future__ import annotations

from pathlib import Path

import pytest

from creator.cli.main import main
from creator.report.compact import blocks
from creator.report.costs import known_prices
from creator.report.document import build_tables
from creator.report.paper import method_by_dataset_table
from creator.report.runs import load_runs
from creator.report.tables import Column, Table
from tests.report.conftest import rec, write_run


def test_blocks_put_a_group_on_one_line() -> None:
    table = Table(
        name="t",
        title="T",
        columns=(
            Column("method"),
            Column("model"),
            Column("settings"),
            Column("MATH n", "count", group="MATH"),
            Column("MATH", "percent", group="MATH"),
            Column("MATH ±", "pm", show="display", group="MATH"),
            Column("MATH ci low", "percent", show="csv", group="MATH"),
            Column("MATH (paper)", "percent", group="MATH"),
            Column("TabMWP n", "count", group="TabMWP"),
            Column("TabMWP", "percent", group="TabMWP"),
            Column("runs"),
        ),
        rows=(
            ("creator", "gpt", "temperature=0.7", 1234, 0.5, 0.1, 0.4, 0.75, None, None, "r/a"),
            ("pot", "gpt", None, 2, 1.0, 0.3, 0.6, 1.0, 3, 0.0, "r/b"),
        ),
    )
    assert blocks(table) == [
        "T",
        "creator · gpt · temperature=0.7",
        "  MATH: n 1,234, 50.0% ±10.0, paper 75.0%",  # no TabMWP line: no value
        "  runs: r/a",
        "pot · gpt",
        "  MATH: n 2, 100.0% ±30.0, paper 100.0%",
        "  TabMWP: n 3, 0.0%",
        "  runs: r/b",
    ]


@pytest.fixture
def many_runs(
    tmp_path: Path, math_run: Path, pot_run: Path, creation_runs: list[Path], transfer_run: Path
) -> list[Path]:
    """Enough columns and long enough names that no 80-column table could hold them."""
    long = tmp_path / ("a-run-directory-with-a-rather-long-name-" * 2)
    killed = write_run(long, [rec("tabmwp/0", strict=True)], dataset="tabmwp",
                       ids=["tabmwp/0", "tabmwp/1"], settings={"temperature": 0.9})  # fmt: skip
    return [math_run, pot_run, *creation_runs, transfer_run, killed]


def _figures(paths: list[Path]) -> list[str]:
    """Every accuracy and ± figure the main table shows."""
    table = method_by_dataset_table(load_runs(paths))
    kinds = [c.kind for c in table.display_columns]
    return [
        cell
        for row in table.display_rows()
        for cell, kind in zip(row, kinds, strict=True)
        if kind in ("percent", "pm") and cell != "-"
    ]


@pytest.mark.parametrize("columns", ["80", "60"])
def test_a_narrow_or_piped_terminal_gets_every_figure_whole(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    many_runs: list[Path],
    columns: str,
) -> None:
    monkeypatch.setenv("COLUMNS", columns)  # and capsys is a pipe, not a terminal
    assert main(["report", *map(str, many_runs), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "…" not in printed and "..." not in printed
    figures = _figures(many_runs)
    assert len(figures) >= 10
    for figure in figures:
        assert figure in printed
    assert "creator · gpt-4o-mini · temperature=0.9" in printed  # the row's settings
    assert "  MATH: n 6, 50.0% ±31.2, paper 66.7%" in printed
    assert "(partial: 1 of 2 selected)" in " ".join(printed.split())  # wrapped anywhere
    assert "┃" not in printed  # not a squeezed table


def test_a_wide_terminal_gets_the_table(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    math_run: Path,
    pot_run: Path,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["report", str(math_run), str(pot_run), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    header = next(line for line in printed.splitlines() if line.startswith("┃ method"))
    assert [cell.strip() for cell in header.strip("┃ ").split("┃")][:6] == [
        "method", "model", "MATH n", "MATH", "MATH ±", "MATH (paper)",
    ]  # fmt: skip
    assert "…" not in printed and "50.0%" in printed and "±31.2" in printed


def test_every_table_can_be_laid_out_compactly(many_runs: list[Path]) -> None:
    for table in build_tables(load_runs(many_runs), prices=known_prices()):
        lines = blocks(table)
        assert lines[0] == table.title
        assert len(lines) > len(table.rows), table.name
