"""Prices: the dated table shipped with the package, and --price MODEL=IN,OUT."""

from __future__ import annotations

import pytest

from creator.errors import InputError
from creator.eval.records import Tokens
from creator.report.costs import Price, known_prices, parse_price


def test_the_shipped_table_is_dated_and_holds_the_papers_model() -> None:
    table = known_prices()
    assert table.as_of and table.as_of in table.get("gpt-4o-mini").source  # type: ignore[union-attr]
    assert set(table.prices) >= {"gpt-3.5-turbo", "gpt-4o-mini", "gpt-4o"}
    assert table.get("gpt-4o-mini-2024-07-18") is None  # never a guess from a similar name
    assert table.get("gpt-4o") == Price(2.5, 10.0, f"table {table.as_of}")


def test_a_price_costs_input_and_output_tokens_apart() -> None:
    price = Price(input=2.0, output=8.0, source="x")
    assert price.cost(Tokens(prompt=500_000, completion=250_000, total=750_000)) == 3.0


@pytest.mark.parametrize(
    ("spec", "model", "price"),
    [
        ("gpt-4o-mini=0.15,0.6", "gpt-4o-mini", (0.15, 0.6)),
        (" my/model:7b = 0 , 1e-1 ", "my/model:7b", (0.0, 0.1)),
        ("a=b=1,2", "a=b", (1.0, 2.0)),
    ],
)
def test_parse_price(spec: str, model: str, price: tuple[float, float]) -> None:
    name, parsed = parse_price(spec)
    assert name == model and (parsed.input, parsed.output) == price
    assert parsed.source == "--price"


@pytest.mark.parametrize(
    "spec", ["gpt-4o", "=1,2", "m=1", "m=1,2,3", "m=x,1", "m=-1,2", "m=nan,1", "m=1,inf"]
)
def test_bad_prices_are_input_errors(spec: str) -> None:
    with pytest.raises(InputError, match="--price"):
        parse_price(spec)


def test_overrides_win() -> None:
    table = known_prices().with_overrides([("gpt-4o", Price(1.0, 1.0, "--price"))])
    assert table.get("gpt-4o") == Price(1.0, 1.0, "--price")
    assert known_prices().get("gpt-4o") != table.get("gpt-4o")
