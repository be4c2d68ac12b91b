"""``--base-url URL``, repeatable: the endpoints of the one model a command talks to.

Several URLs are replicas of one model, used as one
(:class:`~creator.models.replicas.ReplicaModel`); the options keep every URL in ``base_urls``
(in the order given) and the first in ``base_url``, what commands that take one endpoint read.
One URL, or none (the model falls back to ``$OPENAI_BASE_URL``), is a plain
:class:`~creator.models.openai.OpenAIModel`. Here: adding the option, reading the URLs back
(the same endpoint twice is an error, and so is an empty one: ``--base-url "$UNSET"`` would
otherwise fall back to ``$OPENAI_BASE_URL`` or OpenAI's own, sending the key there) and the
form a run records them in, never with a password or query. Left out: building the model from them
(:func:`creator.cli.common.build_model`) and checking that a URL is one (the client's).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from creator.errors import ConfigError

__all__ = ["add_base_url_arg", "base_urls", "recorded_base_urls", "recorded_url"]


class _BaseUrlAction(argparse.Action):
    """``--base-url``, repeatable: every URL in ``base_urls`` (in the order given), the first
    in ``base_url`` (what commands that take one endpoint read)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        urls = [*(getattr(namespace, "base_urls", None) or []), str(values)]
        namespace.base_urls = urls
        namespace.base_url = urls[0]


def add_base_url_arg(group: argparse._ArgumentGroup | argparse.ArgumentParser, help: str) -> None:
    """``--base-url URL``, repeatable (see :func:`base_urls`)."""
    group.add_argument("--base-url", action=_BaseUrlAction, metavar="URL", help=help)
    group.set_defaults(base_urls=[])


def base_urls(args: argparse.Namespace) -> list[str]:
    """The ``--base-url`` options in the order given ([] when none: the model falls back to
    ``$OPENAI_BASE_URL``). The same endpoint twice (credentials, a query and a trailing ``/``
    aside) is a ConfigError that never shows a password."""
    given = list(getattr(args, "base_urls", None) or [])
    single = getattr(args, "base_url", None)
    if not given and single:  # a namespace built by code, not by these options
        given = [single]
    for number, url in enumerate(given, start=1):
        if not url.strip():
            which = f"number {number} " if len(given) > 1 else ""
            raise ConfigError(
                f"--base-url {which}is empty: give the endpoint's URL (without --base-url the "
                "model uses $OPENAI_BASE_URL, else OpenAI's)"
            )
    if len(given) < 2:
        return given
    from creator.models.openai_errors import display_url

    seen: set[str] = set()
    for url in given:
        try:
            shown = display_url(url.strip().rstrip("/"))
        except ValueError:  # not a URL: the client says so, without repeating it
            continue
        if shown in seen:
            raise ConfigError(f"--base-url {shown} is given twice")
        seen.add(shown)
    return given


def recorded_base_urls(args: argparse.Namespace) -> tuple[str, ...]:
    """Every ``--base-url`` when several are given, as a run records them: without user
    name, password or query (their values may be keys); () for one or none (then the run's
    ``base_url`` says it all)."""
    urls = base_urls(args)
    if len(urls) < 2:
        return ()
    from creator.models.openai_errors import display_url

    recorded: list[str] = []
    for number, url in enumerate(urls, start=1):
        try:
            recorded.append(display_url(url.strip().rstrip("/")))
        except ValueError as exc:  # the URL may hold a password: never repeat it
            raise ConfigError(f"--base-url number {number} is not a valid URL ({exc})") from None
    return tuple(recorded)


def recorded_url(url: str | None, *, option: str = "--base-url") -> str | None:
    """One base URL as a run records it: without user name, password, query or fragment
    (their values may be keys); a URL that cannot be read is a ConfigError that never repeats
    it."""
    if url is None:
        return None
    from creator.models.openai_errors import display_url

    try:
        return display_url(url.strip())
    except ValueError as exc:
        raise ConfigError(f"{option} is not a valid URL ({exc})") from None
