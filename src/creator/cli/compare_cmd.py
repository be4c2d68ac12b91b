"""``creator compare RUN_A RUN_B``: two runs on the problems they share, and whether they differ.

Thin: reads both runs (:func:`creator.report.runs.load_run`), builds the comparison
(:func:`creator.report.compare.compare_runs`) and prints it: one column per run (narrow
enough for an 80-column terminal), the difference with its test, and the problems one run
solved and the other did not (the first few, or all with ``--list``); ``--json`` prints the
whole comparison as JSON instead. The runs are only read, never repaired or written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from creator.cli.price_args import add_price_arg, price_table
from creator.report.compare import Comparison, Side, compare_runs
from creator.report.runs import load_run
from creator.report.tables import NO_VALUE, display

__all__ = ["register"]

SHOWN_IDS = 10
"""How many ids of each list are printed without ``--list``."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "compare",
        help="two runs on the problems they share: accuracy, a paired test, cost",
        description="Compare two run directories written by `creator eval --out DIR` on the "
        "problems both have: accuracy with 95%% intervals, the difference B - A with an exact "
        "McNemar test and a paired bootstrap interval, the problems only one solved, and "
        "tokens and cost per correct answer. The runs are only read.",
    )
    parser.add_argument("run_a", type=Path, metavar="RUN_A", help="the first run directory")
    parser.add_argument("run_b", type=Path, metavar="RUN_B", help="the second run directory")
    add_price_arg(parser)
    parser.add_argument(
        "--scoring",
        choices=("strict", "paper"),
        default=None,
        help="count both runs by this rule (default: each run by its own)",
    )
    parser.add_argument("--seed", type=int, default=0, help="the bootstrap's seed (default: 0)")
    parser.add_argument(
        "--resamples",
        type=int,
        default=10_000,
        metavar="N",
        help="bootstrap resamples (default: 10000)",
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help=f"list every problem only one run solved (default: the first {SHOWN_IDS})",
    )
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.set_defaults(func=run)


def _percent(value: float) -> str:
    return display(value, "percent")


def _cost(value: float | str | None) -> str:
    return display(value, "usd")


def _column(side: Side) -> list[str]:
    low, high = side.interval
    per_correct = side.tokens_per_correct
    return [
        side.run,
        side.label,
        side.scoring,
        f"{side.samples} ({side.vote} vote)" if side.vote else "1",
        f"{side.correct:,} of {side.n:,}",
        _percent(side.accuracy),
        f"{_percent(low)} to {_percent(high)}",
        display(side.tokens_per_problem, "ratio"),
        NO_VALUE if per_correct is None else display(per_correct, "ratio"),
        _cost(side.cost),
        _cost(side.cost_per_correct),
    ]


ROWS = (
    "run",
    "method · model",
    "scoring",
    "attempts per problem",
    "correct",
    "accuracy",
    "95% interval",
    "tokens per problem",
    "tokens per correct",
    "cost",
    "cost per correct",
)


def _ids(name: str, ids: tuple[str, ...], *, every: bool) -> Text:
    shown = ids if every else ids[:SHOWN_IDS]
    text = f"{name} ({len(ids):,})" + (": " + ", ".join(shown) if shown else "")
    if len(shown) < len(ids):
        text += f", ... ({len(ids) - len(shown):,} more: --list shows all)"
    return Text(text)


def _print(console: Console, result: Comparison, *, every: bool) -> None:
    table = RichTable(
        title=Text(f"{result.n:,} shared {result.dataset} problems"), title_justify="left"
    )
    table.add_column("")
    table.add_column("A", overflow="fold")
    table.add_column("B", overflow="fold")
    for name, a, b in zip(ROWS, _column(result.a), _column(result.b), strict=True):
        table.add_row(name, Text(a), Text(b))
    console.print(table)
    console.print(
        Text(
            f"B - A: {display(result.difference, 'delta')}, paired bootstrap 95% interval "
            f"{display(result.low, 'delta')} to {display(result.high, 'delta')} "
            f"({result.resamples:,} resamples, seed {result.seed})"
        )
    )
    discordant = len(result.a_not_b) + len(result.b_not_a)
    basis = (
        f"{discordant:,} problems solved by one run only ({len(result.a_not_b):,} by A, "
        f"{len(result.b_not_a):,} by B)"
        if discordant
        else "no problem was solved by one run only"
    )
    console.print(Text(f"exact McNemar test: p = {result.p_value:.4g}, {basis}"))
    for name, ids in (
        ("A solved, B did not", result.a_not_b),
        ("B solved, A did not", result.b_not_a),
    ):
        console.print(_ids(name, ids, every=every), soft_wrap=True)  # ids whole, to copy
    for note in result.notes:
        console.print(Text(note, style="dim"))


def run(args: argparse.Namespace) -> int:
    prices = price_table(args)
    first, second = load_run(args.run_a), load_run(args.run_b)
    result = compare_runs(
        first,
        second,
        prices=prices,
        scoring=args.scoring,
        resamples=args.resamples,
        seed=args.seed,
    )
    if args.json:
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        return 0
    _print(Console(highlight=False), result, every=args.list)
    return 0
