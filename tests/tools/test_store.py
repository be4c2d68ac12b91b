"""The tool library on a real SQLite file: add, dedupe, search, counters, remove, files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from creator.errors import ConfigError, InputError
from creator.tools import ToolLibrary, default_library_path, fts_query
from creator.tools.db import MIGRATIONS
from creator.tools.exchange import EXPORT_FORMAT
from tests.tools.conftest import CIRCLE, INTEREST, TOOLS


def test_add_keeps_the_tool_and_its_metadata(library: ToolLibrary) -> None:
    record = library.add(
        INTEREST, problem="interest?", problem_id="math/algebra/3", dataset="math", ran=True,
        verified=False,
    )  # fmt: skip
    assert record.id == 1 and record.ref == "#1"
    assert record.name == "compound_interest"
    assert record.signature.startswith("compound_interest(principal: float, rate: float")
    assert record.docstring.startswith("Interest earned on a principal")
    assert record.code == INTEREST
    assert (record.problem, record.problem_id, record.dataset) == (
        "interest?",
        "math/algebra/3",
        "math",
    )
    assert (record.ran, record.verified) == (True, False)
    assert (record.offered, record.reused, record.correct, record.variants) == (0, 0, 0, 1)
    assert record.created_at.tzinfo is not None
    assert library.get("compound_interest") == library.get("#1") == library.get(1) == record


def test_add_dedupes_variants_keeping_the_first_code(library: ToolLibrary) -> None:
    first = library.add(INTEREST, problem="first problem", ran=False, verified=False)
    variant = (
        INTEREST.replace("principal", "p").replace("amount", "total")
        .replace('"""Interest earned', "# Interest earned\n    \"\"\"Compound interest")
    )  # fmt: skip
    second = library.add(variant, problem="second problem", dataset="math", ran=True)
    third = library.add(INTEREST, problem="third", ran=False, verified=True)
    assert second.id == third.id == first.id
    assert library.count() == 1
    assert third.code == INTEREST and third.problem == "first problem"
    assert third.variants == 3
    assert (third.ran, third.verified) == (True, True)  # OR-merged
    other = library.add(INTEREST.replace("- principal", "+ principal"), problem="x")
    assert other.id != first.id and library.count() == 2


def test_add_refuses_code_that_is_not_a_tool(library: ToolLibrary) -> None:
    with pytest.raises(InputError, match="does not parse"):
        library.add("def broken(:\n", problem="x")
    with pytest.raises(InputError, match="no top-level function"):
        library.add("print(1)\n", problem="x")
    assert library.count() == 0


def test_search_ranks_the_interest_tool_first(filled: ToolLibrary) -> None:
    hits = filled.search("Tom invests $500 at 4% interest compounded quarterly for 3 years.", k=3)
    assert hits[0].name == "compound_interest"
    assert hits[0].score is not None
    assert [h.score for h in hits] == sorted(h.score for h in hits if h.score is not None)
    assert (
        filled.search("the radius of a round pond is 3 m; find its area", k=1)[0].name
        == "circle_area"
    )
    assert filled.search("prime numbers under 50")[0].name == "count_primes"
    assert len(filled.search("how many", k=2)) <= 2
    assert filled.search("zebra quantum xylophone") == []


def test_search_only_offers_verified_tools_unless_asked(library: ToolLibrary) -> None:
    library.add(INTEREST, problem="compound interest", ran=True, verified=False)
    assert library.search("compound interest") == []
    assert [h.name for h in library.search("compound interest", verified_only=False)] == [
        "compound_interest"
    ]
    assert library.search("compound interest", k=0, verified_only=False) == []


@pytest.mark.parametrize(
    "text",
    [
        'AND( "unbalanced * NEAR( interest',
        "name: docstring: problem:interest",
        "interest OR OR AND NOT",
        '"""***^^^---+++{}[]()',
        "interest\x00\n\t'; DROP TABLE tools; --",
        "",
        "   ",
        "é ü 利息 интерес",
        "a " * 5000,
    ],
)
def test_hostile_search_text_never_raises(filled: ToolLibrary, text: str) -> None:
    hits = filled.search(text, k=5)
    assert len(hits) <= 5
    assert filled.count() == len(TOOLS)


