"""One line per problem in ``DIR/results.jsonl``: the record, and the file that keeps them.

Each record is written with a single ``write`` on an append-only descriptor and flushed to the
OS at once, so a ``kill -9`` loses at most the line being written, never a finished one; a
write that fails part way (a full disk) is cut back, so the file keeps only whole lines, and
is an :class:`~creator.errors.OutputError` (see :mod:`creator.files`). On
load, a torn last line (no newline, or not JSON) is cut off, and the latest record of an id
wins (a model failure is retried on resume and its new record appended). Scoring and
summaries are done elsewhere.

A ``model_error`` record says what failed (``error_kind``): a request the server refused
outright (``request``, or ``context`` for a prompt too long for its context, with the token
counts) is final, since sending it again cannot help; any other model failure is retried by
the next run. Records written before kinds existed have none and count as retried.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from creator.errors import InputError
from creator.files import append_bytes, write_failure, write_text
from creator.models.base import Usage
from creator.trace import Result, Status, Step

__all__ = [
    "REFUSED_KINDS",
    "Arm",
    "ErrorKind",
    "ProblemRecord",
    "ResultsFile",
    "SampleRecord",
    "Tokens",
    "Vote",
    "VoteRule",
    "tokens_by_model",
    "tokens_of",
]

Arm = Literal["control", "transfer"]
"""Tool Transfer runs: ``control`` solves each scenario on its own; ``transfer`` solves
scenarios 2 and 3 with the tool created for scenario 1 of the same group."""

ErrorKind = Literal[
    "request",
    "context",
    "auth",
    "not_found",
    "connection",
    "timeout",
    "rate_limit",
    "response",
    "model",
    "internal",
]
"""What a model failure was (see :mod:`creator.eval.failures`)."""

REFUSED_KINDS: frozenset[str] = frozenset({"request", "context"})
"""Failures a retry cannot fix: their records are final."""


class Tokens(BaseModel):
    model_config = ConfigDict(frozen=True)

    prompt: int = 0
    completion: int = 0
    total: int = 0
    reasoning: int = 0
    """The part of ``completion`` spent reasoning, as far as the endpoint reported it."""

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(
            prompt=self.prompt + other.prompt,
            completion=self.completion + other.completion,
            total=self.total + other.total,
            reasoning=self.reasoning + other.reasoning,
        )


def tokens_of(usage: Usage) -> Tokens:
    return Tokens(
        prompt=usage.prompt_tokens,
        completion=usage.completion_tokens,
        total=usage.total_tokens,
        reasoning=usage.reasoning_tokens,
    )


VoteRule = Literal["majority", "execution"]
"""How several attempts at a problem elect its answer (``--vote``): ``majority`` counts every
attempt that answered; ``execution`` only those whose executions all ran without error."""


class SampleRecord(BaseModel):
    """One of several attempts at a problem (``--samples K``), with its own trace."""

    model_config = ConfigDict(frozen=True)

    index: int
    """Which attempt, from 0 (its requests are distinct: ``sample_index`` differs)."""
    status: Status
    prediction: str | None
    correct: bool
    correct_strict: bool
    correct_paper: bool
    group: int | None = None
    """Attempts whose answers are equivalent share a group, numbered from 0 in the order the
    answers first appeared; None: no answer."""
    eligible: bool = False
    """Counted by the vote's rule (see :data:`VoteRule`)."""
    rectifications: int = 0
    tokens: Tokens = Tokens()
    tokens_by_model: dict[str, Tokens] = {}
    """As the record's: filled only when a creation model made the tools."""
    duration_s: float = 0.0
    error: str | None = None
    tool_code: str | None = None
    decision_code: str | None = None
    reused_tool: str | None = None
    trace: list[Step] = []


class Vote(BaseModel):
    """How a sampled problem's answer was elected (see :mod:`creator.eval.voting`)."""

    model_config = ConfigDict(frozen=True)

    rule: VoteRule
    k: int
    """The attempts asked for (``--samples``); fewer were made when the vote stopped early."""
    chosen: int | None
    """The index of the attempt whose answer won (the earliest of its group); None when no
    attempt answered."""
    votes: int = 0
    """The attempts counted for the winning answer."""
    early: bool = False
    """Sampling stopped before ``k`` attempts: the answer could no longer lose
    (``--vote-early``)."""
    fallback: bool = False
    """``execution`` rule with no attempt clean: the answered attempts were counted instead."""


