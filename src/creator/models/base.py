"""The one interface every model backend implements, and the records it exchanges.

``Model.generate(messages, *, settings, context=None) -> Completion`` is all a method knows
about a model. ``context`` says which stage of which problem the call is for; real models
ignore it (and it is not part of the cache key), the offline reference replay and scripted
models may use it. Backends live in sibling modules; this one has no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from creator.problem import Problem

__all__ = [
    "CallContext",
    "Completion",
    "GenerationSettings",
    "Message",
    "Model",
    "Role",
    "Stage",
    "Usage",
]

Role = Literal["system", "user", "assistant"]
Stage = Literal["creation", "decision", "execution", "rectification", "whole", "answer"]


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(frozen=True)

    role: Role
    content: str


class GenerationSettings(BaseModel):
    """Sampling settings; the defaults are the paper's (temperature 0.3, 1024 tokens)."""

    model_config = ConfigDict(frozen=True)

    temperature: float = 0.3
    max_tokens: int = 1024
    top_p: float | None = None
    seed: int | None = None
    sample_index: int = 0
    """Which of several samples for the same request this is; part of the cache key only."""


class Usage(BaseModel):
    """Token counts as reported by the endpoint (never estimated locally)."""

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class Completion(BaseModel):
    """A model's reply to one request."""

    model_config = ConfigDict(frozen=True)

    text: str
    usage: Usage = Usage()
    finish_reason: str | None = None
    model: str = ""
    latency_s: float = 0.0
    cached: bool = False


class CallContext(BaseModel):
    """What a call is for: the stage and the problem. Not sent to real endpoints."""

    model_config = ConfigDict(frozen=True)

    stage: Stage
    problem: Problem
    attempt: int = 0


@runtime_checkable
class Model(Protocol):
    """An async chat model. ``name`` identifies it in traces and cache keys."""

    @property
    def name(self) -> str: ...

    async def generate(
        self,
        messages: Sequence[Message],
        *,
        settings: GenerationSettings,
        context: CallContext | None = None,
    ) -> Completion: ...

    async def aclose(self) -> None: ...
