"""``--creation-model NAME``: a tool maker for the Creation stage, ``--model`` for the rest.

With ``--creation-model`` the Creation stage's requests go to that model and every other
stage's (Decision, Rectification) to ``--model``, the split LATM makes between a strong tool
maker and a cheap tool user. It is served where ``--model`` is, with the same key, unless
``--creation-base-url URL`` and ``--creation-api-key KEY`` (or ``$CREATOR_CREATION_API_KEY``)
say otherwise; an empty key is refused, never taken for none; the key is never
recorded or printed, like ``--api-key``, and a creation URL is recorded without credentials.
The request options (``--header``, ``--max-tokens``, the timeouts, retries and cache) are
the same for both models.

Here: adding the options, checking them (:func:`creation_model`: only ``--method creator``
has a Creation stage of its own, and the offline replay cannot be half of a pair) and routing
a built model (:func:`with_creation_model`). Left out: building one model from a name, URLs
and a key (:func:`creator.cli.common.build_model`'s) and accounting tokens per model (the
records', :mod:`creator.eval.records`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence

from creator.cli.base_url_args import base_urls
from creator.errors import ConfigError
from creator.models.base import Model

__all__ = [
    "CREATION_KEY_VARIABLE",
    "CREATION_METHODS",
    "add_creation_args",
    "creation_api_key",
    "creation_model",
    "with_creation_model",
]

CREATION_METHODS = ("creator",)
"""The methods with a Creation stage of their own (``toolcreate-whole`` writes the tool and
its use in one reply; the others write no tool)."""

Build = Callable[[str, Sequence[str], str | None], Model]
"""Builds one model from its name, base URLs (none: the environment's) and API key."""


def add_creation_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("creation model (a tool maker; --model uses the tools)")
    group.add_argument(
        "--creation-model",
        metavar="NAME",
        help="the model of the Creation stage (--method creator); Decision and "
        "Rectification use --model (default: --model does everything)",
    )
    group.add_argument(
        "--creation-base-url",
        metavar="URL",
        help="where --creation-model is served (default: where --model is)",
    )
    group.add_argument(
        "--creation-api-key",
        metavar="KEY",
        help="the API key of --creation-model (default: $CREATOR_CREATION_API_KEY, else --model's)",
    )


def creation_model(args: argparse.Namespace) -> str | None:
    """The ``--creation-model`` name, checked against the other options (None without it)."""
    given: str | None = getattr(args, "creation_model", None)
    name = given.strip() if given is not None else None
    url = getattr(args, "creation_base_url", None)
    if not name:
        if given is not None:
            raise ConfigError("--creation-model needs a model name")
        if url is not None or getattr(args, "creation_api_key", None) is not None:
            raise ConfigError(
                "--creation-base-url and --creation-api-key only apply with --creation-model"
            )
        return None
    if url is not None and not url.strip():
        raise ConfigError(
            "--creation-base-url is empty: give the endpoint's URL (without it the creation "
            "model is served where --model is)"
        )
    creation_api_key(args)
    if "reference" in (name, (getattr(args, "model", None) or "").strip()):
        raise ConfigError(
            "--creation-model needs real models on both sides: the reference replay cannot "
            "make tools for another model or use another model's tools"
        )
    method = getattr(args, "method", "creator")
    if method == "toolcreate-whole":
        raise ConfigError(
            "--creation-model needs a separate Creation stage: toolcreate-whole writes the "
            "tool and its use in one reply (use --method creator)"
        )
    if method not in CREATION_METHODS:
        raise ConfigError(
            f"--creation-model applies to --method creator, the only method that creates a "
            f"tool apart; {method} creates none"
        )
    return name


CREATION_KEY_VARIABLE = "CREATOR_CREATION_API_KEY"
"""The environment variable ``--creation-api-key`` defaults to."""


def creation_api_key(args: argparse.Namespace) -> str | None:
    """The creation model's own key: ``--creation-api-key``, else ``$CREATOR_CREATION_API_KEY``
    (None: it uses ``--model``'s). An empty one is refused rather than taken for none, which
    would send ``--model``'s key to the creation endpoint."""
    given = getattr(args, "creation_api_key", None)
    where = "--creation-api-key"
    if given is None:
        given, where = os.environ.get(CREATION_KEY_VARIABLE), f"${CREATION_KEY_VARIABLE}"
    if given is not None and not given.strip():
        raise ConfigError(
            f"{where} is empty: give the creation model's key, or leave it out to use --model's key"
        )
    return given


def with_creation_model(args: argparse.Namespace, model: Model, *, build: Build) -> Model:
    """``model`` alone without ``--creation-model``; else a
    :class:`~creator.models.routed.StageRouter` sending Creation to the creation model (built
    with ``build``) and every other stage to ``model``."""
    name = creation_model(args)
    if name is None:
        return model
    url = getattr(args, "creation_base_url", None)
    urls = [url.strip()] if url is not None else base_urls(args)
    key = creation_api_key(args) or getattr(args, "api_key", None)
    from creator.models.routed import StageRouter

    return StageRouter(model, {"creation": build(name, urls, key)})
