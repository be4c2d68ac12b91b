"""Computation services for the Tool Use baseline, by the name ``--tool-service`` gives them.

``sympy`` (the default) is offline: a computer-algebra reader of Wolfram-style queries that
runs inside the sandbox. ``wolfram`` is WolframAlpha's LLM API over HTTP, with an app id. See
:mod:`creator.services.base` for the interface. The HTTP client is imported only when the
``wolfram`` service is built.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from creator.errors import ConfigError
from creator.services.base import ServiceError, ServiceReply, ToolService
from creator.services.sympy_service import SympyService

__all__ = [
    "SERVICES",
    "ServiceError",
    "ServiceReply",
    "SympyService",
    "ToolService",
    "default_service",
    "make_service",
]

SERVICES = ("sympy", "wolfram")
"""The services by name; the first is the default."""


def default_service() -> ToolService:
    """The offline sympy service."""
    return SympyService()


def make_service(
    name: str,
    *,
    app_id: str | None = None,
    url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ToolService:
    """The service ``name``; ``wolfram`` takes its key from ``app_id`` or ``WOLFRAM_APP_ID``
    (a :class:`ConfigError` when neither is set) and its address from ``url`` (default:
    WolframAlpha's own)."""
    if name == "sympy":
        return SympyService()
    if name == "wolfram":
        from creator.services.wolfram import WolframService, app_id_from

        key = app_id_from(app_id, os.environ if environ is None else environ)
        if url is None:
            return WolframService(app_id=key)
        return WolframService(app_id=key, base_url=url)
    raise ConfigError(f"unknown tool service {name!r}: choose from {', '.join(SERVICES)}")
