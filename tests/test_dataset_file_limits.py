"""A user's dataset file at the edges: what is not a regular file or is too large is refused
unread, a CSV cell as long as JSON allows, column names in another case, text a request cannot
carry, and a file read once when the run is handed what the command read."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from creator.datasets import files, rows
from creator.datasets.files import load_file
from creator.datasets.rows import MAX_DATASET_BYTES
from creator.errors import CreatorError, InputError
from creator.eval import EvalConfig
from creator.eval.custom import custom_problems


def error(path: Path, **options: Any) -> str:
    with pytest.raises(CreatorError) as caught:
        load_file(path, **options)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- not a regular file, too large ----------------------------------------------------------


def test_a_pipe_a_device_and_a_file_over_the_cap_are_refused_unread(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.jsonl"
    os.mkfifo(pipe)  # opened for reading, it would block until a writer came
    assert error(pipe) == f"{pipe}: not a regular file (a named pipe)"
    zero = tmp_path / "zero.csv"
    zero.symlink_to("/dev/zero")  # read whole, it would fill the memory
    assert error(zero) == f"{zero}: not a regular file (a character device)"
    large = tmp_path / "large.jsonl"
    with large.open("wb") as handle:
        handle.truncate(MAX_DATASET_BYTES + 1)  # sparse: no disk used, and never read
    assert error(large) == (
        f"{large}: the file is 1,073,741,825 bytes, larger than the 1 GiB limit"
    )


def test_jsonl_is_read_a_line_at_a_time_with_a_bom_and_byte_offsets(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"question": "a", "answer": 1}\r\n\n{"question": "b"}')
    loaded = load_file(path)
    assert [(p.question, p.answer) for p in loaded.problems] == [("a", "1"), ("b", None)]
    assert loaded.identity is None  # just written: its times cannot vouch for it yet
    path.write_bytes(b'\xef\xbb\xbf{"question": "a"}\n{"question": "\xff"}\n')
    assert error(path) == f"{path}:2: not UTF-8 text (byte 36 is 0xff)"


def test_a_csv_cell_may_be_as_long_as_a_json_one(tmp_path: Path) -> None:
    question = "How many letters? " + "x" * 200_000  # over csv's default 131,072 characters
    path = tmp_path / "long.csv"
    path.write_text(f"question,answer\n{question},200000\n", encoding="utf-8")
    (problem,) = load_file(path).problems
    assert problem.question == question and problem.answer == "200000"


# --- column names in another case -----------------------------------------------------------


def test_default_columns_match_in_any_case(tmp_path: Path) -> None:
    path = tmp_path / "caps.csv"
    path.write_text("ID,Question,Answer,Table\nq1,How many?,4,a | 4\n", encoding="utf-8")
    loaded = load_file(path)
    assert loaded.columns == {
        "id": "ID",
        "question": "Question",
        "answer": "Answer",
        "context": "Table",
    }
    (problem,) = loaded.problems
    assert (problem.id, problem.answer, problem.metadata["context_label"]) == (
        "caps.csv/q1",
        "4",
        "Table",
    )
    path.write_text("question,answer,Answer\nHow many?,4,5\n", encoding="utf-8")
    assert load_file(path).problems[0].answer == "4"  # the exact name first
    path.write_text("question,Answer,ANSWER\nHow many?,4,5\n", encoding="utf-8")
    assert error(path) == (
        f"{path}: the columns 'Answer' and 'ANSWER' both name the answer "
        "(--field answer=COLUMN chooses one)"
    )
    assert load_file(path, fields={"answer": "ANSWER"}).problems[0].answer == "5"


# --- text that no request can carry ---------------------------------------------------------


@pytest.mark.parametrize("field", ["question", "answer", "subject", "level", "context", "id"])
def test_a_lone_surrogate_in_any_cell_is_refused_naming_the_line(
    tmp_path: Path, field: str
) -> None:
    row = {"id": "a", "question": "What is 2 + 2?", "answer": "4"}
    path = tmp_path / "odd.jsonl"
    path.write_text(
        json.dumps(row) + "\n" + json.dumps({**row, "id": "b", field: "ok\ud800x"}) + "\n",
        encoding="utf-8",
    )  # json.dumps writes the surrogate as the escape \ud800: valid UTF-8, valid JSON
    assert error(path) == (
        f"{path}:2: the {field} (column {field!r}) is not valid UTF-8 text: character 3 is an "
        "undecodable byte or a lone surrogate ('\\ud800')"
    )


def test_a_file_name_and_a_column_name_that_are_not_utf8_are_refused(tmp_path: Path) -> None:
    odd = tmp_path / "caf\udce9.jsonl"  # how Python spells an undecodable byte of a name
    odd.write_bytes(b'{"question": "a"}\n')
    with pytest.raises(InputError, match="the file name is not valid UTF-8 text"):
        load_file(odd)
    with pytest.raises(CreatorError, match="the column name is not valid UTF-8 text"):
        files.parse_fields(["question=caf\udce9"])


# --- read once: the run takes what the command read -----------------------------------------


def config_for(path: Path, sha256: str) -> EvalConfig:
    return EvalConfig(
        dataset=path.name, dataset_path=str(path), dataset_sha256=sha256, model="scripted"
    )


def test_the_run_takes_the_file_the_command_read_unless_it_may_have_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gsm.jsonl"
    path.write_text('{"question": "How many?", "answer": 3}\n', encoding="utf-8")
    reads: list[Path] = []

    def counted(where: Path, *, shown: str | None = None) -> rows.Rows:
        reads.append(where)
        return rows.read_rows(where, shown=shown)

    monkeypatch.setattr(files, "read_rows", counted)
    loaded = load_file(path)
    assert loaded.identity is None  # written a moment ago: read again, to be sure
    config, problems = custom_problems(config_for(path, loaded.sha256), read=loaded)
    assert len(reads) == 2 and problems == loaded.problems

    monkeypatch.setattr(rows, "SETTLE_NS", 0)  # as if written long before
    loaded = load_file(path)
    assert loaded.identity is not None and loaded.unchanged()
    config, problems = custom_problems(config_for(path, loaded.sha256), read=loaded)
    assert len(reads) == 3 and problems is loaded.problems  # not read again
    assert config.dataset_sha256 == loaded.sha256 and config.dataset_path == str(path.resolve())
    custom_problems(config_for(path, loaded.sha256))
    assert len(reads) == 4  # nothing given: the run reads the file

    again = load_file(path)
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"question": "And now?"}\n')
    with pytest.raises(InputError, match="changed while the run was starting"):
        custom_problems(config_for(path, loaded.sha256), read=again)
    assert len(reads) == 6


def test_naming_the_default_column_is_the_same_as_leaving_it_out() -> None:
    from creator.datasets.files import parse_fields

    assert parse_fields(["question=question", "answer=solution"]) == {"answer": "solution"}
    assert parse_fields(["context=table"]) == {"context": "table"}
