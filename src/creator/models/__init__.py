"""Model backends behind one async interface (see :mod:`creator.models.base`).

``OpenAIModel`` talks to any OpenAI-compatible endpoint, ``ReplicaModel`` to several serving
one model (replicas), ``CachedModel`` wraps any model with an SQLite response cache,
``ReferenceModel`` replays recorded dataset solutions offline, and ``ScriptedModel`` answers
from a script (used by every test). ``openai`` is imported only when an OpenAIModel is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from creator.models.base import (
    CallContext,
    Completion,
    GenerationSettings,
    Message,
    Model,
    Usage,
)
from creator.models.reference import REFERENCE_LABEL, ReferenceModel
from creator.models.scripted import ScriptedModel

if TYPE_CHECKING:
    from creator.models.cache import CachedModel
    from creator.models.openai import OpenAIModel
    from creator.models.replicas import ReplicaModel

__all__ = [
    "REFERENCE_LABEL",
    "CachedModel",
    "CallContext",
    "Completion",
    "GenerationSettings",
    "Message",
    "Model",
    "OpenAIModel",
    "ReferenceModel",
    "ReplicaModel",
    "ScriptedModel",
    "Usage",
]


def __getattr__(name: str) -> Any:
    if name == "OpenAIModel":
        from creator.models.openai import OpenAIModel

        return OpenAIModel
    if name == "CachedModel":
        from creator.models.cache import CachedModel

        return CachedModel
    if name == "ReplicaModel":
        from creator.models.replicas import ReplicaModel

        return ReplicaModel
    raise AttributeError(name)
