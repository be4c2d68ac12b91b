"""A user's own dataset files as Problems: each format, the field mapping, ids, unanswered rows,
every bad-file error with its file and line, and a Hugging Face dataset saved to disk."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from creator import datasets
from creator.answers import is_equivalent, normalise_text
from creator.datasets.files import (
    CUSTOM_DATASET,
    dataset_name,
    dataset_source,
    load_file,
    parse_fields,
)
from creator.errors import ConfigError, CreatorError, InputError
from creator.prompts import PromptSet


def jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def error(path: Path | str, **options: Any) -> str:
    """The one-line message of the error that loading ``path`` raises."""
    with pytest.raises(CreatorError) as caught:
        load_file(path, **options)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- formats --------------------------------------------------------------------------------


def test_jsonl_with_the_default_columns(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "gsm.jsonl",
        [
            {"id": 7, "question": "Ann has 3 pens and buys 4. How many?", "answer": 7.0},
            {"id": "b2", "question": " Tom reads 5 pages a day. Pages in 6 days? ", "answer": "30"},
            {"id": 9, "question": "Name a prime.", "answer": None, "subject": "primes"},
            {
                "id": "t",
                "question": "How many apples in all?",
                "answer": "Add them.\nThe total is 3 + 4 = 7.\n#### 7",
                "table": "apples | 3\npears | 4",
                "level": "Level 2",
            },
        ],
    )
    loaded = load_file(path)
    assert loaded.name == "gsm.jsonl" and loaded.answer_kind == "numeric"
    assert loaded.columns == {
        "id": "id",
        "question": "question",
        "answer": "answer",
        "context": "table",
        "level": "level",
        "subject": "subject",
    }
    ids = [p.id for p in loaded.problems]
    assert ids == ["gsm.jsonl/7", "gsm.jsonl/b2", "gsm.jsonl/9", "gsm.jsonl/t"]
    first, second, third, fourth = loaded.problems
    assert first.answer == "7" and second.answer == "30"
    assert second.question == "Tom reads 5 pages a day. Pages in 6 days?"
    assert third.answer is None and third.metadata["subject"] == "primes"
    assert fourth.answer == "7"  # GSM8K's "#### 7" after the worked solution
    assert fourth.context == "apples | 3\npears | 4"
    assert fourth.metadata["context_label"] == "Table" and fourth.metadata["level"] == 2
    assert loaded.answered == 3
    assert all(p.metadata["dataset"] == CUSTOM_DATASET for p in loaded.problems)


def test_custom_problems_get_the_generic_demonstrations() -> None:
    prompts = PromptSet.builtin()
    assert CUSTOM_DATASET not in datasets.DATASETS
    assert prompts.example_file(CUSTOM_DATASET, "creation") == "examples/generic/creation"


@pytest.mark.parametrize("wrapper", [None, "data", "problems"])
def test_json_lists_and_their_line_numbers(tmp_path: Path, wrapper: str | None) -> None:
    items = '[\n  {"question": "one", "answer": 1},\n\n  {"question": "",\n   "answer": 2}\n]'
    text = items if wrapper is None else f'{{"meta": {{"v": 1}},\n "{wrapper}": {items}}}'
    path = tmp_path / "p.json"
    path.write_text(text)
    line = 4 if wrapper is None else 5
    assert error(path) == f"{path}:{line}: the question (column 'question') is empty"
    path.write_text(text.replace('""', '"two"'))
    loaded = load_file(path)
    assert [(p.id, p.question, p.answer) for p in loaded.problems] == [
        ("p.json/0", "one", "1"),
        ("p.json/1", "two", "2"),
    ]


def test_csv_with_a_field_mapping_and_records_over_several_lines(tmp_path: Path) -> None:
    path = tmp_path / "word problems.csv"
    path.write_text(
        "problem,solution,grade,topic\n"
        '"A train goes 60 km/h\nfor 2 hours. How far?",120,3,speed\n'
        "\n"
        "Half of 10?,,Grade 1,\n"
        ",5,,\n",
        encoding="utf-8",
    )
    fields = parse_fields(["question=problem", "answer = solution", "level=grade", "subject=topic"])
    assert fields == {
        "question": "problem",
        "answer": "solution",
        "level": "grade",
        "subject": "topic",
    }
    assert error(path, fields=fields) == f"{path}:6: the question (column 'problem') is empty"
    path.write_text(path.read_text().replace(",5,,", "Double 5?,10,,"))
    loaded = load_file(path, fields=fields)
    first, second, third = loaded.problems
    assert first.question == "A train goes 60 km/h\nfor 2 hours. How far?"
    assert (first.answer, first.metadata["level"], first.metadata["subject"]) == ("120", 3, "speed")
    assert second.answer is None and second.metadata["level"] == 1
    assert second.metadata["subject"] is None
    assert third.id == "word problems.csv/2"


def test_tsv_is_read_with_tabs(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("question\tanswer\nWhat is 6 x 7, in words?\tforty-two\n")
    loaded = load_file(path, answer_kind="text")
    assert loaded.problems[0].answer == "forty-two"
    assert loaded.problems[0].answer_kind == "text"


def test_a_hugging_face_dataset_saved_to_disk(tmp_path: Path) -> None:
    import datasets as hf

    rows = [
        {"problem": "What is 12 / 4?", "solution": "3", "level": "Level 1"},
        {"problem": "What is 2 ** 5?", "solution": None, "level": None},
    ]
    single = tmp_path / "saved"
    hf.Dataset.from_list(rows).save_to_disk(str(single))
    fields = {"question": "problem", "answer": "solution"}
    loaded = load_file(single, fields=fields)
    assert [(p.id, p.answer, p.metadata["level"]) for p in loaded.problems] == [
        ("saved/0", "3", 1),
        ("saved/1", None, None),
    ]
    assert load_file(single, fields=fields).sha256 == loaded.sha256  # reading changes nothing
    splits = tmp_path / "splits"
    whole = hf.Dataset.from_list(rows)
    hf.DatasetDict({"train": whole, "test": whole.select([1])}).save_to_disk(str(splits))
    assert [p.question for p in load_file(splits, fields=fields).problems] == ["What is 2 ** 5?"]
    both = tmp_path / "both"
    hf.DatasetDict({"train": whole, "validation": whole}).save_to_disk(str(both))
    assert error(both, fields=fields) == (
        f"{both} has the splits train, validation and none is 'test': give the directory of "
        f"one split ({both}/train)"
    )
    assert [p.id for p in load_file(both / "train", fields=fields).problems] == [
        "train/0",
        "train/1",
    ]


def test_without_the_datasets_package_a_saved_dataset_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "dataset_info.json").write_text("{}")
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets -> ImportError
    message = error(saved)
    assert "needs the optional 'datasets' package" in message
    assert "uv sync --extra hf" in message and "pip install 'creator[hf]'" in message


# --- names, ids, mapping ----------------------------------------------------------------------


def test_names_ids_and_the_content_hash(tmp_path: Path) -> None:
    assert dataset_name(tmp_path / "gsm.jsonl") == "gsm.jsonl"
    assert dataset_name(tmp_path / "math") == "math-file"  # never a built-in's name
    path = jsonl(tmp_path / "math", [{"question": "1+1?", "answer": 2}])
    assert error(path) == f"{path}: unknown dataset file type '(no suffix)': use .csv, .json, " \
        ".jsonl, .ndjson, .tsv, or a directory saved by Hugging Face datasets"  # fmt: skip
    path = jsonl(tmp_path / "a.jsonl", [{"question": "1+1?", "answer": 2}])
    before = load_file(path).sha256
    assert load_file(path).sha256 == before
    path.write_text(path.read_text().replace("2}", "3}"))
    assert load_file(path).sha256 != before
    assert load_file(path, name="mine").problems[0].id == "mine/0"
    with pytest.raises(ConfigError, match="built-in name 'math'"):
        load_file(path, name="math")


def test_dataset_source_tells_names_from_paths(tmp_path: Path) -> None:
    assert dataset_source("tabmwp") == "tabmwp"
    path = jsonl(tmp_path / "x.jsonl", [{"question": "q"}])
    assert dataset_source(str(path)) == path
    with pytest.raises(InputError, match=r"^data/nothing\.jsonl: no such file or directory$"):
        dataset_source("data/nothing.jsonl")
    with pytest.raises(InputError, match="unknown dataset 'gsm8k': choose from math, tabmwp, "):
        dataset_source("gsm8k")


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["question"], "--field 'question': write NAME=COLUMN, e.g. --field question=problem"),
        (["=x"], "--field '=x': write NAME=COLUMN"),
        (["questoin=x"], "--field 'questoin=x': unknown field 'questoin': choose from id, "),
        (["answer=a", "answer=b"], "--field answer= is given twice ('a' and 'b')"),
    ],
)
def test_bad_field_options(items: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_fields(items)
    assert str(caught.value).startswith(message)


def test_select_filters_the_problems_of_a_file(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "s.jsonl",
        [
            {"question": f"q{i}", "answer": i, "subject": "ab"[i % 2], "level": i % 3}
            for i in range(9)
        ],
    )
    problems = load_file(path).problems
    chosen = datasets.select("s.jsonl", problems=problems, subjects=["b"], levels=[1, 2])
    assert [p.id for p in chosen] == ["s.jsonl/1", "s.jsonl/5", "s.jsonl/7"]
    with pytest.raises(InputError, match=r"unknown subject 'c' for s\.jsonl: choose from a, b"):
        datasets.select("s.jsonl", problems=problems, subjects=["c"])
    assert [p.id for p in datasets.select("s.jsonl", problems=problems, ids=["s.jsonl/4"])] == [
        "s.jsonl/4"
    ]


# --- every bad file: one line naming the file and the line ----------------------------------


BAD_FILES = [
    (
        "broken.jsonl",
        '{"question": "a"}\n\n{"question": "b", "answer": }\n',
        {},
        "{path}:3: not valid JSON: Expecting value (column 29)",
    ),
    (
        "list.jsonl",
        '{"question": "a"}\n[1, 2]\n',
        {},
        "{path}:2: expected a JSON object, found a list",
    ),
    (
        "dup.jsonl",
        '{"id": 1, "question": "a"}\n{"id": 2, "question": "b"}\n{"id": "1", "question": "c"}\n',
        {},
        "{path}:3: duplicate id '1' (first at {path}:1)",
    ),
    (
        "noid.jsonl",
        '{"id": "x", "question": "a"}\n{"question": "b"}\n',
        {},
        "{path}:2: the id (column 'id') is empty: every row needs one when the file has that "
        "column",
    ),
    (
        "empty.jsonl",
        '{"question": "a"}\n{"question": "  "}\n',
        {},
        "{path}:2: the question (column 'question') is empty",
    ),
    (
        "noq.jsonl",
        '{"question": "a"}\n{"question": null, "answer": 1}\n',
        {},
        "{path}:2: the question (column 'question') is empty",
    ),
    (
        "nocol.jsonl",
        '{"problem": "a", "solution": 1}\n',
        {},
        "{path}: no 'question' column: name the column that holds the questions with "
        "--field question=COLUMN (its columns are 'problem', 'solution')",
    ),
    (
        "mapped.jsonl",
        '{"question": "a", "solution": 1}\n',
        {"fields": {"answer": "answer_text"}},
        "{path}: no row has the column 'answer_text' (--field answer=answer_text); its columns "
        "are 'question', 'solution'",
    ),
    (
        "listy.jsonl",
        '{"question": "a", "answer": [1, 2]}\n',
        {},
        "{path}:1: the answer (column 'answer') is a list, not text or a number",
    ),
    ("blank.jsonl", "\n\n", {}, "{path}: the file holds no problems"),
    (
        "lines.json",
        '{"question": "a"}\n{"question": "b"}\n',
        {},
        "{path}:2: not valid JSON: Extra data (column 1) (one object per line is a JSON Lines "
        "file: name it .jsonl)",
    ),
    (
        "dict.json",
        '{"rows": []}',
        {},
        "{path}: a JSON dataset is a list of objects, or an object whose 'data' or 'problems' "
        "member is that list",
    ),
    (
        "items.json",
        '[\n{"question": "a"},\n3\n]',
        {},
        "{path}:3: item 2 is a number, not an object",
    ),
    ("wide.csv", "question,answer\na,1\nb,2,3\n", {}, "{path}:3: 3 fields, but the header names 2"),
    (
        "header.csv",
        "question,question\na,b\n",
        {},
        "{path}:1: two header columns are named 'question'",
    ),
    ("nameless.csv", "question,,answer\na,b,c\n", {}, "{path}:1: header column 2 has no name"),
    (
        "quote.csv",
        'question\n"never closed\n',
        {},
        "{path}:2: not valid CSV: unexpected end of data",
    ),
    ("nothing.csv", "", {}, "{path}: the file is empty: a CSV dataset starts with a header row"),
    ("notes.txt", "question: a\n", {}, "{path}: unknown dataset file type '.txt'"),
]


@pytest.mark.parametrize(
    ("name", "text", "options", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES]
)
def test_every_bad_file_is_one_line_naming_file_and_line(
    tmp_path: Path, name: str, text: str, options: dict[str, Any], message: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert error(path, **options).startswith(message.format(path=path))


def test_bytes_that_are_not_utf8_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"question": "a"}\n{"question": "caf\xe9"}\n')
    assert error(path) == f"{path}:2: not UTF-8 text (byte 36 is 0xe9)"


def test_missing_files_and_plain_directories(tmp_path: Path) -> None:
    assert error(tmp_path / "gone.jsonl") == f"{tmp_path / 'gone.jsonl'}: no such file or directory"
    (tmp_path / "plain").mkdir()
    assert error(tmp_path / "plain").startswith(
        f"{tmp_path / 'plain'} is a directory but not a dataset saved by Hugging Face datasets"
    )


# --- the text answer kind ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prediction", "target", "same"),
    [
        ("Paris", "paris", True),
        ("  'Mount   Everest'. ", "mount everest", True),
        (r"\boxed{\text{Blue}}", "blue", True),
        ("ＡＢＣ", "abc", True),  # full-width letters  # noqa: RUF001
        ("(C)", "C", True),
        ("Mt. Everest", "Mount Everest", False),
        ("3.5", "35", False),
        ("...", "...", False),  # nothing left to compare
    ],
)
def test_text_answers_are_a_normalised_exact_match(
    prediction: str, target: str, same: bool
) -> None:
    assert is_equivalent(prediction, target, "text") is same


def test_text_normalisation_keeps_inner_punctuation() -> None:
    assert normalise_text(" The   U.S.A.! ") == "the u.s.a"
