"""What tokens cost: a small dated price table (package data) plus prices given on the command line.

Prices are USD per 1M input (prompt) and output (completion) tokens. Only models named exactly
in ``data/prices.json`` or given with ``--price MODEL=IN,OUT`` have a price; any other model is
"unknown" (never a guess from a similar name: dated snapshots of a model can be priced
differently). The reference replay costs nothing and is never priced ("n/a"). A run whose tools
one model made and another used (``--creation-model``) is priced model by model
(:func:`model_costs`, :func:`total_cost`): each model's tokens at its own price. Deliberately
left out: batch and cached-input discounts, and fetching prices from the network.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from creator.errors import InputError

if TYPE_CHECKING:  # at run time only its attributes are read: creator.eval imports this module
    from creator.eval.records import Tokens

__all__ = [
    "NOT_PRICED_REPLAY",
    "PER_MODEL",
    "UNKNOWN_PRICE",
    "Price",
    "PriceTable",
    "known_prices",
    "model_costs",
    "parse_price",
    "total_cost",
]

UNKNOWN_PRICE = "unknown"
NOT_PRICED_REPLAY = "n/a (replay)"
PER_MODEL = "per model"
"""The price cell of a run of two models, each priced at its own (see :func:`model_costs`)."""


@dataclass(frozen=True, slots=True)
class Price:
    """USD per 1M input and output tokens, and where the figure comes from."""

    input: float
    output: float
    source: str

    def cost(self, tokens: Tokens) -> float:
        """USD for ``tokens``; reasoning tokens are inside ``completion`` and billed with it."""
        return (tokens.prompt * self.input + tokens.completion * self.output) / 1_000_000


@dataclass(frozen=True, slots=True)
class PriceTable:
    """Prices by exact model name."""

    prices: Mapping[str, Price] = field(default_factory=dict)
    as_of: str = ""
    source: str = ""

    def get(self, model: str) -> Price | None:
        return self.prices.get(model)

    def with_overrides(self, overrides: Iterable[tuple[str, Price]]) -> PriceTable:
        """This table with ``overrides`` added (they win over the table's own prices)."""
        return PriceTable(
            prices={**self.prices, **dict(overrides)}, as_of=self.as_of, source=self.source
        )


def model_costs(tokens: Mapping[str, Tokens], prices: PriceTable) -> dict[str, float | None]:
    """USD per model: each model's ``tokens`` at its own price (None: it has no price)."""
    costs: dict[str, float | None] = {}
    for model, used in tokens.items():
        price = prices.get(model)
        costs[model] = None if price is None else price.cost(used)
    return costs


def total_cost(tokens: Mapping[str, Tokens], prices: PriceTable) -> float | None:
    """USD for every model's ``tokens``, each at its own price; None when one has no price."""
    costs = model_costs(tokens, prices).values()
    return None if any(cost is None for cost in costs) else sum(c for c in costs if c is not None)


@cache
def known_prices() -> PriceTable:
    """The dated table shipped in ``creator/report/data/prices.json``."""
    path = resources.files("creator.report").joinpath("data", "prices.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    as_of = str(data["as_of"])
    prices = {
        name: Price(
            input=float(entry["input"]), output=float(entry["output"]), source=f"table {as_of}"
        )
        for name, entry in data["models"].items()
    }
    return PriceTable(prices=prices, as_of=as_of, source=str(data["source"]))


def _amount(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise InputError(f"--price {spec!r}: {text.strip()!r} is not a price (USD per 1M tokens)")
    return value


def parse_price(spec: str) -> tuple[str, Price]:
    """``MODEL=IN,OUT`` (USD per 1M input and output tokens) -> (model, price)."""
    model, sep, amounts = spec.rpartition("=")
    parts = amounts.split(",")
    if not sep or not model.strip() or len(parts) != 2:
        raise InputError(
            f"--price {spec!r}: expected MODEL=IN,OUT in USD per 1M tokens, "
            "e.g. gpt-4o-mini=0.15,0.60"
        )
    price = Price(input=_amount(parts[0], spec), output=_amount(parts[1], spec), source="--price")
    return model.strip(), price
