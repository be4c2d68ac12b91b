"""``creator tools``: list, show, search, export, import and remove tools of the tool library.

Thin: each action parses its arguments, calls :class:`~creator.tools.ToolLibrary` and prints
with rich. ``list`` and ``show`` name each tool's maker (the model that created it; "unknown"
for tools saved before makers were recorded). A tool is named by ``#id``, its id, or its name
when no other tool shares it. Nothing here runs tool code; ``import`` only parses it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from creator.cli.render import clean_text
from creator.errors import InputError
from creator.tools import ToolLibrary, ToolRecord, default_library_path

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--library",
        type=Path,
        metavar="PATH",
        help="the tool library file (default: $CREATOR_DATA_DIR/tools.sqlite, else "
        "$XDG_DATA_HOME/creator/tools.sqlite, else ~/.local/share/creator/tools.sqlite)",
    )
    parser = sub.add_parser(
        "tools",
        help="the library of created tools: list, show, search, export, import, rm",
        description="The persistent library of tools created while solving problems.",
    )
    actions = parser.add_subparsers(dest="tools_action", required=True, metavar="ACTION")

    p = actions.add_parser("list", parents=[common], help="list the tools")
    p.add_argument("--verified", action="store_true", help="only tools verified correct")
    p.add_argument("--limit", type=int, help="at most N tools")
    p.set_defaults(func=run_list)

    p = actions.add_parser("show", parents=[common], help="show one tool's code and record")
    p.add_argument("name", metavar="NAME", help="#id, id, or name")
    p.set_defaults(func=run_show)

    p = actions.add_parser("search", parents=[common], help="the tools best matching a text")
    p.add_argument("text", nargs="+", metavar="TEXT", help="a problem or keywords")
    p.add_argument("-k", type=int, default=5, help="how many tools (default: 5)")
    p.add_argument("--all", action="store_true", help="also tools never verified correct")
    p.set_defaults(func=run_search)

    p = actions.add_parser("export", parents=[common], help="write every tool to a JSON file")
    p.add_argument("file", type=Path, metavar="FILE")
    p.set_defaults(func=run_export)

    p = actions.add_parser(
        "import", parents=[common], help="add the tools of an exported JSON file (never run)"
    )
    p.add_argument("file", type=Path, metavar="FILE")
    p.set_defaults(func=run_import)

    p = actions.add_parser("rm", parents=[common], help="remove one tool")
    p.add_argument("name", metavar="NAME", help="#id, id, or name")
    p.set_defaults(func=run_rm)


def _path(args: argparse.Namespace) -> Path:
    path: Path | None = args.library
    return path if path is not None else default_library_path()


def _existing(args: argparse.Namespace) -> ToolLibrary:
    path = _path(args)
    if not path.exists():
        raise InputError(f"there is no tool library at {path}")
    return ToolLibrary(path)


def _console() -> Console:
    return Console(highlight=False)


def _counts(record: ToolRecord) -> str:
    return f"{record.offered}/{record.reused}/{record.correct}"


def _yes(flag: bool) -> str:
    return "[green]yes[/green]" if flag else "[dim]no[/dim]"


def _tool(record: ToolRecord) -> Text:
    """The signature with the tool's name in bold (the signature starts with the name)."""
    signature = clean_text(record.signature)
    text = Text(signature)
    at = signature.find(record.name)
    if at >= 0:
        text.stylize("bold", at, at + len(record.name))
    return text


def _maker(record: ToolRecord) -> Text:
    """The model that made the tool; "unknown" for tools saved before makers were recorded."""
    if record.maker is None:
        return Text("unknown", style="dim")
    return Text(clean_text(record.maker))


def _created(record: ToolRecord) -> str:
    return record.created_at.astimezone().strftime("%Y-%m-%d %H:%M")


