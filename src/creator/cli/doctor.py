"""``creator doctor``: versions, the sandbox isolation level, whether the endpoint answers.

The endpoint is checked twice: ``GET /models`` (is it there, does it list the model) and, with
``--model``, one tiny chat request with the request options given (``--temperature``,
``--extra-body``, ``--header``, ...): the one ``creator eval`` sends before its first problem
(:func:`creator.models.preflight.probe`). Its row shows what answered, the reply (clipped) and
the server's time on it, or the error: a rejected key, a model the server does not serve, a
refused parameter, a server error that outlasted a retry. Request parameters adapted for the
model are listed under it. Several ``--base-url``s (replicas of one model) are checked one by
one, each endpoint with its own rows.

Exit status: 0 when the checks pass; 1 when one fails (the chat request, or, without
``--model``, ``GET /models``) at any of the endpoints: it is not usable as configured (a run
would rest a failing replica and carry on with the others, but doctor says so). A sandbox level
asked for by name and unavailable here (``--sandbox bwrap`` without bubblewrap) is an error,
exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from creator.cli.base_url_args import add_base_url_arg, base_urls
from creator.cli.common import (
    SANDBOX_LEVELS,
    add_request_args,
    generation_settings,
    request_headers,
)
from creator.errors import CreatorError
from creator.models.base import GenerationSettings

if TYPE_CHECKING:
    from creator.models.openai import OpenAIModel

__all__ = ["register"]

PACKAGES = ("creator", "openai", "pydantic", "rich", "numpy", "sympy", "scipy", "pandas")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "doctor",
        help="check the installation, the sandbox and the endpoint",
        description="Print versions, the sandbox isolation level and whether the endpoint answers.",
    )
    parser.add_argument(
        "--model", default=os.environ.get("CREATOR_MODEL"), help="model to look for"
    )
    add_base_url_arg(
        parser, "endpoint to check (default: $OPENAI_BASE_URL); repeatable: each is checked"
    )
    parser.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY)")
    parser.add_argument("--sandbox", choices=SANDBOX_LEVELS, default="auto")
    parser.add_argument("--request-timeout", type=float, default=10.0)
    add_request_args(parser.add_argument_group("chat request (with --model)"))
    parser.set_defaults(func=run)


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


Checked = tuple[str, list[tuple[str, str]], bool]
"""(endpoint, rows of (label, status), ok) for one endpoint."""


def _endpoints(args: argparse.Namespace) -> list[Checked]:
    """One :data:`Checked` per configured endpoint."""
    if args.model == "reference":
        return [
            (
                "reference",
                [("", "offline replay of recorded dataset solutions; no endpoint")],
                True,
            )
        ]
    urls: list[str | None] = [*base_urls(args)] or [os.environ.get("OPENAI_BASE_URL")]
    if urls == [None] and not (args.api_key or os.environ.get("OPENAI_API_KEY")):
        return [("(none)", [("", "not configured: pass --base-url or set OPENAI_BASE_URL")], True)]
    # Options that cannot be used are usage errors (exit 2), not a failed check: every
    # endpoint's client is built before any is asked.
    settings = generation_settings(args) if args.model else None
    from creator.models.openai import OpenAIModel

    models = [
        OpenAIModel(
            args.model or "(none)",  # without --model only the listing is checked
            base_url=url,
            api_key=args.api_key,
            timeout_s=args.request_timeout,
            max_retries=0,
            headers=request_headers(args),
        )
        for url in urls
    ]
    return [_endpoint(model, settings) for model in models]


def _endpoint(model: OpenAIModel, settings: GenerationSettings | None) -> Checked:
    """The checks of one endpoint (``GET /models``; with ``settings``, the chat request)."""
    from creator.models import preflight

    async def check() -> tuple[list[tuple[str, str]], bool]:
        rows: list[tuple[str, str]] = []
        try:
            try:
                if settings is None:
                    served = await model.served_models()
                    names = ", ".join(served[:8]) + (", ..." if len(served) > 8 else "")
                    listing = f"reachable, {len(served)} models listed: {names or 'none'}"
                    rows.append(
                        ("", escape(f"{listing}; pass --model NAME to send a chat request"))
                    )
                else:
                    rows.append(("", escape(await model.check())))
                listed = True
            except CreatorError as exc:
                rows.append(("", f"[red]{escape(str(exc))}[/red]"))
                listed = False
            if settings is None:
                return rows, listed
            try:
                line = await preflight.probe(model, settings)
                rows.append(("chat", escape(line or "no endpoint to ask")))
            except CreatorError as exc:
                rows.append(("chat", f"[red]{escape(str(exc))}[/red]"))
                return rows, False
            for number, (name, how) in enumerate(sorted(model.adaptations.items())):
                rows.append(("adapted" if number == 0 else "", escape(f"{name}: {how}")))
            return rows, True
        finally:
            await model.aclose()

    rows, ok = asyncio.run(check())
    from creator.models.openai_errors import display_url

    return display_url(model.base_url), rows, ok  # never a password it may hold


def run(args: argparse.Namespace) -> int:
    from creator.sandbox import isolation_report

    console = Console(highlight=False)
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("python", f"{platform.python_version()} ({sys.executable})")
    table.add_row("platform", platform.platform())
    for package in PACKAGES:
        table.add_row(package, _version(package))
    report = isolation_report(args.sandbox)
    table.add_row("sandbox", report.level)
    table.add_row("", report.detail)
    from creator.models.cache import default_cache_path

    table.add_row("response cache", str(default_cache_path()))
    checked = _endpoints(args)
    for endpoint, rows, _ in checked:
        table.add_row("endpoint", escape(endpoint))
        for label, status in rows:
            table.add_row(label, status)
    console.print(table)
    return 0 if all(ok for _, _, ok in checked) else 1
