"""Entry point of the ``creator`` command: builds the parser from the command modules.

Each command module exposes ``register(subparsers)``, which adds its parser and sets
``func(args) -> int`` on it. Errors that are :class:`~creator.errors.CreatorError` print as
one line on stderr with exit status 2. Anything else is a bug of ours: it prints one line too
(exit status 3), with the traceback only when ``CREATOR_DEBUG=1``; work already written to disk
(evaluation records) is kept either way. Nothing here knows how a command works.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from creator.errors import CreatorError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    from creator.cli import doctor, eval_cmd, exec_cmd, report_cmd, solve, tools_cmd, view_cmd

    parser = argparse.ArgumentParser(
        prog="creator",
        description="CREATOR: create a tool, decide how to use it, execute, rectify.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (solve, eval_cmd, doctor, exec_cmd, tools_cmd, report_cmd, view_cmd):
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
    except Exception as exc:
        if os.environ.get("CREATOR_DEBUG") == "1":
            traceback.print_exc()
        detail = " ".join(str(exc).split())[:300]
        print(
            f"creator: internal error: {type(exc).__name__}: {detail} "
            "(set CREATOR_DEBUG=1 for the traceback; please report it)",
            file=sys.stderr,
        )
        return 3
    return code


if __name__ == "__main__":
    sys.exit(main())
