"""Reading a user's dataset file into rows, each with the place it came from, and its hash.

Formats, chosen by the path: ``.jsonl`` / ``.ndjson`` (one JSON object per line, blank lines
skipped), ``.json`` (a list of objects, or an object whose ``"data"`` or ``"problems"`` member
is that list), ``.csv`` / ``.tsv`` (a header row, then one problem per record; quoted fields
may span lines), and a directory written by Hugging Face ``datasets``' ``save_to_disk`` (a
``Dataset``, or a ``DatasetDict`` with a ``test`` split or a single split). ``datasets`` is an
optional extra, imported only for such a directory.

Every row says where it is (:attr:`Row.where`): ``FILE:LINE`` for text files (the line its
object or record starts on), ``DIR: row N`` for a saved dataset (from 1). Every error is an
:class:`~creator.errors.InputError` of one line that starts with that place, or with the file
alone when the problem is the whole file. The hash (:attr:`Rows.sha256`) is of the file's
bytes, or of a directory's file names and bytes, so a run can tell that its data changed.

Left out: what the columns mean (:mod:`creator.datasets.files`), compressed files, Excel,
Parquet, and anything fetched over a network.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from creator.errors import ConfigError, InputError

__all__ = ["FORMATS", "HF_MARKERS", "Row", "Rows", "read_rows"]

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "csv"}
"""File suffixes read, and the reader of each."""
HF_MARKERS = ("dataset_dict.json", "dataset_info.json", "state.json")
"""Files that mark a directory written by ``save_to_disk``."""
JSON_LIST_KEYS = ("data", "problems")
"""Members of a top-level JSON object that may hold the list of rows."""
HF_INSTALL = "uv sync --extra hf, or pip install 'creator[hf]'"
_SPACE = re.compile(r"[ \t\n\r]*")


@dataclass(frozen=True, slots=True)
class Row:
    """One row: where it is (for error messages) and its values by column name."""

    where: str
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Rows:
    """What a dataset file holds: its rows in order, every column name seen, its hash."""

    rows: tuple[Row, ...]
    columns: tuple[str, ...]
    sha256: str


def read_rows(path: Path, *, shown: str | None = None) -> Rows:
    """The rows of the dataset file or saved-dataset directory ``path``; ``shown`` is how the
    path is written in errors (default: as given)."""
    label = shown if shown is not None else str(path)
    if path.is_dir():
        return _hf_rows(path, label)
    reader = FORMATS.get(path.suffix.lower())
    if reader is None:
        known = ", ".join(sorted(FORMATS))
        raise InputError(
            f"{label}: unknown dataset file type {path.suffix or '(no suffix)'!r}: "
            f"use {known}, or a directory saved by Hugging Face datasets"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{label}: cannot read it: {exc.strerror or exc}") from None
    text = _decode(data, label)
    if reader == "jsonl":
        rows = list(_jsonl_rows(text, label))
    elif reader == "json":
        rows = _json_rows(text, label)
    else:
        rows = _csv_rows(text, label, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
    return _finish(rows, hashlib.sha256(data).hexdigest())


def _finish(rows: list[Row], sha256: str) -> Rows:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row.values))
    return Rows(rows=tuple(rows), columns=tuple(columns), sha256=sha256)


def _decode(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{label}:{line}: not UTF-8 text (byte {exc.start + 1} is {data[exc.start]:#04x})"
        ) from None


def _kind(value: object) -> str:
    return {list: "a list", str: "a string", type(None): "null", bool: "true or false"}.get(
        type(value), "a number"
    )


def _jsonl_rows(text: str, label: str) -> Iterator[Row]:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{label}:{number}: not valid JSON: {exc.msg} (column {exc.colno})"
            ) from None
        except RecursionError:
            raise InputError(f"{label}:{number}: JSON nested too deeply") from None
        if not isinstance(value, dict):
            raise InputError(f"{label}:{number}: expected a JSON object, found {_kind(value)}")
        yield Row(where=f"{label}:{number}", values=value)


def _json_rows(text: str, label: str) -> list[Row]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = ""
        if exc.msg == "Extra data":
            hint = " (one object per line is a JSON Lines file: name it .jsonl)"
        raise InputError(
            f"{label}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno}){hint}"
        ) from None
    except RecursionError:
        raise InputError(f"{label}: JSON nested too deeply") from None
    key = None
    if isinstance(data, dict):
        key = next((k for k in JSON_LIST_KEYS if isinstance(data.get(k), list)), None)
        items = data.get(key) if key is not None else None
    else:
        items = data
    if not isinstance(items, list):
        raise InputError(
            f"{label}: a JSON dataset is a list of objects, or an object whose "
            f"{' or '.join(repr(k) for k in JSON_LIST_KEYS)} member is that list"
        )
    lines = _item_lines(text, key)
    rows = []
    for number, (line, value) in enumerate(zip(lines, items, strict=True), start=1):
        if not isinstance(value, dict):
            raise InputError(f"{label}:{line}: item {number} is {_kind(value)}, not an object")
        rows.append(Row(where=f"{label}:{line}", values=value))
    return rows


def _item_lines(text: str, key: str | None) -> list[int]:
    """The line on which each item of the list of rows starts, in valid JSON ``text``: the
    top-level list, or the list in the top-level object's member ``key`` (its last, as
    :func:`json.loads` keeps the last of repeated members)."""
    decoder = json.JSONDecoder()
    at = _skip(text, 0)
    if key is None:
        return _list_lines(text, at, decoder)[0]
    found: list[int] = []
    at = _skip(text, at + 1)  # past "{"
    while text[at] != "}":
        name, at = decoder.raw_decode(text, at)
        at = _skip(text, _skip(text, at) + 1)  # past ":"
        if name == key:
            found, at = _list_lines(text, at, decoder)
        else:
            at = decoder.raw_decode(text, at)[1]
        at = _skip(text, at)
        if text[at] == ",":
            at = _skip(text, at + 1)
    return found


def _list_lines(text: str, at: int, decoder: json.JSONDecoder) -> tuple[list[int], int]:
    """The start lines of the items of the list at ``at``, and the position after it."""
    lines: list[int] = []
    line, counted = 1 + text.count("\n", 0, at), at
    at = _skip(text, at + 1)  # past "["
    while text[at] != "]":
        line, counted = line + text.count("\n", counted, at), at
        lines.append(line)
        at = _skip(text, decoder.raw_decode(text, at)[1])
        if text[at] == ",":
            at = _skip(text, at + 1)
    return lines, at + 1


def _skip(text: str, at: int) -> int:
    match = _SPACE.match(text, at)
    return match.end() if match else at


def _csv_rows(text: str, label: str, *, delimiter: str) -> list[Row]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows: list[Row] = []
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            if header is None:
                header = _header(record, f"{label}:{line}")
                continue
            if len(record) > len(header):
                raise InputError(
                    f"{label}:{line}: {len(record)} fields, but the header names {len(header)}"
                )
            values = {name: value for name, value in zip(header, record, strict=False)}
            rows.append(Row(where=f"{label}:{line}", values=values))
    except csv.Error as exc:
        raise InputError(f"{label}:{start}: not valid CSV: {exc}") from None
    if header is None:
        raise InputError(f"{label}: the file is empty: a CSV dataset starts with a header row")
    return rows


def _header(record: list[str], where: str) -> list[str]:
    names = [name.strip() for name in record]
    for number, name in enumerate(names, start=1):
        if not name:
            raise InputError(f"{where}: header column {number} has no name")
        if names.index(name) != number - 1:
            raise InputError(f"{where}: two header columns are named {name!r}")
    return names


def _hf_rows(path: Path, label: str) -> Rows:
    if not any((path / marker).is_file() for marker in HF_MARKERS):
        raise InputError(
            f"{label} is a directory but not a dataset saved by Hugging Face datasets "
            f"(it has none of {', '.join(HF_MARKERS)}): give a .jsonl, .json or .csv file"
        )
    try:
        import datasets
    except ImportError:
        raise ConfigError(
            f"{label} is a saved Hugging Face dataset: reading it needs the optional "
            f"'datasets' package ({HF_INSTALL})"
        ) from None
    digest = _tree_sha256(path)
    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:  # datasets raises many kinds; all mean "cannot read it"
        detail = " ".join(str(exc).split())[:200]
        raise InputError(f"{label}: cannot read the saved dataset: {detail}") from None
    if isinstance(loaded, datasets.DatasetDict):
        splits = list(loaded)
        if "test" in loaded:
            loaded = loaded["test"]
        elif len(splits) == 1:
            loaded = loaded[splits[0]]
        else:
            raise InputError(
                f"{label} has the splits {', '.join(splits)} and none is 'test': give the "
                f"directory of one split ({label}/{splits[0]})"
            )
    rows = tuple(
        Row(where=f"{label}: row {number}", values=dict(values))
        for number, values in enumerate(loaded, start=1)
    )
    return Rows(rows=rows, columns=tuple(loaded.column_names), sha256=digest)


def _tree_sha256(path: Path) -> str:
    """A hash of every file under ``path``: relative names and bytes, in name order."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()