def test_fts_query_quotes_every_word() -> None:
    assert fts_query('AND( "x" * NEAR(y') == '"x" OR "near" OR "y"'
    assert fts_query("compound_interest rate") == '"compound" OR "interest" OR "rate"'
    assert fts_query("what is the") == ""


def test_offered_reused_and_correct_counters(filled: ToolLibrary) -> None:
    interest = filled.get("compound_interest")
    circle = filled.get("circle_area")
    assert filled.record_offered([interest.id, circle.id, interest.id, 999]) == 2
    assert filled.record_offered([]) == 0
    assert filled.record_reused(interest.id, correct=True)
    assert filled.record_reused(interest.id, correct=False)
    assert not filled.record_reused(999, correct=True)
    interest = filled.get(interest.id)
    assert (interest.offered, interest.reused, interest.correct) == (1, 2, 1)
    assert (filled.get(circle.id).offered, filled.get(circle.id).reused) == (1, 0)


def test_a_correct_reuse_verifies_the_tool(library: ToolLibrary) -> None:
    record = library.add(INTEREST, problem="x", ran=True, verified=False)
    library.record_reused(record.id, correct=False)
    assert not library.get(record.id).verified
    library.record_reused(record.id, correct=True)
    assert library.get(record.id).verified


def test_list_and_remove(filled: ToolLibrary) -> None:
    filled.add(CIRCLE.replace("** 2", "* radius"), problem="circle", ran=True, verified=False)
    assert [r.name for r in filled.list()][:2] == ["compound_interest", "circle_area"]
    assert len(filled.list()) == 6 and len(filled.list(verified_only=True)) == 5
    assert len(filled.list(limit=2)) == 2
    removed = filled.remove("compound_interest")
    assert removed.name == "compound_interest" and filled.count() == 5
    assert filled.search("compound interest") == []  # gone from the index too
    with pytest.raises(InputError, match="no tool named 'compound_interest'"):
        filled.get("compound_interest")
    with pytest.raises(InputError, match="no tool #99"):
        filled.remove("#99")


def test_an_ambiguous_name_lists_the_ids(library: ToolLibrary) -> None:
    a = library.add(CIRCLE, problem="x")
    b = library.add(CIRCLE.replace("math.pi", "3.14"), problem="y")
    with pytest.raises(InputError) as info:
        library.get("circle_area")
    message = str(info.value)
    assert f"#{a.id}" in message and f"#{b.id}" in message and "\n" not in message
    with pytest.raises(InputError):
        library.remove("circle_area")
    assert library.remove(f"#{b.id}").id == b.id
    assert library.get("circle_area").id == a.id


