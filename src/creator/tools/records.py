"""The record of one stored tool, and its conversion from a database row and to an export.

Deliberately left out: any storage logic (see :mod:`creator.tools.store`); a record is a
snapshot, so its counts do not follow later writes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from creator.tools.normalise import ToolFunction

__all__ = ["COLUMNS", "ToolRecord", "record_from_row", "record_to_export"]

COLUMNS = (
    "id, name, signature, docstring, functions, code, code_hash, created_at, problem,"
    " problem_id, dataset, ran, verified, offered, reused, correct, variants, maker"
)
"""The columns of ``tools`` that :func:`record_from_row` reads, in its order."""


@dataclass(frozen=True, slots=True)
class ToolRecord:
    """One tool of the library.

    ``name``, ``signature`` and ``docstring`` describe the entry point; ``functions`` lists every
    top-level function and class. ``ran``: the tool (or the code using it) ran without error;
    ``verified``: an answer it led to was checked correct. ``offered``/``reused``/``correct``
    count retrievals offered to a model, reuses, and reuses that ended correct. ``variants``
    counts how many times this tool (up to normalisation) was added. ``maker`` is the model
    that created it (the first code kept), None when not recorded (tools added by older
    versions, or without a model name). ``score`` is the BM25 rank (lower is better) on
    records returned by :meth:`ToolLibrary.search`, else ``None``.
    """

    id: int
    name: str
    signature: str
    docstring: str
    functions: tuple[ToolFunction, ...]
    code: str
    code_hash: str
    created_at: datetime
    problem: str
    problem_id: str | None
    dataset: str | None
    ran: bool
    verified: bool
    offered: int
    reused: int
    correct: int
    variants: int
    maker: str | None = None
    score: float | None = None

    @property
    def ref(self) -> str:
        """``#id``, the unambiguous way to name this tool on the command line."""
        return f"#{self.id}"


def record_from_row(row: Sequence[Any], score: float | None = None) -> ToolRecord:
    """The record of a row selecting :data:`COLUMNS`."""
    functions = tuple(ToolFunction(**f) for f in json.loads(row[4]))
    return ToolRecord(
        id=row[0],
        name=row[1],
        signature=row[2],
        docstring=row[3],
        functions=functions,
        code=row[5],
        code_hash=row[6],
        created_at=datetime.fromtimestamp(row[7], UTC),
        problem=row[8],
        problem_id=row[9],
        dataset=row[10],
        ran=bool(row[11]),
        verified=bool(row[12]),
        offered=row[13],
        reused=row[14],
        correct=row[15],
        variants=row[16],
        maker=row[17],
        score=score,
    )


def record_to_export(record: ToolRecord) -> dict[str, Any]:
    """The JSON-ready form of a record in an export file (see :mod:`creator.tools.exchange`)."""
    return {
        "name": record.name,
        "signature": record.signature,
        "docstring": record.docstring,
        "code": record.code,
        "code_hash": record.code_hash,
        "created_at": record.created_at.isoformat(),
        "problem": record.problem,
        "problem_id": record.problem_id,
        "dataset": record.dataset,
        "ran": record.ran,
        "verified": record.verified,
        "offered": record.offered,
        "reused": record.reused,
        "correct": record.correct,
        "variants": record.variants,
        "maker": record.maker,
    }
