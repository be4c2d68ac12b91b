"""``creator eval``'s budget options: ``--max-cost USD``, ``--max-tokens-total N`` and the
``--price MODEL=IN,OUT`` they are priced with (as ``creator report`` takes it).

Values are checked here as the user typed them (a zero, a negative, ``nan`` or a word is one
line naming the option); what a budget counts and when it stops a run is
:mod:`creator.eval.budget`'s. Deliberately left out: the price table itself
(:mod:`creator.report.costs`) and anything a budget does to the run.
"""

from __future__ import annotations

import argparse
import math

from creator.cli.price_args import add_price_arg, price_table
from creator.errors import ConfigError
from creator.eval.budget import Budget
from creator.eval.config import EvalConfig

__all__ = ["BUDGET_EXIT_STATUS", "add_budget_args", "budget_from_args"]

BUDGET_EXIT_STATUS = 4
"""``creator eval``'s exit status when its budget stopped the run (README, "Exit status")."""


def add_budget_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("budget")
    group.add_argument(
        "--max-cost",
        metavar="USD",
        help="stop starting problems once the run (every invocation on --out) has cost this "
        "much, priced with the built-in table or --price",
    )
    group.add_argument(
        "--max-tokens-total",
        metavar="N",
        help="stop starting problems once the run (every invocation on --out) has used N tokens",
    )
    add_price_arg(group, what=", for the budget")


def _cost(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"--max-cost must be a positive amount of USD, not {text.strip()!r}")
    return value


def _tokens(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = int(text.strip().replace(",", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(
            f"--max-tokens-total must be a positive whole number of tokens, not {text.strip()!r}"
        )
    return value


def budget_from_args(args: argparse.Namespace, *, config: EvalConfig) -> Budget | None:
    """The invocation's budget for the run of ``config`` (None without ``--max-cost`` or
    ``--max-tokens-total``); a cost budget the run's models have no price for is refused
    here, before anything starts."""
    cost, tokens = _cost(args.max_cost), _tokens(args.max_tokens_total)
    prices = price_table(args)
    if cost is None and tokens is None:
        if args.price:
            raise ConfigError(
                "--price prices a budget: it applies with --max-cost or --max-tokens-total "
                "(`creator report --price` prices a finished run)"
            )
        return None
    budget = Budget(max_cost=cost, max_tokens=tokens, prices=prices)
    budget.check(models=(config.model, config.creation_model), replay=config.model == "reference")
    return budget
