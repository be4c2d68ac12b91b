"""The report's equal-cost view: accuracy against the tokens spent per problem.

One point per run; a sampled run (``--samples K``) has one point per k = 1..K, the vote over
each problem's first k attempts (:func:`creator.eval.voting.vote_at` gives their tokens), so
a reader can set, say, creator at k = 1 beside pot at k = 5 for about the same spend. Only a
run that has sampled records gets more than one point. Accuracy is strict scoring, as in
every other table of the report: the attempt the vote elects does not depend on the scoring
rule, so the strict verdict of that attempt is taken (:func:`strict_at`). Tokens per problem
are the mean over the records with an answer to check (the ones accuracy counts); a Tool
Transfer run's transfer arm is left out, as in the main table. Deliberately left out: cost in
USD (the run's ``summary.json`` prices each k in ``sampling.by_k``; the costs table prices
whole runs) and file output (:mod:`creator.report.document`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from creator.eval.records import ProblemRecord
from creator.eval.voting import vote_at
from creator.report.measures import wilson
from creator.report.paper import interval_columns, per_run_table
from creator.report.plots import REPLAY_TITLE, FigureSpec, Series, line_labels
from creator.report.runs import Run
from creator.report.tables import Cell, Column, Table

__all__ = [
    "CostPoint",
    "attempts",
    "equal_cost_figure",
    "equal_cost_table",
    "points",
    "strict_at",
]


@dataclass(frozen=True, slots=True)
class CostPoint:
    """A run's accuracy and mean tokens per problem when each problem's answer is the vote
    over its first ``k`` attempts (k = 1 for a run of one attempt)."""

    k: int
    n: int
    correct: int
    tokens: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.correct, self.n)

    @property
    def tokens_per_problem(self) -> float | None:
        return self.tokens / self.n if self.n else None


def attempts(run: Run) -> int:
    """K: the attempts per problem of a run with sampled records, else 1."""
    recorded = max((len(r.samples) for r in run.records), default=0)
    if not recorded:
        return 1
    return max(recorded, run.config.samples, *(r.vote.k for r in run.records if r.vote))


def strict_at(record: ProblemRecord, k: int) -> bool:
    """Whether the vote over ``record``'s first ``k`` attempts elects an answer right under
    strict scoring (a record of one attempt: its own strict verdict)."""
    return vote_at(record, k, strict=True)[0]


def points(run: Run) -> list[CostPoint]:
    """The run's point for each k = 1..:func:`attempts`."""
    records = [r for r in run.records if r.scored and r.arm != "transfer"]
    out: list[CostPoint] = []
    for k in range(1, attempts(run) + 1):
        tokens = sum(vote_at(r, k)[1].total for r in records)
        correct = sum(strict_at(r, k) for r in records)
        out.append(CostPoint(k=k, n=len(records), correct=correct, tokens=tokens))
    return out


def equal_cost_table(runs: Sequence[Run]) -> Table:
    """Strict accuracy and mean tokens per problem: a row per run, per k for sampled runs."""
    columns = [
        Column("dataset"),
        Column("k", "count"),
        Column("n", "count"),
        Column("accuracy", "percent"),
        *interval_columns("accuracy"),
        Column("tokens per problem", "ratio"),
    ]
    per_run = [points(run) for run in runs]
    firsts: list[list[Cell]] = [[run.dataset_label] for run in runs]
    base = per_run_table(
        name="equal_cost", title="", runs=runs, columns=columns[:1], rows=firsts
    )  # the lead cells (method, model, settings) and the run cell, one row per run
    rows: list[tuple[Cell, ...]] = []
    for row, run_points in zip(base.rows, per_run, strict=True):
        lead, last = row[:-1], row[-1]
        for point in run_points:
            interval = point.interval
            rows.append(
                (
                    *lead,
                    point.k,
                    point.n,
                    point.accuracy,
                    None if interval is None else (interval[1] - interval[0]) / 2,
                    None if interval is None else interval[0],
                    None if interval is None else interval[1],
                    point.tokens_per_problem,
                    last,
                )
            )
    notes = [
        "Accuracy (strict) against the mean tokens spent per problem, to set runs of about "
        "the same spend side by side. k: a run of several attempts per problem (--samples K) "
        "has a row per k = 1..K, the vote over each problem's first k attempts and their "
        "tokens; a run of one attempt has k = 1 only.",
    ]
    if any(run.config.dataset == "transfer" for run in runs):
        notes.append("Tool Transfer: the scenarios solved on their own (the control arm).")
    lead_columns = base.columns[: len(base.columns) - 2]  # without dataset and run
    return Table(
        name="equal_cost",
        title="Accuracy against tokens per problem (equal cost)",
        columns=(*lead_columns, *columns, base.columns[-1]),
        rows=tuple(rows),
        notes=(*notes, *base.notes),
    )


def equal_cost_figure(runs: Sequence[Run]) -> FigureSpec | None:
    """Accuracy (strict) against mean tokens per problem: one point per run, a line over
    k = 1..K for a sampled run; None when no run has a record to count."""
    chosen = [run for run in runs if any(p.n for p in points(run))]
    if not chosen:
        return None
    series = []
    for run, label in zip(chosen, line_labels(chosen, with_dataset=True), strict=True):
        run_points = points(run)
        intervals = [p.interval for p in run_points]
        k = len(run_points)
        series.append(
            Series(
                label=f"{label} (k = 1..{k}, left to right)" if k > 1 else label,
                y=tuple(p.accuracy for p in run_points),
                replay=run.replay,
                n=tuple(p.n for p in run_points),
                low=tuple(None if i is None else i[0] for i in intervals),
                high=tuple(None if i is None else i[1] for i in intervals),
                x=tuple(p.tokens_per_problem or 0.0 for p in run_points),
            )
        )
    replay = any(run.replay for run in chosen)
    return FigureSpec(
        name="accuracy_by_tokens",
        title="Accuracy against tokens per problem" + (REPLAY_TITLE if replay else ""),
        xlabel="tokens per problem (mean)",
        ylabel="accuracy (strict, %)",
        x=(),
        series=tuple(series),
    )
