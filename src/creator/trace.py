"""The record of one attempt at a problem: every model call, piece of code, output and error.

A :class:`Result` holds the problem, the final answer and the ordered list of :class:`Step`
records (``trace``); it serialises to JSON and back (``result.model_dump_json()`` /
``Result.model_validate_json(text)``). Steps are written by the stage functions in
:mod:`creator.stages`; nothing here calls a model or runs code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from creator.models.base import Completion, Message, Usage
from creator.problem import Problem
from creator.sandbox.base import ExecResult
from creator.services.base import ServiceReply

__all__ = ["ModelCall", "Result", "Status", "Step", "StepStage"]

StepStage = Literal[  # "program": the pot baseline's program ("whole" in older records)
    "creation",
    "decision",
    "execution",
    "rectification",
    "whole",
    "program",
    "answer",
    "query",  # the tooluse baseline's first reply, ending with its query line
    "service",  # the tooluse baseline's query answered by a computation service
]
Status = Literal["answered", "no_answer", "execution_error", "creation_failed", "model_error"]


class ModelCall(BaseModel):
    """One request to the model and its reply."""

    model_config = ConfigDict(frozen=True)

    messages: list[Message]
    completion: Completion


class Step(BaseModel):
    """One stage of the attempt. ``round`` counts retries of the same stage from 0."""

    model_config = ConfigDict(frozen=True)

    stage: StepStage
    round: int = 0
    call: ModelCall | None = None
    code: str | None = None
    execution: ExecResult | None = None
    answer: str | None = None
    error: str | None = None
    offered_tools: list[str] = []
    """Creation with ``--reuse-tools``: the library tools shown to the model, as ``name (#id)``."""
    reused_tool: str | None = None
    """Creation: the name of the library tool the model chose to reuse instead of writing one."""
    service: ServiceReply | None = None
    """Stage ``service``: the query sent to the computation service, its reply and its time."""

    @property
    def ok(self) -> bool:
        return self.error is None


class Result(BaseModel):
    """The outcome of solving one problem, with its full trace."""

    model_config = ConfigDict(frozen=True)

    problem: Problem
    method: str
    model: str
    status: Status
    answer: str | None = None
    trace: list[Step] = []
    tool_code: str | None = None
    decision_code: str | None = None
    error: str | None = None
    rectifications: int = 0
    one_time_pass: bool = False
    duration_s: float = 0.0
    sandbox: str = ""
    replay: bool = False
    """True when the model was the offline reference replay of recorded solutions."""
    reused_tool: str | None = None
    """The name of the library tool reused instead of creating one (``--reuse-tools``)."""
    tool_from: str | None = None
    """The id of the problem whose tool was given (no Creation stage; Tool Transfer)."""

    @property
    def usage(self) -> Usage:
        total = Usage()
        for step in self.trace:
            if step.call is not None:
                total = total + step.call.completion.usage
        return total
