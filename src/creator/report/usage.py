"""The report's tables of how the runs went: accuracy by rectification rounds, tokens and cost
per correct answer, and an overview of the runs.

One row per run, starting with the method and the model (the reference replay labelled as
such; it is never priced). Accuracy is strict scoring. A run's accuracy by rounds stops at the
rounds it could use: a method without rectification (``pot``, ``cot``, ``standard``,
``tooluse``) has the r = 0 value only, and a run allowed 1 round has no value for 2 or 3 (never
a flat line as if more rounds had been tried). Every token and cost figure of a run comes from
one sum, :func:`creator.eval.tokens.run_tokens`. The cost table has a column of
reasoning tokens only when some run has reasoning: they are part of the completion tokens (as
endpoints report and bill them), so they are shown, never added again. A run whose tools one
model made and another used is priced model by model (a column then shows each model's tokens
and cost). Deliberately left out:
the paper's accuracy tables (:mod:`creator.report.paper`) and file output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from creator.eval.records import ProblemRecord, Tokens
from creator.eval.tokens import model_tokens, run_tokens
from creator.report.costs import (
    NOT_PRICED_REPLAY,
    PER_MODEL,
    UNKNOWN_PRICE,
    PriceTable,
    model_costs,
    total_cost,
)
from creator.report.measures import accuracy_by_rounds, one_time_pass_rate, score
from creator.report.paper import accuracy_columns, per_run_table
from creator.report.runs import Run
from creator.report.tables import Cell, Column, Table, display

__all__ = [
    "NOT_REPORTED",
    "costs_table",
    "max_rounds",
    "reasoning_tokens",
    "rounds_of",
    "rounds_table",
    "runs_table",
]

NOT_REPORTED = "not reported"
"""The reasoning-tokens cell of a run whose replies hold reasoning the endpoint did not count
apart (inline ``<think>`` sections: their tokens are in the completion tokens only)."""


def max_rounds(runs: Sequence[Run]) -> int:
    """The largest number of rectification rounds any run could use (0 when none of their
    methods rectifies)."""
    return max((run.rounds_allowed for run in runs), default=0)


def rounds_of(run: Run, top: int) -> list[float | None]:
    """Strict accuracy with at most r rounds, r = 0..``top``; None beyond the rounds the run
    could use (:attr:`Run.rounds_allowed`: 0 for a method without rectification)."""
    allowed = run.rounds_allowed
    return [
        value if r <= allowed else None
        for r, value in enumerate(accuracy_by_rounds(run.records, top))
    ]


def rounds_table(runs: Sequence[Run]) -> Table:
    """Strict accuracy had at most r rounds been allowed (r = 0..max), and one-time pass."""
    top = max_rounds(runs)
    columns = [
        Column("dataset"),
        Column("n", "count"),
        *(Column(f"≤ {r} rounds", "percent") for r in range(top + 1)),
        Column("one-time pass", "percent"),
    ]
    rows = [
        [
            run.dataset_label,
            score(run.records).n,  # the records with an answer to check
            *rounds_of(run, top),
            one_time_pass_rate(run.records),
        ]
        for run in runs
    ]
    notes = [
        "A record counts for r rounds when it is correct (strict) after at most r "
        "rectification rounds; a run has values only up to the rounds it could use.",
    ]
    plain = sorted({run.config.method for run in runs if not run.rectifies})
    if plain:
        notes.append(f"{', '.join(plain)}: no rectification (nothing is repaired), so r = 0 only.")
    return per_run_table(
        name="accuracy_by_rounds",
        title="Accuracy by rectification rounds",
        runs=runs,
        columns=columns,
        rows=rows,
        notes=notes,
    )


def _has_reasoning_text(record: ProblemRecord) -> bool:
    return any(step.call is not None and step.call.completion.reasoning for step in record.trace)


def reasoning_tokens(run: Run) -> int | str | None:
    """The run's reasoning tokens; :data:`NOT_REPORTED` when its replies hold reasoning but
    the endpoint counted none apart; None when it has no reasoning at all."""
    total = run_tokens(run.records).reasoning
    if total:
        return total
    return NOT_REPORTED if any(_has_reasoning_text(r) for r in run.records) else None


def costs_table(runs: Sequence[Run], *, prices: PriceTable) -> Table:
    """Tokens and cost, in total and per correct answer (strict); reasoning tokens too when
    some run has reasoning (they are inside the completion tokens: priced once, as output)."""
    reasoning = [reasoning_tokens(run) for run in runs]
    show_reasoning = any(cell is not None for cell in reasoning)
    shares = [{} if run.replay else model_tokens(run.records) for run in runs]
    split = any(shares)  # a tool maker and a tool user: each priced at its own price
    columns = [
        Column("dataset"),
        Column("n", "count"),
        Column("correct", "count"),
        Column("prompt tokens", "count"),
        Column("completion tokens", "count"),
        *([Column("reasoning tokens", "count")] if show_reasoning else []),
        Column("tokens", "count"),
        Column("tokens per correct", "ratio"),
        Column("USD per 1M in", "price"),
        Column("USD per 1M out", "price"),
        Column("cost", "usd"),
        Column("cost per correct", "usd"),
        *([Column("tokens and cost by model")] if split else []),
    ]
    rows: list[list[Cell]] = []
    for run, thought, share in zip(runs, reasoning, shares, strict=True):
        tokens = run_tokens(run.records)  # the definition the summary and progress share
        prompt, completion, total = tokens.prompt, tokens.completion, tokens.total
        correct = sum(r.correct_strict for r in run.records)
        row: list[Cell] = [
            run.dataset_label,
            len(run.records),
            correct,
            prompt,
            completion,
            *([0 if thought is None else thought] if show_reasoning else []),
            total,
            total / correct if correct else None,
        ]
        price = None if run.replay else prices.get(run.config.model)
        if share:
            both = total_cost(share, prices)
            spent: Cell = UNKNOWN_PRICE if both is None else both
            per_correct = None if both is None or not correct else both / correct
            row += [PER_MODEL, PER_MODEL, spent, UNKNOWN_PRICE if both is None else per_correct]
        elif price is None:
            reason = NOT_PRICED_REPLAY if run.replay else UNKNOWN_PRICE
            row += [reason] * 4
        else:
            cost = price.cost(tokens)
            row += [price.input, price.output, cost, cost / correct if correct else None]
        if split:
            row.append(_by_model(run, share, prices) if share else None)
        rows.append(row)
    notes = [
        "Tokens as the endpoint reported them, replies served from the response cache "
        "included: the cost is what the run costs without the cache.",
        f"Prices: USD per 1M tokens, {prices.source}" if prices.source else "",
    ]
    if show_reasoning:
        notes.append(
            "Reasoning tokens are part of the completion tokens (billed as output tokens, "
            "counted once); as the endpoint reported them: "
            f"{NOT_REPORTED!r} where replies hold reasoning the endpoint did not count apart."
        )
    if split:
        notes.append(
            "A run whose tools one model made (--creation-model) and another used: each "
            "model's tokens (the tool maker's Creation requests, the tool user's others) at "
            "its own price, added up in the cost."
        )
    overrides = sorted(m for m, p in prices.prices.items() if p.source == "--price")
    if overrides:
        notes.append("Prices given with --price: " + ", ".join(overrides) + ".")
    return per_run_table(
        name="costs",
        title="Tokens and cost per correct answer",
        runs=runs,
        columns=columns,
        rows=rows,
        notes=[n for n in notes if n],
    )


def _by_model(run: Run, share: Mapping[str, Tokens], prices: PriceTable) -> str:
    """``tool maker M: 1,234 tokens, $0.0123; tool user N: ...`` for a run of two models."""
    costs = model_costs(share, prices)
    parts = []
    for model, used in share.items():
        role = "tool maker" if model == run.config.creation_model else "tool user"
        if model == run.config.creation_model == run.config.model:
            role = "tool maker and user"
        cost = costs[model]
        spent = UNKNOWN_PRICE + " price" if cost is None else display(cost, "usd")
        parts.append(f"{role} {model}: {used.total:,} tokens, {spent}")
    return "; ".join(parts)


def runs_table(runs: Sequence[Run]) -> Table:
    overall = [score(run.records) for run in runs]
    paper = any(s.differ for s in overall)
    columns = [Column("dataset"), Column("scoring")]
    acc_columns, acc_cells = accuracy_columns("accuracy", overall, paper=paper, n_name="n")
    columns += [*acc_columns, Column("one-time pass", "percent"), Column("model errors", "count")]
    rows = [
        [
            run.dataset_label,
            run.config.scoring,
            *cells,
            one_time_pass_rate(run.records),
            sum(r.status == "model_error" for r in run.records),
        ]
        for run, cells in zip(runs, acc_cells, strict=True)
    ]
    notes = [
        "Accuracy counts every record (a model failure as not solved), under strict scoring "
        "whatever the run's own scoring setting; (paper) is the original lenient rule."
    ]
    if any(r.arm == "transfer" for run in runs for r in run.records):
        notes.append("Tool Transfer runs with a transfer arm count the records of both arms here.")
    return per_run_table(
        name="runs", title="Runs", runs=runs, columns=columns, rows=rows, notes=notes
    )
