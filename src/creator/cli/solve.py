"""``creator solve``: one problem through the pipeline, each stage shown as it happens.

With ``--save-tools`` the created tool is added to the tool library (verified only when the
problem's answer is known, as with ``--problem ID``); with ``--reuse-tools`` the Creation
stage is first offered the best matching library tools. With ``--creation-model`` the
Creation stage is that model's and the library records it as the tool's maker.

A long question comes from a file (``--file Q.txt``) or from stdin (``creator solve -``); it is
read as UTF-8, up to :data:`MAX_QUESTION_BYTES`, and the terminal shows only its beginning
(``--json`` output carries it whole, in the trace's prompts).

No probe request is sent first (unlike ``eval``): a solve is one problem, and its first real
request fails just as fast on a wrong key, an unknown model or a dead endpoint (a parameter the
server refuses is adapted to on that request). Any model failure ends the command with the
server's message and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.text import Text

from creator.answers import is_equivalent
from creator.cli.common import (
    add_method_args,
    add_model_args,
    add_solve_args,
    build_model,
    stage_options,
)
from creator.cli.creation_args import creation_model
from creator.cli.library_args import add_library_args, library_wanted, open_library
from creator.cli.render import clean_text, render_library, render_result, render_step
from creator.errors import InputError, ModelError
from creator.models.reference import REFERENCE_LABEL
from creator.models.routed import StageRouter
from creator.problem import Problem
from creator.prompts import check_examples
from creator.sandbox.base import Sandbox
from creator.solver import Creator
from creator.stages.common import StageOptions
from creator.tools import ToolLibrary, ToolRecord, ToolReuse

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "solve",
        help="solve one problem, showing every stage",
        description="Solve one problem with CREATOR: create a tool, decide, execute, rectify.",
    )
    parser.add_argument("question", nargs="?", help="the question to solve ('-': read stdin)")
    parser.add_argument("--file", type=Path, help="read the question from this file")
    parser.add_argument(
        "--problem", metavar="ID", help="a dataset problem instead, e.g. creation/0, transfer/3/2"
    )
    parser.add_argument("--context-file", type=Path, help="context such as a table, from a file")
    parser.add_argument("--json", action="store_true", help="print the whole trace as JSON")
    add_method_args(parser)
    add_model_args(parser)
    add_solve_args(parser)
    add_library_args(parser)
    parser.set_defaults(func=run)


MAX_QUESTION_BYTES = 8 * 1024 * 1024
"""The largest question or context read from a file or stdin (8 MiB)."""
SHOWN_QUESTION_CHARS = 600
"""How much of the question the terminal shows before the stages."""


def _read_text(path: Path | None, what: str) -> str:
    """The UTF-8 text of ``path`` (None: stdin), as a one-line InputError when unreadable."""
    where = "stdin" if path is None else str(path)
    try:
        if path is None:
            data = sys.stdin.buffer.read(MAX_QUESTION_BYTES + 1)
        else:
            with path.open("rb") as file:
                data = file.read(MAX_QUESTION_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{what} file not found: {where}") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} from {where}: {exc.strerror or exc}") from None
    if len(data) > MAX_QUESTION_BYTES:
        limit = MAX_QUESTION_BYTES // (1024 * 1024)
        raise InputError(f"the {what} in {where} is larger than {limit} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"the {what} in {where} is not UTF-8 text (byte {exc.start + 1} cannot be decoded)"
        ) from None


def _question(args: argparse.Namespace) -> str | None:
    """The question given on the command line, in ``--file`` or on stdin (``-``)."""
    if args.file is not None:
        if args.question is not None:
            raise InputError("give either a QUESTION or --file FILE, not both")
        return _read_text(args.file, "question")
    given: str | None = args.question
    if given == "-":
        return _read_text(None, "question")
    return given


def _shown(question: str) -> str:
    """The question as the terminal shows it: whole when short, else its beginning."""
    if len(question) <= SHOWN_QUESTION_CHARS:
        return question
    rest = len(question) - SHOWN_QUESTION_CHARS
    return f"{question[:SHOWN_QUESTION_CHARS]}… ({rest:,} more characters not shown)"


def _problem(args: argparse.Namespace) -> Problem:
    context = None
    if args.context_file is not None:
        context = _read_text(args.context_file, "context")
    question = _question(args)
    if args.problem:
        if question is not None:
            raise InputError("give either a QUESTION or --problem ID, not both")
        from creator.datasets import get

        problem = get(args.problem)
        if context is not None:
            problem = problem.model_copy(update={"context": context})
        return problem
    if question is None:
        raise InputError("give a QUESTION to solve (or --file FILE, '-' for stdin, --problem ID)")
    return Problem(question=question, context=context)


def _tools(args: argparse.Namespace) -> ToolReuse | None:
    if not library_wanted(args):
        return None
    maker = creation_model(args) or (args.model or "").strip()  # checked before it opens
    return ToolReuse(
        open_library(args),
        save=args.save_tools,
        reuse=args.reuse_tools,
        k=args.reuse_k,
        offer_unverified=args.offer_unverified,
        maker=maker,
    )


def run(args: argparse.Namespace) -> int:
    problem = _problem(args)
    options = stage_options(args)
    tools = _tools(args)
    library: ToolLibrary | None = tools.library if tools is not None else None
    try:
        return _solve(args, problem, options=options, tools=tools)
    finally:
        if library is not None:
            library.close()


def _check_examples(options: StageOptions, sandbox: Sandbox) -> None:
    """Run the ``--examples`` rows first: a failing one ends the command naming it."""
    examples = options.prompts.user_examples
    if examples is not None:
        asyncio.run(check_examples(examples, sandbox=sandbox, limits=options.limits))


def _print_prompts(console: Console, args: argparse.Namespace) -> None:
    for flag, path in (("prompts", args.prompts), ("examples", args.examples)):
        if path is not None:
            console.print(Text.assemble((f"{flag}: ", "bold"), clean_text(str(path))))


def _solve(
    args: argparse.Namespace, problem: Problem, *, options: StageOptions, tools: ToolReuse | None
) -> int:
    model = build_model(args)
    console = Console(stderr=args.json, highlight=False)
    live = not args.json
    from creator.sandbox import make_sandbox

    written: list[ToolRecord] = []
    sandbox = make_sandbox(args.sandbox, workers=1)  # one problem: one warm worker is enough
    try:
        _check_examples(options, sandbox)
        with Creator(
            model=model, sandbox=sandbox, options=options, tools=tools, method=args.method
        ) as creator:
            if live:
                label = REFERENCE_LABEL if model.name == "reference" else model.name
                console.print(Text.assemble(("model: ", "bold"), label))
                if isinstance(model, StageRouter):
                    maker = model.model_for("creation").name
                    console.print(Text.assemble(("creation model: ", "bold"), maker))
                if args.method != "creator":
                    console.print(Text.assemble(("method: ", "bold"), args.method))
                if options.service is not None:
                    console.print(Text.assemble(("tool service: ", "bold"), options.service.name))
                console.print(Text.assemble(("sandbox: ", "bold"), sandbox.isolation))
                _print_prompts(console, args)
                console.print(
                    Text.assemble(("problem: ", "bold"), clean_text(_shown(problem.question)))
                )
            result = creator.solve_sync(
                problem,
                on_step=(lambda step: render_step(console, step)) if live else None,
                on_tool=written.append,
            )
    finally:
        sandbox.close()
    correct = None
    if result.answer is not None and problem.answer is not None:
        correct = is_equivalent(result.answer, problem.answer, problem.answer_kind)
    record = written[0] if written else None
    if args.json:
        payload = result.model_dump(mode="json")
        payload["correct"] = correct
        if tools is not None:
            payload["tool_library"] = {
                "path": str(tools.library.path),
                "action": None if record is None else "reused" if result.reused_tool else "saved",
                "tool": None if record is None else record.ref,
            }
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif result.status != "model_error":  # a model failure is said once, as the error below
        render_result(console, result, correct=correct)
        if tools is not None:
            render_library(console, result, record, path=str(tools.library.path))
    if result.status == "model_error":
        raise ModelError(result.error or "the model failed")
    return 0 if result.status == "answered" else 1
