"""The computation-service interface of the Tool Use baseline: one query in, one reply out.

A service answers a model-written query (``solve 3p+4q=8, 4p+3q=13``) in plain text. A query
it cannot answer (unreadable, too slow, refused by the remote service, a network failure that
outlasted the retries) is not an exception: the reply carries a one-line ``error`` instead of
``text``, and the method tells the model that no result is available. Only what makes every
later query fail too (a rejected or missing key) is raised, as :class:`ServiceError`, so a
run stops instead of degrading quietly.

Implementations: :mod:`creator.services.sympy_service` (offline; the query is read and
computed inside the sandbox, never in this process) and :mod:`creator.services.wolfram`
(WolframAlpha's LLM API over HTTP). Building one by name is
:func:`creator.services.make_service`'s job.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from creator.errors import CreatorError
from creator.sandbox.base import Limits, Sandbox
from creator.sandbox.runner import clip

__all__ = [
    "QUERY_CAP",
    "REPLY_CAP",
    "ServiceError",
    "ServiceReply",
    "ToolService",
    "clip_reply",
]

QUERY_CAP = 2_000
"""Most characters of a query sent to a service; a longer one is answered with an error
without being sent (no computation service needs more; a model that writes more is rambling)."""

REPLY_CAP = 3_000
"""Most characters of a service's reply shown to the model (about 750 tokens): the head and
the tail are kept around a line saying how much was cut."""


class ServiceError(CreatorError):
    """A failure that every later query would meet too (a missing or rejected key)."""


class ServiceReply(BaseModel):
    """What a service said about one query: ``text`` when it answered, else ``error``."""

    model_config = ConfigDict(frozen=True)

    service: str
    query: str
    text: str | None = None
    error: str | None = None
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.text is not None


@runtime_checkable
class ToolService(Protocol):
    """A computation service. ``name`` is what ``--tool-service`` calls it."""

    @property
    def name(self) -> str: ...

    async def ask(self, query: str, *, sandbox: Sandbox, limits: Limits) -> ServiceReply:
        """Answer ``query``. ``sandbox`` and ``limits`` are for services that compute locally
        (model-written text is only ever read inside the sandbox); remote ones ignore them.
        Raises :class:`ServiceError` only for failures every later query would meet too."""
        ...


def clip_reply(text: str) -> str:
    """``text`` stripped and cut to :data:`REPLY_CAP` characters, mostly from its start (where
    a service puts its result)."""
    return clip(text.strip(), REPLY_CAP, head=0.75)
