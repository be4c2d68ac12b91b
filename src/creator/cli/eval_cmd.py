"""``creator eval``: a dataset x method x model evaluation, showing its progress as it goes.

Progress (:mod:`creator.cli.progress`): a live bar on a terminal; plain lines on stdout without
one (every tenth of the problems or ``--progress-every`` seconds, and soon after new model
errors or retries); ``--json-progress`` prints one JSON object per line on stdout instead (and
everything else on stderr); ``--quiet`` shows no progress and no table, only the line naming
the result files and any error.

Before the first problem the endpoint answers one tiny chat request (see
:mod:`creator.eval.runner`): a wrong key, an unknown model or an unreachable URL ends the
command in seconds with the server's message, exit status 2, and nothing written in --out.

Exit status: 0 when every selected problem has a record; 1 when some failed on the model side
and wait for a retry (the line says the most common cause); 2 when the run stopped (a rejected
key, an unknown model, a dead endpoint) or the server refused some problems' requests outright
(a prompt too long for its context: the line says how many tokens it needs and how many the
server holds); 4 when its budget (``--max-cost``, ``--max-tokens-total``) stopped it before
every problem was started (the line says what was spent and how to go on).

``--seed`` is the model's sampling seed (as in ``solve``); the seed of ``--sample`` is
``--sample-seed``. ``--seed`` with ``--sample`` but no ``--sample-seed`` is refused, since it
once meant the sample's seed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from creator.cli.base_url_args import recorded_base_urls, recorded_url
from creator.cli.budget_args import BUDGET_EXIT_STATUS, add_budget_args, budget_from_args
from creator.cli.common import (
    add_method_args,
    add_model_args,
    add_solve_args,
    build_model,
    request_headers,
    stage_options,
)
from creator.cli.creation_args import creation_model
from creator.cli.dataset_args import add_dataset_args, chosen_dataset
from creator.cli.eval_table import summary_table
from creator.cli.library_args import add_library_args, library_wanted, open_library
from creator.cli.progress import DEFAULT_EVERY_S, make_display, pick_mode
from creator.cli.ray_args import add_ray_args, ray_backend
from creator.cli.sampling_args import add_sampling_args, sampling_fields, sampling_note
from creator.datasets.files import DatasetFile
from creator.errors import ConfigError, CreatorError
from creator.eval import EvalConfig, run_eval
from creator.eval.budget import Budget, budget_message
from creator.eval.failures import refused_error, transient_message
from creator.models.reference import REFERENCE_LABEL
from creator.prompts import PromptSet
from creator.services import ToolService
from creator.stages.common import StageOptions

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "eval",
        help="evaluate a method on a dataset (concurrent, resumable)",
        description="Evaluate a method on a dataset. Re-running the same command on the same "
        "--out DIR resumes: finished problems are skipped, model failures retried.",
    )
    add_dataset_args(parser)
    add_method_args(parser)
    parser.add_argument("--hint", default="none", choices=("none", "utility", "all"),
                        help="Creation Challenge hints (never the tool code)")  # fmt: skip
    parser.add_argument("--scoring", default="strict", choices=("strict", "paper"))
    parser.add_argument("--out", type=Path, required=True, help="run directory")
    parser.add_argument(
        "--concurrency",
        type=int,
        help="problems in flight (default: 8; with --ray, 4 per CPU of the actors, at least 8)",
    )
    parser.add_argument("--workers", type=int, help="sandbox workers (default: cores)")
    sel = parser.add_argument_group("selection")
    sel.add_argument("--subject", action="append", default=[], help="MATH subject (repeatable)")
    sel.add_argument("--level", action="append", type=int, default=[], help="level (repeatable)")
    sel.add_argument("--ids", help="comma-separated problem ids")
    sel.add_argument("--sample", type=int, help="a random sample of N problems")
    sel.add_argument("--sample-seed", type=int, metavar="N", help="seed of --sample (default: 0)")
    sel.add_argument("--limit", type=int, help="the first N problems (after sampling)")
    add_model_args(parser)
    add_solve_args(parser)
    add_library_args(parser)
    add_sampling_args(parser)
    add_ray_args(parser)
    _add_progress_args(parser)
    add_budget_args(parser)
    parser.set_defaults(func=run)


def _add_progress_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("progress")
    shown = group.add_mutually_exclusive_group()
    shown.add_argument(
        "--quiet",
        action="store_true",
        help="no progress and no table: only the result files' line and errors",
    )
    shown.add_argument(
        "--json-progress",
        action="store_true",
        help="progress as one JSON object per line on stdout (the rest on stderr)",
    )
    group.add_argument(
        "--progress-every",
        type=float,
        default=DEFAULT_EVERY_S,
        metavar="SECONDS",
        help="without a terminal: seconds between progress lines (default: 30; 0: one line "
        "per finished problem)",
    )


def _sample_seed(args: argparse.Namespace) -> int:
    if args.sample_seed is not None and args.sample is None:
        raise ConfigError("--sample-seed only applies with --sample N")
    if args.sample is not None and args.seed is not None and args.sample_seed is None:
        raise ConfigError(
            "--seed is the model's sampling seed now; the seed of --sample is --sample-seed: "
            "pass --sample-seed N (0 was the default) along with --seed"
        )
    return args.sample_seed if args.sample_seed is not None else 0


def _ids(option: str | None) -> tuple[str, ...]:
    """``--ids a,b,c``; given but naming no id (``--ids ""``, ``--ids ,``) is an error, not
    the whole dataset."""
    if option is None:
        return ()
    ids = tuple(i.strip() for i in option.split(",") if i.strip())
    if not ids:
        raise ConfigError(
            "--ids names no problem: give ids separated by commas, e.g. tabmwp/1,tabmwp/2"
        )
    return ids


def _config(
    args: argparse.Namespace, options: StageOptions
) -> tuple[EvalConfig, DatasetFile | None]:
    """The run's config, and the dataset file as read to check it (None: a built-in)."""
    data = chosen_dataset(args)
    return EvalConfig(
        dataset=data.name,
        dataset_path=data.path,
        dataset_sha256=data.sha256,
        dataset_fields=data.fields,
        answer_kind=data.answer_kind,
        method=args.method,
        model=(args.model or "").strip(),
        base_url=recorded_url(args.base_url),
        base_urls=recorded_base_urls(args),
        hint=args.hint,
        scoring=args.scoring,
        settings=options.settings,
        limits=options.limits,
        creation_retries=options.creation_retries,
        rectify_rounds=options.rectify_rounds,
        rectify_on=options.rectify_on,
        **sampling_fields(args),
        subjects=tuple(args.subject),
        levels=tuple(args.level),
        ids=_ids(args.ids),
        sample=args.sample,
        seed=_sample_seed(args),
        limit=args.limit,
        reuse_tools=args.reuse_tools,
        reuse_k=args.reuse_k,
        offer_unverified=args.offer_unverified,
        header_names=tuple(request_headers(args)),
        tool_service=options.service.name if options.service is not None else None,
        creation_model=creation_model(args),
        creation_base_url=recorded_url(args.creation_base_url, option="--creation-base-url"),
    ), data.loaded