def test_export_import_round_trip_and_dedupe(filled: ToolLibrary, tmp_path: Path) -> None:
    interest = filled.get("compound_interest")
    filled.record_offered([interest.id])
    filled.record_reused(interest.id, correct=True)
    out = tmp_path / "tools.json"
    assert filled.export(out) == len(TOOLS)
    document = json.loads(out.read_text())
    assert document["format"] == EXPORT_FORMAT and document["version"] == 1
    with ToolLibrary(tmp_path / "other.sqlite") as other:
        other.add(INTEREST.replace("amount", "total"), problem="already here", ran=False)
        assert other.import_(out) == (len(TOOLS) - 1, 1)
        assert other.import_(out) == (0, len(TOOLS))  # idempotent
        assert other.count() == len(TOOLS)
        merged = other.get("compound_interest")
        assert merged.problem == "already here"
        assert (merged.ran, merged.verified, merged.offered, merged.reused, merged.correct) == (
            True, True, 1, 1, 1,
        )  # fmt: skip
        circle = other.get("circle_area")
        original = filled.get("circle_area")
        assert (circle.code, circle.problem, circle.dataset, circle.created_at) == (
            original.code, original.problem, original.dataset, original.created_at,
        )  # fmt: skip
        assert other.search("area of a circle")[0].name == "circle_area"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json at all", "is not JSON"),
        ("[1, 2]", "is not a creator tool export"),
        ('{"format": "something-else", "version": 1, "tools": []}', "is not a creator tool export"),
        (f'{{"format": "{EXPORT_FORMAT}", "version": 7, "tools": []}}', "version 7"),
        (f'{{"format": "{EXPORT_FORMAT}", "version": 1}}', "tools"),
        (f'{{"format": "{EXPORT_FORMAT}", "version": 1, "tools": [{{"problem": "x"}}]}}', "code"),
        (
            f'{{"format": "{EXPORT_FORMAT}", "version": 1, "tools": [{{"code": "def f(): pass",'
            ' "offered": -3}]}',
            "offered",
        ),
        (
            f'{{"format": "{EXPORT_FORMAT}", "version": 1, "tools": [{{"code": "def f(): pass"}},'
            ' {"code": "def g(:"}]}',
            "tool 2: the tool code does not parse",
        ),
    ],
)
def test_a_bad_import_file_adds_nothing(
    library: ToolLibrary, tmp_path: Path, content: str, message: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(InputError) as info:
        library.import_(bad)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert library.count() == 0
    with pytest.raises(InputError, match="file not found"):
        library.import_(tmp_path / "missing.json")


def test_import_never_runs_code(library: ToolLibrary, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    code = (
        f"open({str(marker)!r}, 'w').write('top level')\n"
        f"@__import__('pathlib').Path({str(marker)!r}).touch\n"
        f"def tool(x=open({str(marker)!r}, 'w')):\n"
        f'    """Writes a file if ever run."""\n'
        f"    open({str(marker)!r}, 'w').write('body')\n"
    )
    export = tmp_path / "evil.json"
    export.write_text(
        json.dumps({"format": EXPORT_FORMAT, "version": 1, "tools": [{"code": code}]})
    )
    assert library.import_(export) == (1, 0)
    library.search("writes a file", verified_only=False)
    library.get("tool")
    library.export(tmp_path / "again.json")
    assert not marker.exists()


def one_line_config_error(path: Path) -> str:
    with pytest.raises(ConfigError) as info, ToolLibrary(path) as lib:
        lib.list()
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n" * 100)
    assert f"{path} is not a creator tool library" in one_line_config_error(path)
    assert path.read_text().startswith("these are my notes")


def test_a_corrupt_library_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tools.sqlite"
    with ToolLibrary(path) as lib:
        for i in range(60):
            lib.add(f"def t{i}(x):\n    return x * {i}\n", problem="p " * 200)
    data = bytearray(path.read_bytes())
    data[4096 : len(data)] = b"\xde\xad\xbe\xef" * ((len(data) - 4096) // 4)
    path.write_bytes(bytes(data))
    assert "is damaged: database disk image is malformed" in one_line_config_error(path)
    header = tmp_path / "header.sqlite"
    header.write_bytes(b"SQLite format 3\x00" + b"\x07" * 8000)
    assert "is not a creator tool library" in one_line_config_error(header)


def test_a_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "people.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE people (name TEXT)")
    conn.commit()
    conn.close()
    assert (
        one_line_config_error(path) == f"{path} is not a creator tool library (it holds other data)"
    )
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("people",)]  # untouched
    conn.close()


def test_the_response_cache_is_not_a_tool_library(tmp_path: Path) -> None:
    from creator.models.cache import CachedModel
    from creator.models.scripted import ScriptedModel

    path = tmp_path / "responses.sqlite"
    assert CachedModel(ScriptedModel([]), path=path).count() == 0
    assert "is not a creator tool library" in one_line_config_error(path)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tools.sqlite"
    with ToolLibrary(path) as lib:
        lib.add(INTEREST, problem="x")
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO creator_tool_library_migrations (version, name, applied_at) VALUES (9, 'x', 0)"
    )
    conn.commit()
    conn.close()
    message = one_line_config_error(path)
    assert f"schema version 9, newer than this creator knows ({len(MIGRATIONS)})" in message


def test_a_directory_is_refused(tmp_path: Path) -> None:
    assert "is a directory" in one_line_config_error(tmp_path)


def test_default_path_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREATOR_DATA_DIR", str(tmp_path / "data"))
    assert default_library_path() == tmp_path / "data" / "tools.sqlite"
    monkeypatch.delenv("CREATOR_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_library_path() == tmp_path / "xdg" / "creator" / "tools.sqlite"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert (
        default_library_path()
        == tmp_path / "home" / ".local" / "share" / "creator" / "tools.sqlite"
    )
