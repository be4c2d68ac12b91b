"""``creator exec FILE``: run a file exactly as generated code is run, print the ExecResult.

The file's content is one code part named after the file, run in a one-worker sandbox of
the chosen level. Without ``--json`` the program's stdout goes to stdout, its stderr and
trimmed traceback to stderr, then a one-line summary; exit status 0 when it ran ok, else 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from creator.errors import InputError
from creator.sandbox import LEVELS, CodePart, ExecResult, Limits, make_sandbox

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "exec",
        help="run a Python file in the sandbox, as generated code is run",
        description="Run FILE in the sandbox exactly as generated code is run and print the "
        "result (stdout, stderr, trimmed traceback, exit status, limits hit).",
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="the Python file to run")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds (default: 10)")
    parser.add_argument("--memory", type=int, default=1024, help="MB (default: 1024)")
    parser.add_argument("--json", action="store_true", help="print the ExecResult as JSON")
    parser.add_argument(
        "--sandbox", choices=LEVELS, default="auto", help="isolation level (default: auto)"
    )
    parser.set_defaults(func=run)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


def _summary(result: ExecResult) -> str:
    if result.timed_out:
        state = "[red]timed out[/red]"
    elif result.memory_exceeded:
        state = "[red]memory limit exceeded[/red]"
    elif result.ok:
        state = "[green]ok[/green]"
    else:
        state = f"[red]failed (exit status {result.exit_code})[/red]"
    extra = " · output truncated" if result.output_truncated else ""
    return f"{state} · {result.duration_s:.3f} s · sandbox {result.isolation}{extra}"


def run(args: argparse.Namespace) -> int:
    if args.timeout <= 0 or args.memory <= 0:
        raise InputError("--timeout and --memory must be positive")
    code = _read(args.file)
    limits = Limits(timeout_s=args.timeout, memory_mb=args.memory)
    box = make_sandbox(args.sandbox, workers=1, limits=limits)
    try:
        result = box.run_sync([CodePart(name=args.file.name, code=code)])
    finally:
        box.close()
    if args.json:
        print(json.dumps({**result.model_dump(), "ok": result.ok}, indent=2))
    else:
        sys.stdout.write(result.stdout)
        sys.stdout.flush()
        sys.stderr.write(result.stderr)
        if result.traceback:
            sys.stderr.write(result.traceback)
        Console(stderr=True, highlight=False).print(_summary(result))
    return 0 if result.ok else 1
