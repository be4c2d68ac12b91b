"""Tables as data: formatting, Markdown escaping and the CSV round trip."""

from __future__ import annotations

import pytest

from creator.report.tables import (
    Column,
    Table,
    display,
    escape_markdown,
    read_csv,
    to_csv,
    to_markdown,
)

TABLE = Table(
    name="t",
    title="A | table",
    columns=(
        Column("model"),
        Column("n", "count"),
        Column("acc", "percent"),
        Column("change", "delta"),
        Column("tokens per correct", "ratio"),
        Column("cost", "usd"),
    ),
    rows=(
        ("gpt-4o-mini", 1234, 0.45678, 0.05, 3000.0, 0.0027),
        ("x|y *bold* <script>alert(1)</script> [l](http://e) $a$", 0, None, None, None, "unknown"),
    ),
    notes=("a note about `code`",),
)


@pytest.mark.parametrize(
    ("cell", "kind", "shown"),
    [
        (1234, "count", "1,234"),
        (0.45678, "percent", "45.7%"),
        (0.05, "delta", "+5.0 pp"),
        (-0.25, "delta", "-25.0 pp"),
        (3000.0, "ratio", "3,000.0"),
        (0.0027, "usd", "$0.00270"),
        (12.5, "usd", "$12.50"),
        (0.0, "usd", "$0"),
        (0.15, "price", "0.15"),
        (None, "percent", "-"),
        ("unknown", "usd", "unknown"),
    ],
)
def test_display(cell, kind, shown) -> None:
    assert display(cell, kind) == shown


def test_markdown_escapes_text_from_runs() -> None:
    text = to_markdown(TABLE)
    lines = text.splitlines()
    assert lines[0] == r"## A \| table"
    header, align, first, second = lines[2:6]
    assert header.count(" | ") == 5 and align == "|---|---:|---:|---:|---:|---:|"
    # $ is escaped even in our own figures: two of them on a line could start math mode
    assert first == r"| gpt-4o-mini | 1,234 | 45.7% | +5.0 pp | 3,000.0 | \$0.00270 |"
    assert "<script>" not in text and r"\<script\>" in text
    assert r"x\|y \*bold\*" in second and r"\[l\](http://e)" in second and r"\$a\$" in second
    assert second.count(" | ") == 5  # the | in the model name does not split the cell
    assert r"a note about \`code\`" in text


def test_escape_markdown_keeps_plain_text_and_joins_lines() -> None:
    assert escape_markdown("Counting & Probability") == "Counting & Probability"
    assert escape_markdown("a &amp; b\nc") == r"a \&amp; b c"
    assert escape_markdown("run_1") == r"run\_1"


def test_csv_round_trip_keeps_raw_values() -> None:
    header, rows = read_csv(to_csv(TABLE))
    assert header == ["model", "n", "acc", "change", "tokens per correct", "cost"]
    assert rows[0] == ["gpt-4o-mini", "1234", "0.4568", "0.05", "3000.0", "0.0027"]
    assert rows[1] == [TABLE.rows[1][0], "0", "", "", "", "unknown"]
    assert float(rows[0][2]) == pytest.approx(0.4568)


def test_an_empty_table_shows_its_notes_only() -> None:
    empty = Table(name="e", title="Empty", columns=(Column("a"),), rows=(), notes=("nothing",))
    assert to_markdown(empty) == "## Empty\n\nnothing\n"
    assert read_csv(to_csv(empty)) == (["a"], [])


def test_a_row_of_the_wrong_width_is_refused() -> None:
    with pytest.raises(ValueError, match="2 cells, not 1"):
        Table(name="w", title="W", columns=(Column("a"),), rows=(("x", "y"),))