class ProblemRecord(BaseModel):
    """The outcome of one problem in an evaluation, with the whole trace."""

    model_config = ConfigDict(frozen=True)

    id: str
    dataset: str
    method: str
    model: str
    status: Status
    prediction: str | None
    target: str | None
    correct: bool
    correct_strict: bool
    correct_paper: bool
    subject: str | None = None
    level: int | None = None
    rectifications: int = 0
    one_time_pass: bool = False
    tokens: Tokens = Tokens()
    duration_s: float = 0.0
    error: str | None = None
    sandbox: str = ""
    replay: bool = False
    tool_code: str | None = None
    decision_code: str | None = None
    trace: list[Step] = []
    arm: Arm | None = None
    """Set only in Tool Transfer runs; then ``key`` tells the two arms' records apart."""
    tool_from: str | None = None
    """The id of the problem whose tool was used (the transfer arm)."""
    reused_tool: str | None = None
    """The name of the library tool the Creation stage chose to reuse (``--reuse-tools``)."""
    error_kind: ErrorKind | None = None
    """``model_error`` records: what failed (None in records written before kinds existed)."""
    context_needed: int | None = None
    """``context`` failures: the tokens the prompt needed, as the server said."""
    context_available: int | None = None
    """``context`` failures: the tokens the server's context holds, as it said."""
    samples: list[SampleRecord] = []
    """Every attempt of a sampled run (``--samples K``), in order; the record's own fields
    are the chosen attempt's (see ``vote``), but ``tokens`` and ``duration_s`` are the sum
    over all attempts. Empty in runs of one attempt."""
    vote: Vote | None = None
    """How the answer was elected among ``samples`` (None in runs of one attempt)."""
    creation_model: str | None = None
    """The model that made the tools (``--creation-model``); None: ``model`` did."""
    tokens_by_model: dict[str, Tokens] = {}
    """Tokens per model when two models shared the work (``--creation-model``); else empty."""

    @property
    def key(self) -> str:
        """Unique within a run: the id, plus ``@arm`` in Tool Transfer runs."""
        return f"{self.id}@{self.arm}" if self.arm else self.id

    @property
    def scored(self) -> bool:
        """False for a problem with no answer to check against (a row of a user's dataset
        file without one): solved and recorded, but neither right nor wrong."""
        return self.target is not None

    @property
    def refused(self) -> bool:
        """A model failure no retry can fix: the server refused the request itself."""
        return self.status == "model_error" and self.error_kind in REFUSED_KINDS

    @property
    def finished(self) -> bool:
        """False for a model failure that a resumed run tries again (not a refused one)."""
        return self.status != "model_error" or self.refused

    @classmethod
    def of(
        cls,
        result: Result,
        *,
        dataset: str,
        correct: bool,
        strict: bool,
        paper: bool,
        arm: Arm | None = None,
        error_kind: ErrorKind | None = None,
        context_needed: int | None = None,
        context_available: int | None = None,
        samples: Sequence[SampleRecord] = (),
        vote: Vote | None = None,
        creation_model: str | None = None,
    ) -> ProblemRecord:
        """The record of ``result``; with ``samples``, ``result`` is the chosen attempt and
        the tokens and time are those of every attempt."""
        meta, usage = result.problem.metadata, result.usage
        subject, level = meta.get("subject"), meta.get("level")
        return cls(
            id=result.problem.id,
            dataset=dataset,
            method=result.method,
            model=result.model,
            status=result.status,
            prediction=result.answer,
            target=result.problem.answer,
            correct=correct,
            correct_strict=strict,
            correct_paper=paper,
            subject=subject if isinstance(subject, str) else None,
            level=level if isinstance(level, int) else None,
            rectifications=result.rectifications,
            one_time_pass=result.one_time_pass and correct,
            tokens=sum((s.tokens for s in samples), Tokens()) if samples else tokens_of(usage),
            duration_s=sum(s.duration_s for s in samples) if samples else result.duration_s,
            error=result.error,
            sandbox=result.sandbox,
            replay=result.replay,
            tool_code=result.tool_code,
            decision_code=result.decision_code,
            trace=result.trace,
            arm=arm,
            tool_from=result.tool_from,
            reused_tool=result.reused_tool,
            error_kind=error_kind if result.status == "model_error" else None,
            context_needed=context_needed,
            context_available=context_available,
            samples=list(samples),
            vote=vote,
            creation_model=creation_model,
            tokens_by_model=tokens_by_model(
                [s.trace for s in samples] or [result.trace],
                model=result.model,
                creation_model=creation_model,
            ),
        )


def tokens_by_model(
    traces: Sequence[Sequence[Step]], *, model: str, creation_model: str | None
) -> dict[str, Tokens]:
    """Tokens per model when ``creation_model`` made the tools: its Creation requests, and
    ``model``'s every other request (empty when one model did everything)."""
    if creation_model is None:
        return {}
    usage = {creation_model: Usage(), model: Usage()}
    for trace in traces:
        for step in trace:
            if step.call is not None:
                who = creation_model if step.stage == "creation" else model
                usage[who] = usage[who] + step.call.completion.usage
    return {name: tokens_of(used) for name, used in usage.items()}


class ResultsFile:
    """``results.jsonl``: append records; read back the latest record of each key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self, *, repair: bool = True) -> dict[str, ProblemRecord]:
        """The latest record per :attr:`ProblemRecord.key`; a torn last line is skipped, and
        cut off the file when ``repair`` (readers of a run that may be in progress, such as
        reports, pass ``repair=False`` and never write)."""
        if not self.path.exists():
            return {}
        data = self.path.read_bytes()
        records: dict[str, ProblemRecord] = {}
        good_end = 0
        position = 0
        for raw in data.splitlines(keepends=True):
            position += len(raw)
            if not raw.endswith(b"\n"):
                break  # torn by a kill in the middle of a write
            try:
                record = ProblemRecord.model_validate_json(raw)
            except (ValidationError, ValueError):
                if position == len(data):
                    break  # a torn final line that happens to end in a newline
                raise InputError(
                    f"{self.path} has a corrupt line at byte {position - len(raw)}: "
                    "it was not written by this version of creator"
                ) from None
            records[record.key] = record
            good_end = position
        if repair and good_end < len(data):
            try:
                with self.path.open("r+b") as handle:
                    handle.truncate(good_end)
            except OSError as exc:
                raise write_failure(self.path, exc) from None
        return records

    def append(self, record: ProblemRecord) -> None:
        """Append ``record`` as one line, whole or not at all (an OutputError)."""
        append_bytes(self.path, (record.model_dump_json() + "\n").encode())

    @staticmethod
    def dump_json(path: Path, payload: object) -> None:
        """Write JSON atomically (temp file + rename), so a reader never sees half a file;
        a failed write leaves the old file and no temporary one (an OutputError)."""
        write_text(path, json.dumps(payload, indent=2, sort_keys=False) + "\n")
