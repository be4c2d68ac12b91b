"""Which model made each tool (``maker``): recorded on add, kept on merge, carried by exports,
and unknown in libraries written before makers were recorded (schema version 1)."""

from __future__ import annotations

import argparse
import sqlite3
import time
from pathlib import Path

import pytest

from creator.cli import tools_cmd
from creator.tools import ToolLibrary
from creator.tools.db import APPLICATION_ID, MIGRATIONS, VERSION_TABLE
from tests.tools.conftest import CIRCLE, INTEREST


def old_library(path: Path) -> None:
    """A library as version 1 wrote it, with one tool in it."""
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for sql in MIGRATIONS[0][1]:
        conn.execute(sql)
    conn.execute(
        f"CREATE TABLE {VERSION_TABLE} (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at REAL NOT NULL)"
    )
    conn.execute(f"INSERT INTO {VERSION_TABLE} VALUES (1, ?, 0)", (MIGRATIONS[0][0],))
    conn.execute(
        "INSERT INTO tools (name, signature, docstring, functions, code, code_hash, created_at,"
        " problem, ran, verified) VALUES ('circle_area', 'circle_area(radius)', '', '[]', ?,"
        " 'old-hash', ?, 'area?', 1, 1)",
        (CIRCLE, time.time()),
    )
    conn.execute("INSERT INTO tools_fts (rowid, name, docstring, problem) VALUES (1, 'c', '', '')")
    conn.commit()
    conn.close()


def tools(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="creator")
    tools_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["tools", *argv])
    code: int = args.func(args)
    return code


def test_a_tool_records_its_maker_and_a_variant_keeps_the_first(library: ToolLibrary) -> None:
    first = library.add(INTEREST, problem="interest?", maker="strong")
    assert first.maker == "strong"
    variant = INTEREST.replace("amount", "total")
    merged = library.add(variant, problem="again?", maker="cheap")
    assert merged.id == first.id and merged.variants == 2 and merged.maker == "strong"
    assert library.add(CIRCLE, problem="area?").maker is None  # no model name: not recorded


def test_an_older_library_opens_with_unknown_makers_and_is_upgraded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    path = tmp_path / "old.sqlite"
    old_library(path)
    with ToolLibrary(path) as library:
        (old,) = library.list()
        assert old.name == "circle_area" and old.maker is None
        assert library.add(INTEREST, problem="interest?", maker="strong").maker == "strong"
    versions = sqlite3.connect(path).execute(f"SELECT version FROM {VERSION_TABLE}").fetchall()
    assert [v for (v,) in versions] == [1, 2]
    assert tools("list", "--library", str(path)) == 0
    listed = capsys.readouterr().out
    assert "unknown" in listed and "strong" in listed
    assert tools("show", "#1", "--library", str(path)) == 0
    assert "maker" in (shown := capsys.readouterr().out) and "unknown" in shown


def test_exports_carry_the_maker_and_an_import_fills_an_unknown_one(tmp_path: Path) -> None:
    with ToolLibrary(tmp_path / "a.sqlite") as made:
        made.add(INTEREST, problem="interest?", maker="strong")
        made.add(CIRCLE, problem="area?", maker="cheap")
        made.export(tmp_path / "tools.json")
    with ToolLibrary(tmp_path / "b.sqlite") as other:
        other.add(INTEREST, problem="interest?")  # maker not recorded here
        assert other.import_(tmp_path / "tools.json") == (1, 1)
        assert {t.name: t.maker for t in other.list()} == {
            "compound_interest": "strong",
            "circle_area": "cheap",
        }
