"""Run budgets: stop dispatching problems once a run has spent ``--max-cost`` USD or
``--max-tokens-total`` tokens.

A budget counts the whole run directory, not one invocation: the latest record of each of
the run's selected problems, earlier invocations included. Tokens are the run's tokens as
the summary, the progress display and ``creator report`` count them
(:mod:`creator.eval.tokens`); cost is the sum of :func:`record_cost` over the same records.
So a resume with the same budget stops at once, and a resume with a larger one goes on.

:class:`Budget` is what the user asked for (an option of the invocation, never part of the
run's fingerprint); :class:`Spend` keeps what the run has spent against it as records arrive.
The runner checks :attr:`Spend.reached` before it dispatches each problem; problems already
in flight when the budget is reached are finished and kept whole, so a run may end a little
over its budget (the summary's ``overshoot_*``). The reference replay costs nothing: a cost
budget is refused with it.

Deliberately left out: guessing whether the next problem fits (a problem starts whenever the
budget is not yet reached), cutting a problem short, cached-input and batch discounts, and
requests of records a later record of the same problem replaced (a model failure solved
again on resume), which the run's tokens leave out too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from creator.errors import ConfigError
from creator.eval.records import ProblemRecord
from creator.eval.tokens import RunTokens
from creator.report.costs import PriceTable, known_prices, total_cost

__all__ = ["Budget", "Limit", "Spend", "budget_message", "record_cost", "usd"]

Limit = Literal["cost", "tokens"]
"""Which budget was reached: ``--max-cost`` or ``--max-tokens-total``."""

_OPTION: dict[Limit, str] = {"cost": "--max-cost", "tokens": "--max-tokens-total"}
_NAME: dict[Limit, str] = {"cost": "cost", "tokens": "token"}


def record_cost(record: ProblemRecord, prices: PriceTable) -> float | None:
    """USD that ``record``'s requests cost; 0 for the reference replay; None when a model it
    used has no price.

    Two models shared the work (``tokens_by_model``, set with a creation model): each model's
    tokens at its own price. Otherwise the record's tokens at its model's price.
    """
    if record.replay:
        return 0.0
    return total_cost(record.tokens_by_model or {record.model: record.tokens}, prices)


def usd(amount: float) -> str:
    """An amount of USD to the micro-dollar, with no trailing zeros past the cents (``$0.50``,
    ``$0.000135``)."""
    whole, _, cents = f"{amount:.6f}".partition(".")
    return f"${whole}.{cents.rstrip('0').ljust(2, '0')}"


@dataclass(frozen=True, slots=True)
class Budget:
    """The most a run may spend: ``max_cost`` USD (priced with ``prices``), ``max_tokens``
    tokens, or both (whichever is reached first stops it)."""

    max_cost: float | None = None
    max_tokens: int | None = None
    prices: PriceTable = field(default_factory=known_prices)

    def __post_init__(self) -> None:
        if self.max_cost is None and self.max_tokens is None:
            raise ConfigError("a budget needs --max-cost USD or --max-tokens-total N")
        cost = self.max_cost
        if cost is not None and (isinstance(cost, bool) or not math.isfinite(cost) or cost <= 0):
            raise ConfigError(f"--max-cost must be a positive amount of USD, not {cost!r}")
        tokens = self.max_tokens
        if tokens is not None and (isinstance(tokens, bool) or tokens < 1):
            raise ConfigError(
                f"--max-tokens-total must be a positive whole number of tokens, not {tokens!r}"
            )

    def check(self, *, models: Iterable[str | None], replay: bool) -> None:
        """Refuse a cost budget that cannot be counted: with the reference replay, or with a
        model of the run (``models``; None entries are skipped) that has no price."""
        if self.max_cost is None:
            return
        if replay:
            raise ConfigError(
                "--max-cost does not apply to the reference replay, which costs nothing "
                "(--max-tokens-total does)"
            )
        missing = sorted({m for m in models if m is not None and self.prices.get(m) is None})
        if missing:
            raise ConfigError(
                f"--max-cost needs a price for {', '.join(missing)}: pass "
                f"--price {missing[0]}=IN,OUT (USD per 1M input and output tokens)"
            )

    def spend(self, records: Iterable[ProblemRecord] = ()) -> Spend:
        """What the run made of ``records`` has spent against this budget."""
        return Spend(self, records)


class Spend:
    """A run's spend against a budget, kept up to date as records arrive: a record replaces
    the earlier record of its key, as in the run's tokens. ``held_back`` counts the problems
    the budget kept from starting (the runner adds them)."""

    def __init__(self, budget: Budget, records: Iterable[ProblemRecord] = ()) -> None:
        self.budget = budget
        self.held_back = 0
        self._tokens = RunTokens()
        self._costs: dict[str, float | None] = {}
        self._cost: float | None = 0.0
        self._stale = False
        for record in records:
            self.keep(record)

    def keep(self, record: ProblemRecord) -> None:
        """Count ``record`` in place of the earlier record of its key, if any."""
        self._tokens.keep(record)
        self._costs[record.key] = record_cost(record, self.budget.prices)
        self._stale = True

    @property
    def tokens(self) -> int:
        return self._tokens.tokens.total

    @property
    def cost(self) -> float | None:
        """USD spent so far; None when some record's model has no price."""
        if self._stale:  # summed whole, so that the figure does not depend on the order
            costs = list(self._costs.values())
            self._cost = None if None in costs else math.fsum(c for c in costs if c is not None)
            self._stale = False
        return self._cost

    @property
    def reached(self) -> Limit | None:
        """The budget reached (spent at least its amount), if any: cost first."""
        budget = self.budget
        cost = self.cost
        if budget.max_cost is not None and cost is not None and cost >= budget.max_cost:
            return "cost"
        if budget.max_tokens is not None and self.tokens >= budget.max_tokens:
            return "tokens"
        return None

    def note(self) -> str | None:
        """One line for the progress display once the budget is reached (else None)."""
        line = self.spent_line()
        return None if line is None else f"{line}: no new problem starts; those in flight finish"

    def spent_line(self) -> str | None:
        """``token budget reached: 45 tokens spent of --max-tokens-total 40`` (or the cost's);
        None while no budget is reached."""
        limit = self.reached
        if limit == "cost":
            assert self.cost is not None and self.budget.max_cost is not None
            spent, most = usd(self.cost), f"{self.budget.max_cost:g}"
        elif limit == "tokens":
            spent, most = f"{self.tokens:,} tokens", str(self.budget.max_tokens)
        else:
            return None
        return f"{_NAME[limit]} budget reached: {spent} spent of {_OPTION[limit]} {most}"

    def block(self, *, done: int, total: int) -> dict[str, Any]:
        """The summary's ``budget`` block; ``done`` of the ``total`` selected problems have a
        finished record."""
        budget, cost, limit = self.budget, self.cost, self.reached
        over_tokens = over_cost = None
        if budget.max_tokens is not None:
            over_tokens = max(0, self.tokens - budget.max_tokens)
        if budget.max_cost is not None and cost is not None:
            over_cost = round(max(0.0, cost - budget.max_cost), 6)
        return {
            "max_cost": budget.max_cost,
            "max_tokens": budget.max_tokens,
            "spent_cost": None if cost is None else round(cost, 6),
            "spent_tokens": self.tokens,
            "reached": limit,
            "stopped": limit is not None and self.held_back > 0,
            "held_back": self.held_back,
            "overshoot_tokens": over_tokens,
            "overshoot_cost": over_cost,
            "done": done,
            "total": total,
            "message": self.spent_line(),
        }


def budget_message(summary: dict[str, Any]) -> str | None:
    """One line when the run's budget stopped it: which budget, what was spent, how many
    problems are done, and how to go on; None when no budget stopped it."""
    block = summary.get("budget") or {}
    if not block.get("stopped"):
        return None
    option = _OPTION.get(block.get("reached") or "tokens", "--max-tokens-total")
    over = ""
    if block.get("reached") == "tokens" and block.get("overshoot_tokens"):
        over = f" ({block['overshoot_tokens']:,} over: problems already started were finished)"
    elif block.get("reached") == "cost" and block.get("overshoot_cost"):
        over = f" ({usd(block['overshoot_cost'])} over: problems already started were finished)"
    return (
        f"{block['message']}{over}; {block['done']} of {block['total']} problems done and "
        f"kept: run the same command with a larger {option} to go on"
    )
