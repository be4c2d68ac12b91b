"""A user's own dataset: a JSONL, JSON or CSV file (or a saved Hugging Face dataset) as Problems.

Columns are found by their default names, ``id``, ``question``, ``answer``, ``context`` (else
``table``), ``level`` and ``subject``, or named with a field mapping (``--field
question=problem``, :func:`parse_fields`). Only ``question`` is required. A row without an
answer (no column, null, an empty cell) is solved and recorded but not scored. An answer that
ends in ``#### VALUE`` (GSM8K's format: the worked solution, then the result) is read as
VALUE. ``level`` is the first whole number of its cell (``"Level 3"``, ``5``).

Names and ids: the dataset's name is the file's name (``gsm.jsonl``; a directory's name for a
saved dataset; a name that is also a built-in dataset's gets ``-file`` appended). A problem's
id is ``<name>/<row id>``: the row's ``id`` cell as text (``gsm.jsonl/q17``), or without an
``id`` column the row's position in the file from 0, as the built-in datasets count
(``gsm.jsonl/0``). Ids must be unique and non-empty when the column exists.

Problems of every file carry ``metadata["dataset"] == "custom"``, which no built-in dataset
uses, so prompts show the generic demonstrations whatever the file is called. The answer kind
(``numeric`` by default, ``math`` or ``text``) applies to every row.

Every problem with the file is an :class:`~creator.errors.InputError` of one line naming the
file and the line (see :mod:`creator.datasets.rows`), raised while loading, before any model
is asked anything. Left out: filtering and sampling (:func:`creator.datasets.select`), and
recorded tools or solutions (the reference replay has none to replay for these problems).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from creator.answers import KINDS
from creator.datasets import DATASETS
from creator.datasets.rows import FORMATS, Row, file_identity, read_rows
from creator.datasets.values import answer_text, level_of
from creator.errors import ConfigError, InputError
from creator.problem import Problem

__all__ = [
    "ANSWER_KINDS",
    "CUSTOM_DATASET",
    "DEFAULT_ANSWER_KIND",
    "DEFAULT_COLUMNS",
    "FIELDS",
    "DatasetFile",
    "dataset_name",
    "dataset_source",
    "load_file",
    "parse_fields",
]

CUSTOM_DATASET = "custom"
"""``metadata["dataset"]`` of every problem read from a user's file (generic prompts)."""
FIELDS = ("id", "question", "answer", "context", "level", "subject")
"""What a column can be mapped to (``--field NAME=COLUMN``)."""
DEFAULT_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "id": ("id",),
    "question": ("question",),
    "answer": ("answer",),
    "context": ("context", "table"),
    "level": ("level",),
    "subject": ("subject",),
}
"""The columns read for each field when no mapping names one (the first that exists)."""
ANSWER_KINDS = KINDS
DEFAULT_ANSWER_KIND = "numeric"
_GSM8K_MARK = "####"


@dataclass(frozen=True)
class DatasetFile:
    """A user's dataset as loaded: its name, where it is, its content hash, how it was read
    (``fields``: the mapping given; ``columns``: the column each field came from) and its
    problems in file order."""

    name: str
    path: Path
    sha256: str
    answer_kind: str
    problems: tuple[Problem, ...]
    fields: Mapping[str, str] = field(default_factory=dict)
    columns: Mapping[str, str] = field(default_factory=dict)
    identity: tuple[int, ...] | None = None
    """The file's status as it was read (:attr:`creator.datasets.rows.Rows.identity`)."""

    def unchanged(self) -> bool:
        """Whether the file is still as it was read, by its status (device, inode, size,
        times); False when that cannot be told (see :attr:`identity`)."""
        if self.identity is None:
            return False
        try:
            return file_identity(os.stat(self.path)) == self.identity
        except OSError:
            return False

    @property
    def answered(self) -> int:
        """How many problems have an answer to score against."""
        return sum(p.answer is not None for p in self.problems)


