"""Reading a chat completion from an OpenAI-compatible server into a :class:`Completion`.

:func:`read_completion` checks the reply's shape (a malformed one is a retryable error),
separates reasoning (``reasoning_content``/``reasoning`` fields, inline ``<think>``) from the
answer text, reads token counts from ``usage``, tells a reply cut off by the token limit from
one cut off by the server's context, and takes the server's own compute time (llama.cpp's
``timings``) out of the latency. Sending requests and retrying them is
:mod:`creator.models.openai`'s business.
"""

from __future__ import annotations

from collections.abc import Mapping

from openai.types.chat import ChatCompletion

from creator.errors import ModelResponseError
from creator.models.base import Completion, CutOff, GenerationSettings, Usage
from creator.models.openai_errors import ErrorReader
from creator.models.reasoning import split_reasoning

__all__ = ["read_completion"]


def read_completion(
    response: object,
    settings: GenerationSettings,
    *,
    errors: ErrorReader,
    model: str,
    wall_s: float,
    queue_s: float,
) -> Completion:
    """The completion in ``response`` (from ``model``, sent ``wall_s`` seconds ago and queued
    ``queue_s`` of them at this client); ``errors`` names the endpoint in failures."""
    if isinstance(response, str):
        raise errors.malformed(f"not JSON: {response[:120]}")
    choices = getattr(response, "choices", None)
    if not isinstance(response, ChatCompletion) or not choices:
        raise errors.malformed("no choices")
    choice = choices[0]
    message = choice.message
    if message is None:
        raise errors.malformed("a choice without a message")
    fields = [getattr(message, name, None) for name in ("reasoning_content", "reasoning")]
    reasoning_parts = [f for f in fields if isinstance(f, str) and f.strip()]
    inline, text = split_reasoning(message.content or "")
    if inline:
        reasoning_parts.append(inline)
    reasoning = errors.redact("\n\n".join(reasoning_parts)) or None
    text = errors.redact(text)
    usage = response.usage
    details = getattr(usage, "completion_tokens_details", None) if usage else None
    counts = Usage(
        prompt_tokens=max(usage.prompt_tokens or 0, 0) if usage else 0,
        completion_tokens=max(usage.completion_tokens or 0, 0) if usage else 0,
        reasoning_tokens=max(getattr(details, "reasoning_tokens", 0) or 0, 0) if details else 0,
    )
    if message.content is None and reasoning is None and choice.finish_reason != "length":
        refusal = getattr(message, "refusal", None)
        why = f"refused: {errors.one_line(refusal)}" if refusal else "no text"
        raise ModelResponseError(
            f"{errors.url} returned {why} for model '{model}'"
            f" (finish_reason={choice.finish_reason})"
        )
    cut_off: CutOff | None = None
    if choice.finish_reason == "length":
        short = 0 < counts.completion_tokens < settings.max_tokens - 2
        cut_off = "context" if short else "max_tokens"
    server_s = _server_seconds(response)
    if server_s is not None and server_s <= wall_s:
        queue_s = wall_s - server_s
    return Completion(
        text=text,
        usage=counts,
        finish_reason=choice.finish_reason,
        model=response.model or model,
        latency_s=max(wall_s - queue_s, 0.0),
        queue_s=max(queue_s, 0.0),
        reasoning=reasoning,
        cut_off=cut_off,
    )


def _server_seconds(response: object) -> float | None:
    """The server's own compute time, from llama.cpp's ``timings`` (prompt + generation)."""
    timings = getattr(response, "timings", None)
    if not isinstance(timings, Mapping):
        return None
    total = 0.0
    for key in ("prompt_ms", "predicted_ms"):
        value = timings.get(key)
        if isinstance(value, int | float):
            total += float(value)
    return total / 1000.0 if total > 0 else None
