"""``creator doctor``: versions, the sandbox isolation level, whether the endpoint answers."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

from rich.console import Console
from rich.table import Table

from creator.cli.common import SANDBOX_LEVELS
from creator.errors import CreatorError

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
    parser.add_argument("--base-url", help="endpoint to check (default: $OPENAI_BASE_URL)")
    parser.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY)")
    parser.add_argument("--sandbox", choices=SANDBOX_LEVELS, default="auto")
    parser.add_argument("--request-timeout", type=float, default=10.0)
    parser.set_defaults(func=run)


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def _endpoint(args: argparse.Namespace) -> tuple[str, str, bool]:
    """(endpoint, status, ok) for the configured endpoint."""
    if args.model == "reference":
        return "reference", "offline replay of recorded dataset solutions; no endpoint", True
    base_url = args.base_url or os.environ.get("OPENAI_BASE_URL")
    if not base_url and not (args.api_key or os.environ.get("OPENAI_API_KEY")):
        return "(none)", "not configured: pass --base-url or set OPENAI_BASE_URL", True
    from creator.models.openai import OpenAIModel

    try:
        model = OpenAIModel(
            args.model or "",
            base_url=base_url,
            api_key=args.api_key,
            timeout_s=args.request_timeout,
            max_retries=0,
        )
    except CreatorError as exc:
        return base_url or "(default)", str(exc), False

    async def check() -> str:
        try:
            return await model.check()
        finally:
            await model.aclose()

    try:
        return model.base_url, asyncio.run(check()), True
    except CreatorError as exc:
        return model.base_url, str(exc), False


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
    endpoint, status, ok = _endpoint(args)
    table.add_row("endpoint", endpoint)
    table.add_row("", status if ok else f"[red]{status}[/red]")
    console.print(table)
    return 0 if ok else 1
