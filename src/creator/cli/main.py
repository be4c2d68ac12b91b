"""Entry point of the ``creator`` command: builds the parser from the command modules.

Each command module exposes ``register(subparsers)``, which adds its parser and sets
``func(args) -> int`` on it. Errors that are :class:`~creator.errors.CreatorError` print as
one line on stderr with exit status 2, and so does an ``OSError`` that is the machine's (a full
disk, a read-only file system, a permission: :data:`creator.files.ENVIRONMENT_ERRNOS`) which
no command turned into one. Anything else is a bug of ours: it prints one line too (exit
status 3), with the traceback only when ``CREATOR_DEBUG=1``; work already written to disk
(evaluation records) is kept either way. Ctrl-C is exit status 130. The statuses are listed in
the README's "Exit status". Nothing here knows how a command works.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Sequence

from creator.errors import CreatorError
from creator.files import ENVIRONMENT_ERRNOS, reason

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    from creator.cli import (
        compare_cmd,
        doctor,
        eval_cmd,
        exec_cmd,
        prompts_cmd,
        report_cmd,
        solve,
        tools_cmd,
        view_cmd,
    )

    parser = argparse.ArgumentParser(
        prog="creator",
        description="CREATOR: create a tool, decide how to use it, execute, rectify.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = (
        solve,
        eval_cmd,
        doctor,
        exec_cmd,
        tools_cmd,
        prompts_cmd,
        report_cmd,
        compare_cmd,
        view_cmd,
    )
    for module in commands:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except CreatorError as exc:
        print(f"creator: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("creator: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Whoever read the output went away (`creator prompts list | head`): stop quietly,
        # and keep the interpreter's last flush from failing on the closed pipe too.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:
        if exc.errno not in ENVIRONMENT_ERRNOS:
            return _internal(exc)
        where = f"{exc.filename}: " if exc.filename is not None else ""
        print(f"creator: error: {where}{reason(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        return _internal(exc)
    return code


def _internal(exc: Exception) -> int:
    """Say a bug of ours in one line (the traceback with ``CREATOR_DEBUG=1``); exit status 3.

    Called while ``exc`` is being handled, so that the traceback printed is its own."""
    if os.environ.get("CREATOR_DEBUG") == "1":
        traceback.print_exc()
    detail = " ".join(str(exc).split())[:300]
    print(
        f"creator: internal error: {type(exc).__name__}: {detail} "
        "(set CREATOR_DEBUG=1 for the traceback; please report it)",
        file=sys.stderr,
    )
    return 3


if __name__ == "__main__":
    sys.exit(main())