def run_list(args: argparse.Namespace) -> int:
    console = _console()
    path = _path(args)
    if not path.exists():
        console.print(Text(f"no tools yet (no library at {path})"))
        return 0
    with ToolLibrary(path) as library:
        records = library.list(verified_only=args.verified, limit=args.limit)
        total = library.count()
    if not records:
        console.print(Text(f"no tools in {path}"))
        return 0
    table = Table(title=Text(f"tools in {path}"), box=box.SIMPLE_HEAD)
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("name · signature", overflow="fold", ratio=1)
    table.add_column("verified", no_wrap=True)
    table.add_column("offered/\nreused/\ncorrect", justify="right", no_wrap=True)
    table.add_column("dataset", overflow="fold")
    table.add_column("maker", overflow="fold")
    table.add_column("created", no_wrap=True)
    for r in records:
        table.add_row(
            r.ref,
            _tool(r),
            _yes(r.verified),
            _counts(r),
            Text(r.dataset or ""),
            _maker(r),
            r.created_at.astimezone().strftime("%Y-%m-%d"),
        )
    console.print(table)
    if len(records) < total:
        console.print(Text(f"{len(records)} of {total} tools shown"))
    return 0


def run_show(args: argparse.Namespace) -> int:
    with _existing(args) as library:
        r = library.get(args.name)
    meta = Table.grid(padding=(0, 2))
    meta.add_column(style="bold")
    meta.add_column(overflow="fold")
    meta.add_row("signature", Text(clean_text(r.signature)))
    if len(r.functions) > 1:
        meta.add_row("functions", Text(clean_text(", ".join(f.signature for f in r.functions))))
    docstring = Text(clean_text(r.docstring)) if r.docstring else "[dim](none)[/dim]"
    meta.add_row("docstring", docstring)
    meta.add_row("problem", Text(r.problem))
    meta.add_row("problem id", Text(r.problem_id or ""))
    meta.add_row("dataset", Text(r.dataset or ""))
    meta.add_row("maker", _maker(r))
    meta.add_row("ran", _yes(r.ran))
    meta.add_row("verified", _yes(r.verified))
    meta.add_row("offered/reused/correct", _counts(r))
    meta.add_row("variants", str(r.variants))
    meta.add_row("created", _created(r))
    meta.add_row("hash", r.code_hash[:16])
    code = Syntax(clean_text(r.code.rstrip()), "python", line_numbers=True, word_wrap=True)
    _console().print(Panel(Group(meta, Text(""), code), title=Text(f"{r.ref} {r.name}")))
    return 0


def run_search(args: argparse.Namespace) -> int:
    console = _console()
    path = _path(args)
    text = " ".join(args.text)
    if not path.exists():
        console.print(Text(f"no tools yet (no library at {path})"))
        return 0
    with ToolLibrary(path) as library:
        hits = library.search(text, k=args.k, verified_only=not args.all)
    if not hits:
        which = "tools" if args.all else "verified tools (--all to include the others)"
        console.print(f"no matching {which}")
        return 0
    table = Table(title=Text(f"tools for: {text}"), box=box.SIMPLE_HEAD)
    table.add_column("rank", justify="right", no_wrap=True)
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("name · signature", overflow="fold", ratio=2)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("verified", no_wrap=True)
    table.add_column("problem it was made for", overflow="fold", ratio=1)
    for rank, r in enumerate(hits, start=1):
        score = f"{-(r.score or 0.0):.3g}"
        problem = r.problem if len(r.problem) <= 120 else r.problem[:119] + "…"
        table.add_row(str(rank), r.ref, _tool(r), score, _yes(r.verified), Text(problem))
    console.print(table)
    return 0


def run_export(args: argparse.Namespace) -> int:
    with _existing(args) as library:
        count = library.export(args.file)
    _console().print(Text(f"exported {count} tool(s) to {args.file}"))
    return 0


def run_import(args: argparse.Namespace) -> int:
    with ToolLibrary(_path(args)) as library:
        added, merged = library.import_(args.file)
    _console().print(
        Text(f"imported {args.file}: {added} added, {merged} merged into tools already there")
    )
    return 0


def run_rm(args: argparse.Namespace) -> int:
    with _existing(args) as library:
        r = library.remove(args.name)
    _console().print(Text(f"removed {r.ref} {r.name}"))
    return 0