def parse_fields(items: Iterable[str]) -> dict[str, str]:
    """``--field NAME=COLUMN`` options as a mapping (without those naming the default column,
    ``question=question``); ConfigError for a malformed one, a NAME that is not one of
    :data:`FIELDS`, or a NAME given twice."""
    mapping: dict[str, str] = {}
    for item in items:
        name, sep, column = item.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not name or not column:
            raise ConfigError(f"--field {item!r}: write NAME=COLUMN, e.g. --field question=problem")
        if name not in FIELDS:
            raise ConfigError(
                f"--field {item!r}: unknown field {name!r}: choose from {_or(FIELDS)}"
            )
        if name in mapping:
            raise ConfigError(f"--field {name}= is given twice ({mapping[name]!r} and {column!r})")
        if _bad_char(column) is not None:
            raise ConfigError(f"--field {item!a}: the column name is not valid UTF-8 text")
        mapping[name] = column
    # Naming the column a field is read from anyway changes nothing, and must not make a run
    # look different from one that left it out.
    return {k: v for k, v in mapping.items() if v != DEFAULT_COLUMNS[k][0]}


def dataset_name(path: Path) -> str:
    """The name a dataset file goes by: its file (or directory) name, with ``-file`` added to
    one that a built-in dataset has."""
    name = path.resolve().name or "dataset"
    if _bad_char(name) is not None:
        raise InputError(
            f"{path!a}: the file name is not valid UTF-8 text (it names every problem): rename it"
        )
    return f"{name}-file" if name in DATASETS else name


def dataset_source(value: str) -> str | Path:
    """What ``--dataset VALUE`` names: a built-in dataset (its name) or a user's file (its
    path). InputError for a path that does not exist, and for a word that is neither."""
    if value in DATASETS:
        return value
    path = Path(value).expanduser()
    if path.exists():
        return path
    if "/" in value or value.startswith(".") or path.suffix.lower() in FORMATS:
        raise InputError(f"{value}: no such file or directory")
    raise InputError(
        f"unknown dataset {value!r}: choose from {_or(DATASETS)}, or give the path of a "
        ".jsonl, .json or .csv file or of a saved Hugging Face dataset"
    )


def load_file(
    path: Path | str,
    *,
    fields: Mapping[str, str] | None = None,
    answer_kind: str = DEFAULT_ANSWER_KIND,
    name: str | None = None,
) -> DatasetFile:
    """The problems of the dataset file (or saved-dataset directory) ``path``.

    ``fields`` maps field names (:data:`FIELDS`) to column names; ``name`` is the dataset's
    name (default: :func:`dataset_name`), the prefix of every problem id. InputError for a
    missing or unreadable file and for every bad row, naming the file and line.
    """
    given = Path(path)
    shown = str(path)
    mapping = dict(fields or {})
    for key in mapping:
        if key not in FIELDS:
            raise ConfigError(f"unknown field {key!r}: choose from {_or(FIELDS)}")
    if answer_kind not in ANSWER_KINDS:
        raise ConfigError(f"unknown answer kind {answer_kind!r}: choose from {_or(ANSWER_KINDS)}")
    if not given.exists():
        raise InputError(f"{shown}: no such file or directory")
    name = name if name is not None else dataset_name(given)
    if name in DATASETS:
        raise ConfigError(f"a dataset file cannot take the built-in name {name!r}")
    found = read_rows(given, shown=shown)
    if not found.rows:
        raise InputError(f"{shown}: the file holds no problems")
    columns = _columns(mapping, found.columns, shown)
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for index, row in enumerate(found.rows):
        problem = _problem(row, columns, index=index, name=name, kind=answer_kind)
        local = problem.id.removeprefix(f"{name}/")
        if local in seen:
            raise InputError(f"{row.where}: duplicate id {local!r} (first at {seen[local]})")
        seen[local] = row.where
        problems.append(problem)
    return DatasetFile(
        name=name,
        path=given.resolve(),
        sha256=found.sha256,
        answer_kind=answer_kind,
        problems=tuple(problems),
        fields=mapping,
        columns=columns,
        identity=found.identity,
    )


