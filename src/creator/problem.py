"""The problem a method attacks: a question, optional context (such as a table), and metadata.

A problem may carry a :class:`Reference`, the dataset's recorded tool and solution; only the
offline ``reference`` replay model reads it. Answer checking lives in :mod:`creator.answers`
and dataset loading in :mod:`creator.datasets`; this module only defines the records.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from creator.errors import InputError

__all__ = ["Problem", "Reference"]


class Reference(BaseModel):
    """A dataset's recorded solution: tool code, the code that calls it, and the answer."""

    model_config = ConfigDict(frozen=True)

    tool: str | None = None
    solution: str | None = None
    answer: str | None = None


class Problem(BaseModel):
    """One question to solve. ``id`` is stable across runs (dataset/subject/index)."""

    model_config = ConfigDict(frozen=True)

    question: str
    id: str = "adhoc"
    context: str | None = None
    answer: str | None = None
    answer_kind: str = "numeric"
    metadata: dict[str, Any] = {}
    reference: Reference | None = None

    @field_validator("question")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise InputError("the question is empty")
        return _utf8(value.strip(), "question")

    @field_validator("context")
    @classmethod
    def _context_text(cls, value: str | None) -> str | None:
        return value if value is None else _utf8(value, "context")


def _utf8(value: str, what: str) -> str:
    """``value``, refused when it holds a lone surrogate: an undecodable byte of a command line
    (Python's ``surrogateescape``), which no request to a model can carry."""
    try:
        value.encode("utf-8")  # in C: a loop over the characters here took ~30 us per problem
    except UnicodeEncodeError as exc:
        at, char = exc.start, value[exc.start]
        raise InputError(
            f"the {what} is not valid UTF-8 text: character {at + 1} is an undecodable byte "
            f"or a lone surrogate ({char!a})"
        ) from None
    return value