def run(args: argparse.Namespace) -> int:
    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    if not args.progress_every >= 0:
        raise ConfigError("--progress-every must be 0 or more seconds")
    options = stage_options(args)
    config, dataset_file = _config(args, options)
    budget = budget_from_args(args, config=config)  # before anything starts
    wants_library = library_wanted(args)
    existed = args.out.exists()
    try:
        return _run(
            args,
            config,
            service=options.service,
            wants_library=wants_library,
            prompts=options.prompts,
            dataset_file=dataset_file,
            budget=budget,
        )
    except BaseException:
        if not existed:  # a run that failed before writing anything leaves no empty directory
            with contextlib.suppress(OSError):
                args.out.rmdir()
        raise


def _run(
    args: argparse.Namespace,
    config: EvalConfig,
    *,
    service: ToolService | None,
    wants_library: bool,
    prompts: PromptSet | None = None,
    dataset_file: DatasetFile | None = None,
    budget: Budget | None = None,
) -> int:
    model = build_model(args)
    from creator.sandbox import make_sandbox

    console = Console(highlight=False, stderr=args.json_progress)
    terminal = console.is_terminal and not console.is_dumb_terminal
    mode = pick_mode(quiet=args.quiet, json_progress=args.json_progress, terminal=terminal)
    display = make_display(mode, console=console, label=config.dataset, every_s=args.progress_every)
    if model.name == "reference" and mode != "quiet":
        console.print(f"[bold]model:[/] {REFERENCE_LABEL}")
    warning = sampling_note(args, temperature=config.settings.temperature)
    if warning is not None and mode != "quiet":
        console.print(f"[yellow]{escape(warning)}[/]", soft_wrap=True)
    library = open_library(args) if wants_library else None
    if library is not None and mode != "quiet":
        console.print(f"[bold]tool library:[/] {escape(str(library.path))}")
    try:
        # The run directory's records hold the targets: jobs must never see it, so it must
        # exist before the first worker starts (to be hidden; a failure is reported later).
        # A user's dataset file holds them too.
        with contextlib.suppress(OSError):
            args.out.mkdir(parents=True, exist_ok=True)
        hidden = [str(args.out), *([config.dataset_path] if config.dataset_path else [])]
        backend = ray_backend(args, hide=hidden)  # there, this sandbox runs --examples only
        workers = 1 if backend is not None else args.workers
        sandbox = make_sandbox(args.sandbox, workers=workers, hide=hidden)
    except BaseException:
        if library is not None:
            library.close()
        raise

    async def main() -> dict[str, Any]:
        heartbeat = asyncio.create_task(display.heartbeat())
        try:
            return await run_eval(
                config,
                out_dir=args.out,
                model=model,
                sandbox=sandbox,
                concurrency=args.concurrency,
                on_start=display.start,
                on_record=display.record,
                on_retry=display.retry,
                library=library,
                save_tools=args.save_tools,
                on_note=display.note,
                service=service,
                prompts=prompts,
                dataset_file=dataset_file,
                backend=backend,
                budget=budget,
            )
        finally:
            heartbeat.cancel()
            if backend is not None:
                await backend.aclose()
            await model.aclose()
            await sandbox.aclose()
            if library is not None:
                library.close()

    with display:
        try:
            summary = asyncio.run(main())
        except CreatorError as exc:
            display.failed(str(exc))
            raise
    display.finish(summary, out_dir=args.out)
    if mode != "quiet":
        console.print(summary_table(summary))
    paths = f"results: {args.out / 'results.jsonl'}   summary: {args.out / 'summary.json'}"
    console.print(escape(paths), soft_wrap=True)  # one line, even in a log
    transient = transient_message(summary)
    if transient is not None:
        console.print(f"[red]{escape(transient)}[/red]", soft_wrap=True)
    stopped = budget_message(summary)
    if stopped is not None:
        console.print(f"[yellow]{escape(stopped)}[/yellow]", soft_wrap=True)
    refused = refused_error(summary)
    if refused is not None:
        raise refused
    if stopped is not None:
        return BUDGET_EXIT_STATUS
    return 1 if transient is not None else 0
