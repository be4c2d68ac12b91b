"""Building a chat-completions request for an OpenAI-compatible server: messages and parameters.

:func:`message_params` turns :class:`Message` objects into the SDK's message params.
:class:`RequestParameters` holds one model's optional request parameters and how they are
adapted to it: OpenAI's reasoning models get ``max_completion_tokens`` and no sampling
parameters; a parameter a server's 400 refuses is renamed or dropped once
(:meth:`RequestParameters.adapt`) and remembered (:attr:`RequestParameters.adaptations`).

Deliberately left out: sending the request, retrying it and timing it out
(:mod:`creator.models.openai`), recognising a 400 that refuses a parameter
(:func:`creator.models.openai_errors.refused_parameter`) and reading the reply
(:mod:`creator.models.openai_reply`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openai.types.chat import ChatCompletionMessageParam

from creator.models.base import GenerationSettings, Message
from creator.models.reasoning import is_reasoning_model

__all__ = ["RequestParameters", "message_params"]


class RequestParameters:
    """The optional parameters of ``model``'s requests, after its adaptations."""

    def __init__(self, model: str) -> None:
        self._adaptations: dict[str, str] = {}
        self._refused: set[str] = set()
        if is_reasoning_model(model):
            for name in ("temperature", "top_p"):
                self._adaptations[name] = "not sent: OpenAI's reasoning models take no " + name
            self._adaptations["max_tokens"] = "sent as max_completion_tokens"

    @property
    def adaptations(self) -> dict[str, str]:
        """Request parameters renamed or left out for this model, and how (a copy)."""
        return dict(self._adaptations)

    def for_settings(self, settings: GenerationSettings) -> dict[str, Any]:
        """The request's optional parameters, after this model's adaptations."""
        sent: dict[str, Any] = {}
        tokens = "max_completion_tokens" if "max_tokens" in self._adaptations else "max_tokens"
        sent[tokens] = settings.max_tokens
        for name in ("temperature", "top_p", "seed"):
            value = getattr(settings, name)
            if value is not None and name not in self._adaptations:
                sent[name] = value
        if settings.reasoning_effort is not None:
            sent["reasoning_effort"] = settings.reasoning_effort
        if settings.extra_body:
            sent["extra_body"] = dict(settings.extra_body)
        return sent

    def adapt(self, parameter: str) -> bool:
        """Remember to rename or drop ``parameter``, which a server refused; False if it was
        refused before (a server that refuses both token parameters gets an error, not an
        endless swap)."""
        if parameter in self._refused:
            return False
        self._refused.add(parameter)
        if parameter == "max_completion_tokens":
            if "max_tokens" not in self._adaptations:
                return False
            del self._adaptations["max_tokens"]
            self._adaptations["max_completion_tokens"] = "sent as max_tokens"
            return True
        if parameter in self._adaptations:
            return False
        self._adaptations[parameter] = _note(parameter)
        return True


def message_params(messages: Sequence[Message]) -> list[ChatCompletionMessageParam]:
    """``messages`` as the SDK sends them."""
    return [_message_param(m) for m in messages]


def _note(parameter: str) -> str:
    if parameter == "max_tokens":
        return "sent as max_completion_tokens (the server refused max_tokens)"
    return f"not sent (the server refused {parameter})"


def _message_param(message: Message) -> ChatCompletionMessageParam:
    if message.role == "system":
        return {"role": "system", "content": message.content}
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}
