"""The summary blocks of the settings beyond the paper: several attempts and their vote
(``sampling``), and repairs of code that printed no answer (``no_answer_repairs``).

``sampling``: accuracy at K (the vote's answer; the run's ``accuracy``), pass@K (any attempt
right), the first attempt's accuracy alone (what a run of one attempt would have scored),
accuracy, tokens and cost per problem at every k up to K (:func:`creator.eval.voting.vote_at`),
attempts made, votes stopped early, and execution votes that fell back to every answer.
Accuracies are over scored problems, as the summary's are.

``no_answer_repairs`` (``--rectify-on no-answer``): the problems whose code ran and printed no
answer and went back to Rectification, and how many of them then answered, and rightly (in a
sampled run, the chosen attempt's: the one the record's status and answer are). Kept
apart from the paper's figures so that they stay comparable.

Costs are the price table's (the built-in one, or the run's ``--price``), None when a model
has none. Deliberately left out: the rest of the summary
(:mod:`creator.eval.summary`).
"""

from __future__ import annotations

import itertools
from typing import Any

from creator.eval.config import EvalConfig
from creator.eval.records import ProblemRecord
from creator.eval.voting import vote_at
from creator.report.costs import PriceTable, known_prices, total_cost
from creator.trace import Step

__all__ = ["no_answer_repairs", "sampling_summary"]


def _rate(hits: int, n: int) -> float | None:
    return round(hits / n, 4) if n else None


def sampling_summary(
    done: list[ProblemRecord], *, config: EvalConfig, prices: PriceTable | None = None
) -> dict[str, Any]:
    """The ``sampling`` block of a run of ``config.samples`` attempts per problem; costs at
    ``prices`` (default: the built-in table), None when a model has none or for a replay."""
    prices = prices if prices is not None else known_prices()
    scored = [r for r in done if r.scored]
    made = [len(r.samples) or 1 for r in done]
    by_k = []
    for k in range(1, config.samples + 1):
        votes = [vote_at(r, k) for r in done]
        right = sum(correct for (correct, _), r in zip(votes, done, strict=True) if r.scored)
        tokens = sum(used.total for _, used in votes)
        cost = _cost(done, prices, k=k)
        by_k.append(
            {
                "k": k,
                "accuracy": _rate(right, len(scored)),
                "tokens_per_problem": round(tokens / len(done), 1) if done else 0,
                "cost_per_problem": round(cost / len(done), 8) if cost and done else cost,
            }
        )
    return {
        "k": config.samples,
        "rule": config.vote,
        "early": config.vote_early,
        "accuracy_at_k": _rate(sum(r.correct for r in scored), len(scored)),
        "pass_at_k": _rate(sum(_any_right(r) for r in scored), len(scored)),
        "first_attempt_accuracy": by_k[0]["accuracy"] if by_k else None,
        "attempts": sum(made),
        "attempts_per_problem": round(sum(made) / len(done), 2) if done else 0,
        "stopped_early": sum(r.vote is not None and r.vote.early for r in done),
        "fallbacks": sum(r.vote is not None and r.vote.fallback for r in done),
        "tokens_first_attempt": sum(vote_at(r, 1)[1].total for r in done),
        "cost": _cost(done, prices, k=config.samples),
        "cost_first_attempt": _cost(done, prices, k=1),
        "by_k": by_k,
    }


def _cost(done: list[ProblemRecord], prices: PriceTable, *, k: int) -> float | None:
    """USD of the first ``k`` attempts of every record (each model at its own price); None
    when a model has no price, or for the replay."""
    total = 0.0
    for record in done:
        if record.replay:
            return None
        shares = [s.tokens_by_model or {record.model: s.tokens} for s in record.samples[:k]]
        for share in shares or [record.tokens_by_model or {record.model: record.tokens}]:
            cost = total_cost(share, prices)
            if cost is None:
                return None
            total += cost
    return round(total, 6)


def _any_right(record: ProblemRecord) -> bool:
    return any(s.correct for s in record.samples) if record.samples else record.correct


def no_answer_repairs(done: list[ProblemRecord]) -> dict[str, Any]:
    """The ``no_answer_repairs`` block: problems whose code printed no answer and was sent
    back, and what became of them."""
    sent = [r for r in done if _sent_back(r.trace)]  # a sampled record: the chosen attempt
    answered = [r for r in sent if r.status == "answered"]
    return {
        "sent_back": len(sent),
        "then_answered": len(answered),
        "then_correct": sum(r.correct for r in answered),
        "still_no_answer": sum(r.status == "no_answer" for r in sent),
    }


def _sent_back(trace: list[Step]) -> bool:
    """An execution ran cleanly without an answer and a Rectification followed it."""
    return any(
        step.stage == "execution"
        and step.error is None
        and step.answer is None
        and later.stage == "rectification"
        for step, later in itertools.pairwise(trace)
    )