def _or(names: Iterable[str]) -> str:
    return ", ".join(names)


def _listed(columns: Iterable[str]) -> str:
    names = [repr(c) for c in columns]
    return ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")


def _columns(mapping: Mapping[str, str], present: tuple[str, ...], shown: str) -> dict[str, str]:
    """The column each field is read from: the mapping's, else the first default present."""
    chosen: dict[str, str] = {}
    for name in FIELDS:
        if name in mapping:
            column = mapping[name]
            if column not in present:
                raise InputError(
                    f"{shown}: no row has the column {column!r} (--field {name}={column}); "
                    f"its columns are {_listed(present)}"
                )
            chosen[name] = column
        else:
            column_or_none = _default_column(name, present, shown)
            if column_or_none is not None:
                chosen[name] = column_or_none
    if "question" not in chosen:
        raise InputError(
            f"{shown}: no 'question' column: name the column that holds the questions with "
            f"--field question=COLUMN (its columns are {_listed(present)})"
        )
    return chosen


def _default_column(name: str, present: tuple[str, ...], shown: str) -> str | None:
    """The column field ``name`` is read from without a mapping: the first default name
    present as it is, else the first present in another case (``Answer``); InputError when
    two columns differ from that name only in case."""
    for default in DEFAULT_COLUMNS[name]:
        if default in present:
            return default
        alike = [c for c in present if c.strip().casefold() == default]
        if len(alike) > 1:
            raise InputError(
                f"{shown}: the columns {alike[0]!r} and {alike[1]!r} both name the {name} "
                f"(--field {name}=COLUMN chooses one)"
            )
        if alike:
            return alike[0]
    return None


def _bad_char(text: str) -> int | None:
    """The index of the first character of ``text`` UTF-8 cannot carry (a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def _cell(row: Row, columns: Mapping[str, str], name: str) -> str | None:
    """The text of field ``name`` in ``row``: None when absent, null, NaN or blank."""
    column = columns.get(name)
    value: Any = row.values.get(column) if column is not None else None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dict | list):
        kind = "an object" if isinstance(value, dict) else "a list"
        raise InputError(
            f"{row.where}: the {name} (column {column!r}) is {kind}, not text or a number"
        )
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = answer_text(value) if isinstance(value, float) else str(value)
    at = _bad_char(text)
    if at is not None:
        raise InputError(
            f"{row.where}: the {name} (column {column!r}) is not valid UTF-8 text: character "
            f"{at + 1} is an undecodable byte or a lone surrogate ({text[at]!a})"
        )
    return text.strip() or None


def _problem(row: Row, columns: Mapping[str, str], *, index: int, name: str, kind: str) -> Problem:
    question = _cell(row, columns, "question")
    if question is None:
        raise InputError(f"{row.where}: the question (column {columns['question']!r}) is empty")
    local = str(index)
    if "id" in columns:
        cell = _cell(row, columns, "id")
        if cell is None:
            raise InputError(
                f"{row.where}: the id (column {columns['id']!r}) is empty: every row needs one "
                "when the file has that column"
            )
        if not cell.isprintable():
            raise InputError(f"{row.where}: the id {cell!r} holds an unprintable character")
        local = cell
    answer = _cell(row, columns, "answer")
    if answer is not None and _GSM8K_MARK in answer:
        answer = answer.rsplit(_GSM8K_MARK, 1)[1].strip() or None
    level = _cell(row, columns, "level")
    context = _cell(row, columns, "context")
    metadata: dict[str, Any] = {
        "dataset": CUSTOM_DATASET,
        "subject": _cell(row, columns, "subject"),
        "level": level_of(level) if level is not None else None,
    }
    if context is not None:
        metadata["context_label"] = "Table" if columns["context"].lower() == "table" else "Context"
    try:
        return Problem(
            id=f"{name}/{local}",
            question=question,
            context=context,
            answer=answer,
            answer_kind=kind,
            metadata=metadata,
        )
    except InputError as exc:
        raise InputError(f"{row.where}: {exc}") from None
