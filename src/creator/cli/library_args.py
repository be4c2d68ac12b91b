"""The tool library options of ``solve`` and ``eval`` (``--library``, ``--save-tools``,
``--reuse-tools``, ``--reuse-k``, ``--offer-unverified``) and opening the library they name.

Left out: what a run does with the library (:mod:`creator.tools.reuse`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from creator.errors import ConfigError
from creator.tools import DEFAULT_REUSE_K, ToolLibrary, default_library_path

__all__ = ["add_library_args", "library_wanted", "open_library"]


def add_library_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("tool library")
    group.add_argument(
        "--library",
        type=Path,
        metavar="PATH",
        help="the tool library file (default: $CREATOR_DATA_DIR/tools.sqlite, else "
        "$XDG_DATA_HOME/creator/tools.sqlite, else ~/.local/share/creator/tools.sqlite)",
    )
    group.add_argument(
        "--save-tools",
        action="store_true",
        help="add each created tool to the library, with whether it ran and whether its "
        "answer was verified correct",
    )
    group.add_argument(
        "--reuse-tools",
        action="store_true",
        help="show the best matching library tools at Creation; the model may reuse one "
        "(implies --save-tools)",
    )
    group.add_argument(
        "--reuse-k",
        type=int,
        default=DEFAULT_REUSE_K,
        metavar="N",
        help=f"how many tools to offer (default: {DEFAULT_REUSE_K})",
    )
    group.add_argument(
        "--offer-unverified",
        action="store_true",
        help="also offer tools never verified correct (default: verified tools only)",
    )


def library_wanted(args: argparse.Namespace) -> bool:
    """Whether the options ask for the tool library at all; checks the reuse options."""
    if args.reuse_k < 1:
        raise ConfigError("--reuse-k must be at least 1")
    if not args.reuse_tools and (args.offer_unverified or args.reuse_k != DEFAULT_REUSE_K):
        raise ConfigError("--reuse-k and --offer-unverified only apply with --reuse-tools")
    wanted = bool(args.save_tools or args.reuse_tools)
    if wanted and (args.model or "").strip() == "reference":
        raise ConfigError(
            "--save-tools and --reuse-tools need a real model: the reference replay creates "
            "no tools (it replays the dataset's recorded ones)"
        )
    return wanted


def open_library(args: argparse.Namespace) -> ToolLibrary:
    """The library ``--library`` names (else the default one), opened now so that a bad file
    is reported before any work starts."""
    library = ToolLibrary(args.library if args.library is not None else default_library_path())
    try:
        library.count()
    except BaseException:
        library.close()
        raise
    return library
