"""Checking a model's endpoint before work starts: one tiny chat request.

:func:`probe` finds the model that really talks to a server under any wrappers (the response
cache's :attr:`~creator.models.cache.CachedModel.inner`) and calls its ``probe(settings)``
(:meth:`creator.models.openai.OpenAIModel.probe`): a rejected key, an unknown model, an
unreachable URL or a refused parameter shows in seconds as the client's typed error, and
parameters a server refuses are adapted to there, once, for every later request. Models with
no endpoint (the scripted model, the offline reference replay) have no probe: nothing is sent.
A model made of several (:class:`~creator.models.routed.StageRouter`) probes each of its own
and lists them in ``routes``: :func:`endpoint_models` finds the endpoint model of every one.

Deliberately left out: deciding when to probe (the commands' business) and probing through the
cache (a cached reply says nothing about the server now).
"""

from __future__ import annotations

from typing import Any

from creator.models.base import GenerationSettings, Model

__all__ = ["adaptations", "endpoint_model", "endpoint_models", "probe"]


def endpoint_model(model: Model) -> Model:
    """The innermost model under wrappers that expose ``inner``."""
    seen: set[int] = set()
    current: Any = model
    while id(current) not in seen:
        seen.add(id(current))
        inner = getattr(current, "inner", None)
        if inner is None:
            break
        current = inner
    result: Model = current
    return result


def endpoint_models(model: Model) -> tuple[Model, ...]:
    """The endpoint model of every model ``model`` sends requests to: one, unless a model
    under its wrappers lists several in ``routes`` (each then followed down its own)."""
    found: list[Model] = []
    end = endpoint_model(model)
    routes = getattr(end, "routes", None)
    for routed in routes if routes else ():
        for inner in endpoint_models(routed):
            if all(inner is not seen for seen in found):
                found.append(inner)
    return tuple(found) if found else (end,)


async def probe(model: Model, settings: GenerationSettings) -> str | None:
    """Send the endpoint model's probe with ``settings``; its one-line description, or None
    when the model has no endpoint to probe. Raises the client's typed errors."""
    check = getattr(endpoint_model(model), "probe", None)
    if check is None:
        return None
    line: str = await check(settings)
    return line


def adaptations(model: Model) -> dict[str, str]:
    """Request parameters the endpoint model renames or leaves out, and how."""
    found = getattr(endpoint_model(model), "adaptations", None)
    return dict(found) if isinstance(found, dict) else {}
