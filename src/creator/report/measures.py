"""What a report counts: accuracy of a group of records, by subject, level, rounds and arm.

Pure functions over :class:`~creator.eval.records.ProblemRecord`. Every record counts, a model
failure as not solved (as in ``summary.json``). Accuracy is given under both scoring rules:
``strict`` (the checked final answer) and ``paper`` (the original lenient rule), whatever rule
the run was started with, since every record carries both verdicts. Deliberately left out:
layout, formatting and prices (see :mod:`creator.report.tables` and :mod:`creator.report.costs`).

Uncertainty is the Wilson score interval (:func:`wilson`, 95% by default): unlike the normal
approximation it stays inside [0, 1] and is not zero-width at 0% or 100%, which matters for the
small samples a report often holds.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from creator.eval.records import ProblemRecord

__all__ = [
    "MATH_LEVELS",
    "Score",
    "TransferScores",
    "accuracy_by_rounds",
    "by_level",
    "by_subject",
    "half_width",
    "one_time_pass_rate",
    "rounds_scores",
    "score",
    "transfer_scenario",
    "transfer_scores",
    "wilson",
]

MATH_LEVELS = (1, 2, 3, 4, 5)


def _rate(hits: int, n: int) -> float | None:
    return hits / n if n else None


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval (low, high) of ``k`` successes in ``n`` trials; ``z`` = 1.96
    for 95%. ``None`` when ``n`` is 0 (no records: nothing to bound)."""
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"wilson: need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return None
    p = k / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def half_width(k: int, n: int) -> float | None:
    """Half the width of the 95% Wilson interval (the ``±`` of a table), as a fraction."""
    interval = wilson(k, n)
    return None if interval is None else (interval[1] - interval[0]) / 2


@dataclass(frozen=True, slots=True)
class Score:
    """How many records, and how many of them are correct under each scoring rule."""

    n: int
    strict: int
    paper: int

    @property
    def accuracy(self) -> float | None:
        """Strict accuracy; ``None`` when there are no records."""
        return _rate(self.strict, self.n)

    @property
    def accuracy_paper(self) -> float | None:
        return _rate(self.paper, self.n)

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95% Wilson interval of the strict accuracy; ``None`` without records."""
        return wilson(self.strict, self.n)

    @property
    def pm(self) -> float | None:
        """Half the width of :attr:`interval` (a fraction)."""
        return half_width(self.strict, self.n)

    def _over(self, n: int) -> Score:
        """These hits over ``n`` records (the others, not counted here, as not solved)."""
        return Score(n=n, strict=self.strict, paper=self.paper)

    @property
    def differ(self) -> bool:
        """The two rules disagree on at least one record."""
        return self.strict != self.paper


def score(records: Iterable[ProblemRecord]) -> Score:
    """Right answers among ``records`` that have an answer to check (a row of a user's
    dataset without one is neither right nor wrong, and left out)."""
    n = strict = paper = 0
    for record in records:
        if not record.scored:
            continue
        n += 1
        strict += record.correct_strict
        paper += record.correct_paper
    return Score(n=n, strict=strict, paper=paper)


def by_subject(records: Sequence[ProblemRecord]) -> dict[str, Score]:
    """Score per MATH subject (records without a subject are left out)."""
    groups: dict[str, list[ProblemRecord]] = defaultdict(list)
    for record in records:
        if record.subject is not None:
            groups[record.subject].append(record)
    return {name: score(group) for name, group in sorted(groups.items())}


def by_level(
    records: Sequence[ProblemRecord], levels: Sequence[int] = MATH_LEVELS
) -> dict[int, Score]:
    """Score per difficulty level in ``levels`` (an empty Score where a level has no record)."""
    return {level: score(r for r in records if r.level == level) for level in levels}


def rounds_scores(records: Sequence[ProblemRecord], max_rounds: int) -> list[Score]:
    """The score had at most r rectification rounds been allowed, for r = 0..max_rounds.

    A record counts for r when it is correct and needed no more than r rounds.
    """
    scored = [r for r in records if r.scored]
    return [
        score(r for r in scored if r.rectifications <= rounds)._over(len(scored))
        for rounds in range(max_rounds + 1)
    ]


def accuracy_by_rounds(records: Sequence[ProblemRecord], max_rounds: int) -> list[float | None]:
    """Strict accuracy had at most r rectification rounds been allowed, for r = 0..max_rounds
    (see :func:`rounds_scores`)."""
    return [s.accuracy for s in rounds_scores(records, max_rounds)]


def one_time_pass_rate(records: Sequence[ProblemRecord]) -> float | None:
    """Share of records right on their first execution (strict scoring)."""
    scored = [r for r in records if r.scored]
    return _rate(sum(r.one_time_pass and r.correct_strict for r in scored), len(scored))


def transfer_scenario(problem_id: str) -> int | None:
    """The scenario number of a Tool Transfer id ``transfer/<group>/<scenario>``."""
    parts = problem_id.split("/")
    if len(parts) != 3 or parts[0] != "transfer" or not parts[2].isdigit():
        return None
    return int(parts[2])


@dataclass(frozen=True, slots=True)
class TransferScores:
    """Without transfer (``control``) and with it (``transfer``) on the same problems.

    ``scopes`` maps "2", "3" and "2+3" to (control, transfer) scores over the scenario ids that
    have a record in both arms; ``unpaired`` counts scenario 2 and 3 records left out because
    the other arm has no record for their id (yet).
    """

    scopes: dict[str, tuple[Score, Score]]
    unpaired: int
    transfer_records: int


def transfer_scores(records: Sequence[ProblemRecord]) -> TransferScores:
    """Compare the arms of a Tool Transfer run from the records' ``arm`` field alone.

    A record without an arm solved its scenario on its own, so it counts as control.
    """
    control: dict[str, ProblemRecord] = {}
    transfer: dict[str, ProblemRecord] = {}
    for record in records:
        if transfer_scenario(record.id) not in (2, 3):
            continue
        (transfer if record.arm == "transfer" else control)[record.id] = record
    paired = sorted(control.keys() & transfer.keys())
    unpaired = len(control) + len(transfer) - 2 * len(paired)
    scopes: dict[str, tuple[Score, Score]] = {}
    for name, scenarios in (("2", {2}), ("3", {3}), ("2+3", {2, 3})):
        ids = [i for i in paired if transfer_scenario(i) in scenarios]
        scopes[name] = (score(control[i] for i in ids), score(transfer[i] for i in ids))
    return TransferScores(scopes=scopes, unpaired=unpaired, transfer_records=len(transfer))
