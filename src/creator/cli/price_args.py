"""``--price MODEL=IN,OUT``, as ``report``, ``compare`` and ``eval`` (for budgets) take it,
and the price table it makes with the built-in one. Left out: the prices themselves
(:mod:`creator.report.costs`).
"""

from __future__ import annotations

import argparse

from creator.report.costs import PriceTable, known_prices, parse_price

__all__ = ["add_price_arg", "price_table"]


def add_price_arg(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, what: str = ""
) -> None:
    parser.add_argument(
        "--price",
        action="append",
        default=[],
        metavar="MODEL=IN,OUT",
        help=f"USD per 1M input and output tokens for MODEL{what} (repeatable; overrides the "
        "built-in table)",
    )


def price_table(args: argparse.Namespace) -> PriceTable:
    """The built-in table with the ``--price`` options over it (each checked, one line)."""
    return known_prices().with_overrides(parse_price(spec) for spec in args.price)
