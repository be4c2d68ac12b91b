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

Only a regular file (symbolic links followed) of at most :data:`MAX_DATASET_BYTES` is read: a
named pipe, a device such as ``/dev/zero`` or a larger file is refused before any of it is
read (:mod:`creator.inputs`). A JSON Lines file is read a line at a time; a JSON or CSV file
is parsed whole. A CSV cell may be as long as the file (Python's ``csv`` module limits cells
to 131,072 characters by default; the limit, process-wide, is raised once to the file cap).

Left out: what the columns mean (:mod:`creator.datasets.files`), compressed files, Excel,
Parquet, and anything fetched over a network.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from creator.errors import ConfigError, InputError
from creator.inputs import MIB, open_input, size_text

__all__ = [
    "FORMATS",
    "HF_MARKERS",
    "MAX_DATASET_BYTES",
    "SETTLE_NS",
    "Row",
    "Rows",
    "file_identity",
    "read_rows",
]

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "csv"}
"""File suffixes read, and the reader of each."""
HF_MARKERS = ("dataset_dict.json", "dataset_info.json", "state.json")
"""Files that mark a directory written by ``save_to_disk``."""
JSON_LIST_KEYS = ("data", "problems")
"""Members of a top-level JSON object that may hold the list of rows."""
MAX_DATASET_BYTES = 1024 * MIB
"""The largest dataset file read (1 GiB); a larger one, or anything but a regular file (a
named pipe, a device), is refused before it is read."""
SETTLE_NS = 1_000_000_000
"""How long ago a file must have last changed for its :attr:`Rows.identity` to vouch for it."""
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
    identity: tuple[int, ...] | None = None
    """The file's :func:`file_identity` as it was opened: equal later, the file was not
    written since. None for a saved-dataset directory, and for a file changed less than
    :data:`SETTLE_NS` before it was opened (a write in the same tick of the file system's
    clock would leave its times as they were)."""


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
    opened = time.time_ns()
    with open_input(path, label=label, cap=MAX_DATASET_BYTES) as (handle, info):
        try:
            if reader == "jsonl":
                rows, digest = _jsonl_rows(handle, label)
            else:
                data = handle.read(MAX_DATASET_BYTES + 1)
                if len(data) > MAX_DATASET_BYTES:
                    raise _grew(label)
                digest = hashlib.sha256(data).hexdigest()
                text = _decode(data, label)
                del data  # the text alone from here on
                if reader == "json":
                    rows = _json_rows(text, label)
                else:
                    tab = path.suffix.lower() == ".tsv"
                    rows = _csv_rows(text, label, delimiter="\t" if tab else ",")
        except OSError as exc:
            raise InputError(f"{label}: cannot read it: {exc.strerror or exc}") from None
    settled = info.st_ctime_ns <= opened - SETTLE_NS
    return _finish(rows, digest, file_identity(info) if settled else None)


def file_identity(info: os.stat_result) -> tuple[int, ...]:
    """What tells a file's versions apart without reading it: device, inode, size, times."""
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _grew(label: str) -> InputError:
    return InputError(f"{label}: the file grew past the {size_text(MAX_DATASET_BYTES)} limit")


def _finish(rows: list[Row], sha256: str, identity: tuple[int, ...] | None = None) -> Rows:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row.values))
    return Rows(rows=tuple(rows), columns=tuple(columns), sha256=sha256, identity=identity)


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


def _jsonl_rows(handle: BinaryIO, label: str) -> tuple[list[Row], str]:
    """The rows of a JSON Lines file and its hash, read a line at a time (the file's bytes
    and text are never held whole: a large file costs its rows, not three copies of it)."""
    digest = hashlib.sha256()
    rows: list[Row] = []
    offset = number = 0
    while raw := handle.readline(MAX_DATASET_BYTES - offset + 1):
        digest.update(raw)
        start, offset, number = offset, offset + len(raw), number + 1
        if offset > MAX_DATASET_BYTES:
            raise _grew(label)
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw, start = raw[len(codecs.BOM_UTF8) :], start + len(codecs.BOM_UTF8)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{label}:{number}: not UTF-8 text (byte {start + exc.start + 1} is "
                f"{raw[exc.start]:#04x})"
            ) from None
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
        rows.append(Row(where=f"{label}:{number}", values=value))
    return rows, digest.hexdigest()


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
    if csv.field_size_limit() < MAX_DATASET_BYTES:
        # Process-wide in Python's csv module: raised once, to the file cap, so a cell is
        # bounded by the file as JSON Lines cells are (the default is 131,072 characters).
        csv.field_size_limit(MAX_DATASET_BYTES)
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
        with file.open("rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()
