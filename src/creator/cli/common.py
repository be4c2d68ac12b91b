"""Options shared by commands that talk to a model, and building the model from them.

The request options pass through to the server as given: ``--top-p``, ``--seed`` (the
model's sampling seed), ``--reasoning-effort``, ``--extra-body JSON`` (merged into every
request body) and ``--header NAME:VALUE`` (sent with every request; gateways, Azure's
``api-key``). Header values may be keys: they are never recorded or printed, only their names.

The method options of ``solve`` and ``eval``: ``--method``, and for ``tooluse`` the
computation service (``--tool-service``, ``--wolfram-app-id``, else ``WOLFRAM_APP_ID``).
The pipeline options include the run's prompts: ``--prompts DIR`` and ``--examples FILE``,
read and checked when the stage options are built (see :func:`creator.prompts.prompt_set`).

The tool library options are :mod:`creator.cli.library_args`.

``--base-url``, repeatable (replicas of one model), is :mod:`creator.cli.base_url_args`;
:func:`build_model` builds one :class:`~creator.models.openai.OpenAIModel` from one URL (or
none: ``$OPENAI_BASE_URL``), and a :class:`~creator.models.replicas.ReplicaModel` from several.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from creator.cli.base_url_args import add_base_url_arg, base_urls
from creator.cli.creation_args import add_creation_args, creation_model, with_creation_model
from creator.errors import ConfigError
from creator.methods import METHODS, REPAIRING_METHODS
from creator.models.base import GenerationSettings, Model
from creator.models.reasoning import is_reasoning_model
from creator.models.reference import ReferenceModel
from creator.prompts import prompt_set
from creator.sandbox.base import Limits
from creator.services import SERVICES, ToolService, make_service
from creator.stages.common import ROUNDS_BOUND, StageOptions

__all__ = [
    "add_method_args",
    "add_model_args",
    "add_request_args",
    "add_solve_args",
    "build_model",
    "extra_body",
    "generation_settings",
    "request_headers",
    "stage_options",
    "tool_service",
]

PAPER_MAX_TOKENS = 1024
REASONING_MAX_TOKENS = 16_384
"""A reasoning model spends most of a reply thinking: 1024 tokens rarely reach the answer."""

SANDBOX_LEVELS = ("auto", "bwrap", "rlimits", "none")


def add_model_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument(
        "--model",
        default=os.environ.get("CREATOR_MODEL"),
        help="model name at the endpoint, or 'reference' for the offline replay of recorded "
        "dataset solutions (default: $CREATOR_MODEL)",
    )
    add_base_url_arg(
        group,
        "OpenAI-compatible base URL (default: $OPENAI_BASE_URL); repeatable: replicas of one "
        "model, each request going to the least busy one that is not failing",
    )
    group.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY)")
    group.add_argument(
        "--max-tokens",
        type=int,
        help=f"tokens per reply, reasoning included (default: {PAPER_MAX_TOKENS}, the paper's; "
        f"{REASONING_MAX_TOKENS:,} for OpenAI's reasoning models, o-series and gpt-5)",
    )
    add_request_args(group)
    group.add_argument(
        "--request-timeout", type=float, default=60.0, help="seconds per model request"
    )
    group.add_argument("--max-retries", type=int, default=5, help="retries on 429/5xx/network")
    group.add_argument(
        "--max-in-flight",
        type=int,
        help="requests in flight at once, per endpoint (default: 16, or --concurrency if larger)",
    )
    group.add_argument("--no-cache", action="store_true", help="bypass the response cache")
    group.add_argument("--cache", type=Path, help="response cache file (SQLite)")
    add_creation_args(parser)


def add_request_args(group: argparse._ArgumentGroup) -> None:
    """The options passed through to the server with every request."""
    group.add_argument("--temperature", type=float, default=0.3, help="default: 0.3")
    group.add_argument(
        "--top-p", type=float, metavar="P", help="nucleus sampling (default: the server's)"
    )
    group.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="the model's sampling seed, for servers that honour one (default: none)",
    )
    group.add_argument(
        "--reasoning-effort",
        metavar="LEVEL",
        help="sent as reasoning_effort, e.g. low, medium, high (default: not sent)",
    )
    group.add_argument(
        "--extra-body",
        metavar="JSON",
        help="a JSON object merged into every request body, e.g. "
        '\'{"chat_template_kwargs": {"enable_thinking": false}}\' (recorded with the run: '
        "put keys in --header, not here)",
    )
    group.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="an HTTP header sent with every request (repeatable), e.g. 'api-key: ...' for "
        "Azure or a gateway; only its name is ever recorded",
    )


_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def request_headers(args: argparse.Namespace) -> dict[str, str]:
    """The ``--header NAME:VALUE`` options as a dict. Errors never repeat a value."""
    headers: dict[str, str] = {}
    seen: set[str] = set()
    for number, option in enumerate(getattr(args, "header", None) or [], start=1):
        name, colon, value = option.partition(":")
        name, value = name.strip(), value.strip()
        if not colon or not _HEADER_NAME.match(name):
            raise ConfigError(
                f"--header number {number} is not NAME:VALUE (e.g. --header 'api-key: ...'); "
                "the name must be a plain HTTP header name"
            )
        if not value:
            raise ConfigError(f"--header {name} has no value after the ':'")
        if "\n" in value or "\r" in value:
            raise ConfigError(f"--header {name} has a line break in its value")
        if name.lower() in seen:
            raise ConfigError(f"--header {name} is given twice")
        seen.add(name.lower())
        headers[name] = value
    return headers


def extra_body(args: argparse.Namespace) -> dict[str, Any] | None:
    """``--extra-body``: a JSON object, or None when not given (or empty)."""
    text = getattr(args, "extra_body", None)
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"--extra-body is not valid JSON ({exc.msg} at column {exc.colno}): give a JSON "
            'object, e.g. \'{"chat_template_kwargs": {"enable_thinking": false}}\''
        ) from None
    if not isinstance(value, dict):
        raise ConfigError(
            f"--extra-body must be a JSON object ({{...}}), not {type(value).__name__}"
        )
    return value or None


def generation_settings(args: argparse.Namespace) -> GenerationSettings:
    """The generation settings the options ask for, checked."""
    max_tokens = getattr(args, "max_tokens", None)
    if max_tokens is None:
        reasoning = is_reasoning_model(getattr(args, "model", None) or "")
        max_tokens = REASONING_MAX_TOKENS if reasoning else PAPER_MAX_TOKENS
    if not math.isfinite(args.temperature) or args.temperature < 0 or max_tokens < 1:
        raise ConfigError("--temperature must be a number >= 0 and --max-tokens >= 1")
    if args.top_p is not None and not 0 < args.top_p <= 1:
        raise ConfigError("--top-p must be > 0 and <= 1")
    effort = args.reasoning_effort.strip() if args.reasoning_effort is not None else None
    if effort is not None and not effort:
        raise ConfigError("--reasoning-effort needs a level, e.g. low, medium or high")
    return GenerationSettings(
        temperature=args.temperature,
        max_tokens=max_tokens,
        top_p=args.top_p,
        seed=args.seed,
        reasoning_effort=effort,
        extra_body=extra_body(args),
    )


def add_method_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--method",
        default="creator",
        choices=list(METHODS),
        help="creator (default), or a baseline: toolcreate-whole, pot, cot, standard, tooluse",
    )
    parser.add_argument(
        "--tool-service",
        choices=SERVICES,
        help="the computation service of --method tooluse: sympy (default, offline, runs in "
        "the sandbox) or wolfram (WolframAlpha's LLM API)",
    )
    parser.add_argument(
        "--wolfram-app-id",
        metavar="ID",
        help="WolframAlpha app id for --tool-service wolfram (default: $WOLFRAM_APP_ID)",
    )
    parser.add_argument(
        "--wolfram-url",
        metavar="URL",
        help="the LLM API's address for --tool-service wolfram, e.g. a proxy (default: "
        "WolframAlpha's own)",
    )


def tool_service(args: argparse.Namespace) -> ToolService | None:
    """The computation service the options ask for: None unless ``--method tooluse``."""
    if args.method != "tooluse" and args.tool_service is not None:
        raise ConfigError("--tool-service only applies with --method tooluse")
    for given, flag in (
        (args.wolfram_app_id, "--wolfram-app-id"),
        (args.wolfram_url, "--wolfram-url"),
    ):
        if given is not None and args.tool_service != "wolfram":
            raise ConfigError(f"{flag} only applies with --tool-service wolfram")
    if args.method != "tooluse":
        return None
    return make_service(
        args.tool_service or SERVICES[0], app_id=args.wolfram_app_id, url=args.wolfram_url
    )


def add_solve_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pipeline")
    group.add_argument("--creation-retries", type=int, default=3, help="default: 3")
    group.add_argument("--rectify-rounds", type=int, default=3, help="default: 3")
    group.add_argument(
        "--rectify-on",
        choices=("error", "no-answer"),
        default="error",
        help="what goes back to Rectification: error (the paper's: errors, timeouts, replies "
        "without code; default) or no-answer (also code that ran and printed no answer)",
    )
    group.add_argument("--exec-timeout", type=float, default=10.0, help="seconds per execution")
    group.add_argument("--memory", type=int, default=1024, help="MB per execution")
    group.add_argument(
        "--sandbox", choices=SANDBOX_LEVELS, default="auto", help="isolation level (default: auto)"
    )
    group.add_argument(
        "--prompts",
        type=Path,
        metavar="DIR",
        help="prompt templates and demonstrations replacing the built-in ones file by file "
        "(start from `creator prompts export DIR`)",
    )
    group.add_argument(
        "--examples",
        type=Path,
        metavar="FILE",
        help="your own few-shot demonstrations (JSONL: problem + tool + decision, or problem + "
        "program for pot), replacing the built-in ones; each runs in the sandbox first",
    )


def build_model(args: argparse.Namespace) -> Model:
    """The model the options ask for, wrapped in the response cache unless ``--no-cache``.

    Several ``--base-url``s build a :class:`~creator.models.replicas.ReplicaModel` whose
    clients do not retry on their own: it tries another replica instead, within the same
    ``--max-retries``. With ``--creation-model`` (:mod:`creator.cli.creation_args`) it is a
    :class:`~creator.models.routed.StageRouter` over two such models, each with its own client
    and cache wrapper (one cache file).
    """
    name = (args.model or "").strip()
    if not name:
        raise ConfigError(
            "no model given: pass --model NAME (e.g. gpt-4o-mini), "
            "or --model reference for the offline replay"
        )
    creation_model(args)  # checked before anything is built
    if name == "reference":
        return ReferenceModel()
    served = functools.partial(_served, args)
    return with_creation_model(args, served(name, base_urls(args), args.api_key), build=served)


def _served(args: argparse.Namespace, name: str, urls: Sequence[str], api_key: str | None) -> Model:
    """The model ``name`` at ``urls`` (none: ``$OPENAI_BASE_URL``), cached unless
    ``--no-cache``."""
    from creator.models.cache import CachedModel, default_cache_path
    from creator.models.openai import OpenAIModel

    headers = request_headers(args)

    def client(url: str | None, *, max_retries: int) -> OpenAIModel:
        return OpenAIModel(
            name,
            base_url=url,
            api_key=api_key,
            timeout_s=args.request_timeout,
            max_retries=max_retries,
            max_in_flight=args.max_in_flight or max(16, getattr(args, "concurrency", None) or 1),
            headers=headers,
        )

    model: Model
    if len(urls) < 2:
        model = client(urls[0] if urls else None, max_retries=args.max_retries)
    else:
        from creator.models.replicas import ReplicaModel

        model = ReplicaModel(
            [client(url, max_retries=0) for url in urls], max_retries=args.max_retries
        )
    if args.no_cache:
        return model
    return CachedModel(model, path=args.cache or default_cache_path())


def stage_options(args: argparse.Namespace) -> StageOptions:
    settings = generation_settings(args)
    if not all(0 <= n < ROUNDS_BOUND for n in (args.creation_retries, args.rectify_rounds)):
        raise ConfigError(
            f"--creation-retries and --rectify-rounds must be >= 0 and < {ROUNDS_BOUND}"
        )
    if args.rectify_on != "error" and args.method not in REPAIRING_METHODS:
        raise ConfigError(
            f"--rectify-on {args.rectify_on} applies to the methods that repair their code "
            f"({', '.join(REPAIRING_METHODS)}), not to {args.method}"
        )
    if args.exec_timeout <= 0 or args.memory < 16:
        raise ConfigError("--exec-timeout must be > 0 and --memory >= 16")
    return StageOptions(
        settings=settings,
        limits=Limits(timeout_s=args.exec_timeout, memory_mb=args.memory),
        creation_retries=args.creation_retries,
        rectify_rounds=args.rectify_rounds,
        rectify_on=args.rectify_on,
        service=tool_service(args),
        prompts=prompt_set(directory=args.prompts, examples=args.examples, method=args.method),
    )
