"""``creator view RUN_DIR``: write the run's HTML trace viewer and print where it is.

Thin: :func:`creator.report.viewer.write_view` does the work; the run is only read (a run in
progress is fine). Opening a browser is left to the user.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from creator.errors import InputError
from creator.report.viewer import REASONING_CHARS, write_view

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "view",
        help="one self-contained HTML file to browse a run's problems and traces",
        description="Write one HTML file (no network needed, opens from file://) listing every "
        "problem of a run made by `creator eval --out DIR`, with filters and search, and each "
        "problem's stages: prompts, replies, code, outputs, tracebacks and rectification diffs.",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run directory")
    parser.add_argument(
        "--out", type=Path, metavar="FILE", help="where to write it (default: RUN_DIR/view.html)"
    )
    parser.add_argument(
        "--reasoning-chars",
        type=int,
        default=REASONING_CHARS,
        metavar="N",
        help="embed at most N characters of each model call's reasoning, its start and end "
        f"(default: {REASONING_CHARS:,}; 0: all of it; results.jsonl always holds all of it)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.reasoning_chars < 0:
        raise InputError(f"--reasoning-chars {args.reasoning_chars}: give 0 (all) or more")
    view = write_view(args.run_dir, out=args.out, reasoning_chars=args.reasoning_chars)
    size = view.size_bytes / 1_000_000
    print(f"{view.path} ({view.problems} problems, {size:.1f} MB)")
    print(view.path.resolve().as_uri())
    return 0
