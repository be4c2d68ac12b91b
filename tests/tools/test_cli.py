"""``creator tools ...`` through its argument parser, printing to a captured terminal."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from creator.cli import tools_cmd
from creator.errors import ConfigError, InputError
from creator.tools import ToolLibrary
from tests.tools.conftest import CIRCLE, TOOLS


def tools(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="creator")
    sub = parser.add_subparsers(dest="command", required=True)
    tools_cmd.register(sub)
    args = parser.parse_args(["tools", *argv])
    code: int = args.func(args)
    return code


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("CREATOR_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def lib_path(tmp_path: Path) -> Path:
    path = tmp_path / "lib.sqlite"
    with ToolLibrary(path) as library:
        for name, (code, problem) in TOOLS.items():
            verified = name != "table_mean"
            library.add(code, problem=problem, dataset="math", ran=True, verified=verified)
    return path


def test_list(lib_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert tools("list", "--library", str(lib_path)) == 0
    out = capsys.readouterr().out
    for name in TOOLS:
        assert name in out
    assert "#1" in out and "circle_area(radius: float) -> float" in out and "correct" in out
    assert tools("list", "--library", str(lib_path), "--verified", "--limit", "2") == 0
    out = capsys.readouterr().out
    assert "compound_interest" in out and "count_primes" not in out and "2 of 5 tools shown" in out


def test_list_uses_the_default_library_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tools("list") == 0
    assert "no tools yet" in capsys.readouterr().out
    assert not (tmp_path / "data").exists()


def test_show(lib_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert tools("show", "count_primes", "--library", str(lib_path)) == 0
    out = capsys.readouterr().out
    assert "#4 count_primes" in out
    assert "sieve of Eratosthenes" in out and "How many primes are there below 100?" in out
    assert "sieve = [True] * limit" in out
    assert tools("show", "#2", "--library", str(lib_path)) == 0
    assert "circle_area" in capsys.readouterr().out


def test_search(lib_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert tools("search", "--library", str(lib_path), "interest", "on", "savings", "AND(") == 0
    out = capsys.readouterr().out
    assert "compound_interest" in out and "circle_area" not in out
    assert tools("search", "--library", str(lib_path), "mean of a table column") == 0
    assert "no matching verified tools" in capsys.readouterr().out
    assert tools("search", "--library", str(lib_path), "--all", "mean of a table column") == 0
    assert "table_mean(values: list[float]) -> float" in capsys.readouterr().out


def test_export_import_rm(
    lib_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "export.json"
    assert tools("export", str(out_file), "--library", str(lib_path)) == 0
    assert "exported 5 tool(s)" in capsys.readouterr().out
    assert len(json.loads(out_file.read_text())["tools"]) == 5
    other = tmp_path / "other.sqlite"
    assert tools("import", str(out_file), "--library", str(other)) == 0
    assert "5 added, 0 merged" in capsys.readouterr().out
    assert tools("import", str(out_file), "--library", str(other)) == 0
    assert "0 added, 5 merged" in capsys.readouterr().out
    assert tools("rm", "circle_area", "--library", str(other)) == 0
    assert "removed #2 circle_area" in capsys.readouterr().out
    with ToolLibrary(other) as library:
        assert library.count() == 4


def test_an_ambiguous_name_is_a_one_line_error(lib_path: Path) -> None:
    with ToolLibrary(lib_path) as library:
        library.add(CIRCLE.replace("math.pi", "3.14159"), problem="circle again")
    for action in ("show", "rm"):
        with pytest.raises(InputError) as info:
            tools(action, "circle_area", "--library", str(lib_path))
        message = str(info.value)
        assert message == "2 tools are named 'circle_area' (#2, #6): name one by its id"
    with ToolLibrary(lib_path) as library:
        assert library.count() == 6


def test_errors_are_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sqlite"
    with pytest.raises(InputError, match="there is no tool library at"):
        tools("show", "x", "--library", str(missing))
    assert not missing.exists()
    foreign = tmp_path / "foreign.txt"
    foreign.write_text("hello")
    with pytest.raises(ConfigError, match="is not a creator tool library"):
        tools("list", "--library", str(foreign))
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(InputError, match="is not JSON"):
        tools("import", str(bad), "--library", str(tmp_path / "new.sqlite"))


def test_the_main_entry_point_prints_errors_as_one_line(
    lib_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from creator.cli import main

    assert main.main(["tools", "show", "nothing_here", "--library", str(lib_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("creator: error: no tool named 'nothing_here'") and err.count("\n") == 1
