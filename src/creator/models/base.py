"""The one interface every model backend implements, and the records it exchanges.

``Model.generate(messages, *, settings, context=None) -> Completion`` is all a method knows
about a model. ``context`` says which stage of which problem the call is for; real models
ignore it (and it is not part of the cache key), the offline reference replay and scripted
models may use it. A backend that retries failed requests tells ``context.on_retry`` of each
retry (a :class:`RetryNotice`), so whoever runs the call (an evaluation's progress display)
sees failures while they happen. Backends live in sibling modules; this one has no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

from creator.problem import Problem

__all__ = [
    "CallContext",
    "Completion",
    "CutOff",
    "GenerationSettings",
    "Message",
    "Model",
    "RetryNotice",
    "RetryObserver",
    "Role",
    "Stage",
    "Usage",
]

Role = Literal["system", "user", "assistant"]
Stage = Literal[
    "creation", "decision", "execution", "rectification", "whole", "program", "answer", "query"
]


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(frozen=True)

    role: Role
    content: str


class GenerationSettings(BaseModel):
    """Sampling settings; the defaults are the paper's (temperature 0.3, 1024 tokens).

    ``max_tokens`` bounds the whole reply, reasoning included (sent as ``max_completion_tokens``
    to models that want it). Settings added after the first release (``reasoning_effort``,
    ``extra_body``) are left out of the serialised form while unset, so cache keys and run
    fingerprints made before they existed stay valid.
    """

    model_config = ConfigDict(frozen=True)

    temperature: float = 0.3
    max_tokens: int = 1024
    top_p: float | None = None
    seed: int | None = None
    sample_index: int = 0
    """Which of several samples for the same request this is; part of the cache key only."""
    reasoning_effort: str | None = None
    """Passed through as ``reasoning_effort`` (e.g. ``low``, ``medium``, ``high``)."""
    extra_body: dict[str, Any] | None = None
    """JSON merged into the request body as is (e.g. vLLM's ``chat_template_kwargs``)."""

    @model_serializer(mode="wrap")
    def _drop_unset_additions(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in _LATER_SETTINGS:
            if data.get(name) is None:
                data.pop(name, None)
        return data


_LATER_SETTINGS = ("reasoning_effort", "extra_body")


class Usage(BaseModel):
    """Token counts as reported by the endpoint (never estimated locally)."""

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    """The part of ``completion_tokens`` spent reasoning, when the endpoint reports it."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


_SURROGATE = re.compile("[\ud800-\udfff]")

CutOff = Literal["max_tokens", "context"]
"""Why a reply stopped early: the request's token limit, or the server's context filling up."""


class Completion(BaseModel):
    """A model's reply to one request.

    ``text`` is the answer part only: a reasoning model's thinking (inline ``<think>``
    sections, or a separate ``reasoning_content`` field) is in ``reasoning``, so code and
    answers are never read from it. A lone UTF-16 surrogate in either (JSON may carry
    ``"\\ud800"``; no UTF-8 file or request can) becomes U+FFFD, whatever backend made it.
    """

    model_config = ConfigDict(frozen=True)

    @field_validator("text", "reasoning")
    @classmethod
    def _no_lone_surrogates(cls, value: str | None) -> str | None:
        if value is None or not _SURROGATE.search(value):
            return value
        return _SURROGATE.sub("\ufffd", value)

    text: str
    usage: Usage = Usage()
    finish_reason: str | None = None
    model: str = ""
    latency_s: float = 0.0
    """The server's time on the request (queue time excluded where it can be told apart)."""
    cached: bool = False
    reasoning: str | None = None
    cut_off: CutOff | None = None
    """Set when the reply stopped early (``finish_reason`` ``length``), and why."""
    queue_s: float = 0.0
    """Time the request waited at the server before it was worked on, as far as known."""

    @property
    def cut_off_in_reasoning(self) -> bool:
        """The reply stopped early while the model was still reasoning: no answer text."""
        return self.cut_off is not None and not self.text.strip() and bool(self.reasoning)

    def cut_off_message(self) -> str | None:
        """One line saying why the reply stopped early, or None if it did not.

        ``finish_reason`` ``length`` without ``cut_off`` (replies recorded before ``cut_off``
        existed) counts as the token limit.
        """
        if self.cut_off is None:
            if self.finish_reason == "length":
                return "the reply was cut off at the token limit"
            return None
        tokens = f"{self.usage.completion_tokens:,} tokens" if self.usage.completion_tokens else ""
        if self.cut_off == "context":
            where = "the server's context filled up"
            if tokens:
                where += f" after {tokens}"
            return f"the reply was cut off: {where} (start the server with a larger context)"
        where = "while the model was still reasoning" if self.cut_off_in_reasoning else ""
        limit = f" ({tokens})" if tokens else ""
        text = f"the reply was cut off at the token limit{limit}"
        if where:
            text += f" {where}: raise --max-tokens (reasoning models need several thousand)"
        return text


@dataclass(frozen=True, slots=True)
class RetryNotice:
    """A request that failed and that the backend is about to send again."""

    attempt: int
    """The try that failed, counted from 1."""
    error: str
    """Why, in one line (the typed error's message)."""
    delay_s: float
    """How long the backend waits before the next try."""


RetryObserver = Callable[[RetryNotice], None]
"""Told of each retry; it runs in the event loop, between tries, and must not raise."""


class CallContext(BaseModel):
    """What a call is for: the stage and the problem. Not sent to real endpoints.

    ``on_retry``, when set, is told of each retry of the call's request (backends that do not
    retry ignore it); it is never serialised.
    """

    model_config = ConfigDict(frozen=True)

    stage: Stage
    problem: Problem
    attempt: int = 0
    on_retry: RetryObserver | None = Field(default=None, exclude=True, repr=False)


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
