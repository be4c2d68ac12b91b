"""A scripted model: queued replies or a function, recording every request it gets.

It ships in the library (not only in tests) so that users can test their own code against
CREATOR without a network, as every test of this project does. Token counts it reports are
word counts, not real tokens. A text reply is split like a real endpoint's
(:func:`~creator.models.reasoning.split_reasoning`), so inline ``<think>`` sections can be
scripted. It does not imitate any real model's behaviour.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from creator.errors import ModelResponseError
from creator.models.base import CallContext, Completion, GenerationSettings, Message, Usage
from creator.models.reasoning import split_reasoning

__all__ = ["Reply", "Responder", "ScriptedCall", "ScriptedModel"]

Reply = str | Completion | Exception
Responder = Callable[[Sequence[Message], GenerationSettings, CallContext | None], Reply]


@dataclass(frozen=True, slots=True)
class ScriptedCall:
    """One request the scripted model received."""

    messages: tuple[Message, ...]
    settings: GenerationSettings
    context: CallContext | None


class ScriptedModel:
    """Answers from a queue of replies, then from ``responder``; an Exception reply is raised.

    ``delay_s`` is waited before each reply (not before an Exception, which is raised at once),
    like a slow endpoint; ``cancelled`` counts the calls cancelled while waiting.
    """

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        responder: Responder | None = None,
        name: str = "scripted",
        delay_s: float = 0.0,
    ) -> None:
        self._queue: deque[Reply] = deque(replies)
        self._responder = responder
        self._name = name
        self._delay_s = delay_s
        self.calls: list[ScriptedCall] = []
        self.cancelled = 0

    @property
    def name(self) -> str:
        return self._name

    def queue(self, *replies: Reply) -> None:
        """Add replies to the end of the queue."""
        self._queue.extend(replies)

    @property
    def pending(self) -> int:
        """How many queued replies have not been used."""
        return len(self._queue)

    async def generate(
        self,
        messages: Sequence[Message],
        *,
        settings: GenerationSettings,
        context: CallContext | None = None,
    ) -> Completion:
        self.calls.append(ScriptedCall(tuple(messages), settings, context))
        if self._queue:
            reply = self._queue.popleft()
        elif self._responder is not None:
            reply = self._responder(messages, settings, context)
        else:
            raise ModelResponseError(f"scripted model '{self._name}' has no reply left")
        if isinstance(reply, Exception):
            raise reply
        if self._delay_s > 0:
            try:
                await asyncio.sleep(self._delay_s)
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        if isinstance(reply, Completion):
            return reply
        prompt_words = sum(len(m.content.split()) for m in messages)
        reasoning, text = split_reasoning(reply)
        return Completion(
            text=text,
            reasoning=reasoning,
            usage=Usage(prompt_tokens=prompt_words, completion_tokens=len(reply.split())),
            finish_reason="stop",
            model=self._name,
        )

    async def aclose(self) -> None:
        return None
