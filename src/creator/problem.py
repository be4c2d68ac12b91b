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
        return value.strip()
