"""Two runs side by side on the problems they share (``creator compare RUN_A RUN_B``).

Records are paired by problem id (in Tool Transfer runs, the control arm's: each scenario
solved on its own, as the report's main table counts them); only records with
an answer to check count, a model failure as not solved. A record's verdict is the run's own
scoring rule (``correct``: for a sampled run, the voted answer's) unless one rule is asked
for both (``scoring``: every record carries both verdicts). On the shared problems each run
gets its accuracy with a 95% Wilson interval, its tokens (a sampled run's: every attempt's)
and cost per correct answer; the difference B - A gets an exact McNemar p-value and a paired
bootstrap interval (:mod:`creator.report.significance`), and the problems only one of the two
solved are listed. Runs on different datasets (or different versions of one dataset file),
and runs that share no problem, are refused with an :class:`~creator.errors.InputError`.

Deliberately left out: rendering (the CLI prints a :class:`Comparison`, or its
:meth:`Comparison.to_json`), and comparing more than two runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from creator.errors import InputError
from creator.eval.config import UNSET, EvalConfig, Scoring
from creator.eval.records import ProblemRecord
from creator.eval.tokens import model_tokens, run_tokens
from creator.eval.transfer import TRANSFER_DATASET
from creator.report.costs import NOT_PRICED_REPLAY, UNKNOWN_PRICE, PriceTable, model_costs
from creator.report.measures import wilson
from creator.report.runs import DATASET_TITLES, Run
from creator.report.significance import MAX_RESAMPLES, mcnemar_exact, paired_bootstrap

__all__ = ["Comparison", "Side", "compare_runs"]

_NOT_NOTED = frozenset(
    {"dataset", "method", "model", "scoring", "subjects", "levels", "ids", "sample", "seed"}
)
"""Setting differences the comparison shows elsewhere (or that only select problems)."""


@dataclass(frozen=True, slots=True)
class Side:
    """One run's figures on the shared problems."""

    run: str
    """The run's directory (marked when partial)."""
    label: str
    """``method · model`` (the replay labelled as such)."""
    scoring: str
    """The rule its verdicts follow here."""
    replay: bool
    samples: int
    """Attempts per problem (1: a run of one attempt)."""
    vote: str | None
    """How a sampled run's attempts elect the answer (``majority``, ``execution``)."""
    problems: int
    """Its records with an answer to check."""
    only: int
    """Of those, the problems the other run has no record of."""
    n: int
    correct: int
    tokens: int
    """Tokens spent on the shared problems (every attempt of a sampled run)."""
    cost: float | str
    """USD on the shared problems, or why there is none (``unknown``, ``n/a (replay)``)."""
    unpriced: tuple[str, ...] = ()
    """The models without a price, when ``cost`` is unknown."""

    @property
    def accuracy(self) -> float:
        return self.correct / self.n

    @property
    def interval(self) -> tuple[float, float]:
        """The 95% Wilson interval of :attr:`accuracy`."""
        return wilson(self.correct, self.n) or (0.0, 1.0)  # n >= 1 in a comparison

    @property
    def tokens_per_problem(self) -> float:
        return self.tokens / self.n

    @property
    def tokens_per_correct(self) -> float | None:
        return self.tokens / self.correct if self.correct else None

    @property
    def cost_per_correct(self) -> float | str | None:
        if isinstance(self.cost, str):
            return self.cost
        return self.cost / self.correct if self.correct else None

    def to_json(self) -> dict[str, object]:
        low, high = self.interval
        return {
            "run": self.run,
            "label": self.label,
            "scoring": self.scoring,
            "replay": self.replay,
            "samples": self.samples,
            "vote": self.vote,
            "problems": self.problems,
            "only_here": self.only,
            "n": self.n,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "ci_low": low,
            "ci_high": high,
            "tokens": self.tokens,
            "tokens_per_problem": self.tokens_per_problem,
            "tokens_per_correct": self.tokens_per_correct,
            "cost_usd": self.cost,
            "cost_per_correct_usd": self.cost_per_correct,
            "unpriced_models": list(self.unpriced),
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    """Run A and run B on their shared problems, and whether they differ."""

    dataset: str
    a: Side
    b: Side
    a_not_b: tuple[str, ...]
    """Keys of the problems A solved and B did not."""
    b_not_a: tuple[str, ...]
    p_value: float
    """Exact McNemar, two-sided."""
    low: float
    high: float
    """The paired bootstrap 95% interval of B - A."""
    resamples: int
    seed: int
    notes: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        return self.a.n

    @property
    def difference(self) -> float:
        """Accuracy of B minus accuracy of A (a fraction)."""
        return self.b.accuracy - self.a.accuracy

    def to_json(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "shared": self.n,
            "a": self.a.to_json(),
            "b": self.b.to_json(),
            "difference": self.difference,
            "bootstrap_low": self.low,
            "bootstrap_high": self.high,
            "bootstrap_resamples": self.resamples,
            "bootstrap_seed": self.seed,
            "mcnemar_p": self.p_value,
            "a_not_b": list(self.a_not_b),
            "b_not_a": list(self.b_not_a),
            "notes": list(self.notes),
        }


def _keyed(run: Run) -> dict[str, ProblemRecord]:
    """The run's records with an answer to check, by the key they pair on: in a Tool
    Transfer run, the control arm's (each scenario solved on its own, as the report's main
    table counts it; a record without an arm is one)."""
    return {r.id: r for r in run.records if r.scored and r.arm in (None, "control")}


def _natural(key: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key putting ``math/algebra/2`` before ``math/algebra/10``."""
    parts = re.split(r"([0-9]+)", key)  # ASCII digits: int() refuses some of \d's ("²")
    return tuple((0, int(p)) if p.isascii() and p.isdigit() else (1, p) for p in parts)


def _verdict(record: ProblemRecord, scoring: Scoring | None) -> bool:
    if scoring == "strict":
        return record.correct_strict
    if scoring == "paper":
        return record.correct_paper
    return record.correct  # the run's own rule (a sampled record's: the voted answer)


def _cost(
    run: Run, records: Sequence[ProblemRecord], prices: PriceTable
) -> tuple[float | str, tuple[str, ...]]:
    """USD for ``records`` (a two-model run: each model's tokens at its own price), or why
    there is no figure, with the models that have no price."""
    if run.replay:
        return NOT_PRICED_REPLAY, ()
    share = model_tokens(records) or {run.config.model: run_tokens(records)}
    costs = model_costs(share, prices)
    unpriced = tuple(sorted(model for model, cost in costs.items() if cost is None))
    if unpriced:
        return UNKNOWN_PRICE, unpriced
    return sum(cost for cost in costs.values() if cost is not None), ()


def _samples(run: Run) -> int:
    recorded = max((len(r.samples) for r in run.records), default=0)
    return max(run.config.samples, recorded, 1)


def _side(
    run: Run,
    mine: dict[str, ProblemRecord],
    theirs: dict[str, ProblemRecord],
    shared: list[str],
    *,
    scoring: Scoring | None,
    prices: PriceTable,
) -> Side:
    records = [mine[key] for key in shared]
    cost, unpriced = _cost(run, records, prices)
    samples = _samples(run)
    return Side(
        run=run.display_name,
        label=run.label,
        scoring=scoring or run.config.scoring,
        replay=run.replay,
        samples=samples,
        vote=run.config.vote if samples > 1 else None,
        problems=len(mine),
        only=len(mine.keys() - theirs.keys()),
        n=len(records),
        correct=sum(_verdict(r, scoring) for r in records),
        tokens=sum(r.tokens.total for r in records),
        cost=cost,
        unpriced=unpriced,
    )


def _check_datasets(a: Run, b: Run) -> None:
    if a.config.dataset != b.config.dataset:
        raise InputError(
            f"{a.name} is a {a.dataset_label} run and {b.name} a {b.dataset_label} run: "
            "compare needs two runs on the same dataset"
        )
    digests = (a.config.dataset_sha256, b.config.dataset_sha256)
    if None not in digests and digests[0] != digests[1]:  # None: recorded before digests
        raise InputError(
            f"{a.name} and {b.name} ran on different versions of the dataset file "
            f"{a.config.dataset!r} (their sha256 differ): the same ids may be other problems"
        )


def _shown(name: str, value: object) -> str:
    """A setting's value as a note shows it; one a config does not record is its default."""
    field = EvalConfig.model_fields.get(name)
    if value == UNSET and field is not None:
        value = field.get_default()
    return "none" if value is None else str(value)


def _notes(a: Run, b: Run, sa: Side, sb: Side, scoring: Scoring | None) -> list[str]:
    notes: list[str] = []
    if a.path.resolve() == b.path.resolve():
        notes.append("A and B are the same run directory.")
    if a.config.dataset == TRANSFER_DATASET:
        notes.append(
            "Tool Transfer: the control arms are compared (each scenario solved on its own); "
            "`creator report` sets the transfer arms beside them."
        )
    if sa.only or sb.only:
        notes.append(
            f"Compared on the {sa.n:,} problems both runs have: A has {sa.only:,} that B lacks, "
            f"B has {sb.only:,} that A lacks (left out)."
        )
    if scoring is None and a.config.scoring != b.config.scoring:
        notes.append(
            f"A is scored {a.config.scoring} and B {b.config.scoring}: each is counted by its "
            "own rule (--scoring strict or --scoring paper counts both by one)."
        )
    changes: list[str] = []
    for name, old, new in a.config.changes(b.config):
        if name.startswith("prompts."):
            if "prompts" not in changes:
                changes.append("prompts")
        elif name.split(".")[0] not in _NOT_NOTED:
            changes.append(f"{name} {_shown(name, old)} vs {_shown(name, new)}")
    if changes:
        notes.append("Settings that differ (A vs B): " + "; ".join(changes) + ".")
    for tag, side in (("A", sa), ("B", sb)):
        if side.replay:
            notes.append(
                f"{tag} is the reference replay (recorded dataset solutions, not an LLM): "
                "never LLM accuracy, and never priced."
            )
        if side.samples > 1:
            notes.append(
                f"{tag} made up to {side.samples} attempts per problem: its voted answer is "
                "compared, and its tokens and cost are those of every attempt."
            )
    unpriced = sorted({*sa.unpriced, *sb.unpriced})
    if unpriced:
        notes.append(
            f"Cost unknown: no price for {', '.join(unpriced)} "
            "(give one with --price MODEL=IN,OUT)."
        )
    return notes


def compare_runs(
    a: Run,
    b: Run,
    *,
    prices: PriceTable,
    scoring: Scoring | None = None,
    resamples: int = 10_000,
    seed: int = 0,
) -> Comparison:
    """Compare run ``a`` with run ``b`` on the problems both have (see the module docstring);
    ``scoring`` None counts each run by its own rule."""
    if not 1 <= resamples <= MAX_RESAMPLES:
        raise InputError(f"--resamples {resamples}: must be from 1 to {MAX_RESAMPLES:,}")
    if seed < 0:
        raise InputError(f"--seed {seed}: must be 0 or more")
    _check_datasets(a, b)
    mine, theirs = _keyed(a), _keyed(b)
    shared = sorted(mine.keys() & theirs.keys(), key=_natural)
    if not shared:
        raise InputError(
            f"{a.name} and {b.name} share no problem ({len(mine):,} and {len(theirs):,} "
            "problems with an answer to check): nothing to compare"
        )
    sa = _side(a, mine, theirs, shared, scoring=scoring, prices=prices)
    sb = _side(b, theirs, mine, shared, scoring=scoring, prices=prices)
    a_not_b = tuple(
        k for k in shared if _verdict(mine[k], scoring) and not _verdict(theirs[k], scoring)
    )
    b_not_a = tuple(
        k for k in shared if _verdict(theirs[k], scoring) and not _verdict(mine[k], scoring)
    )
    interval = paired_bootstrap(
        len(a_not_b), len(b_not_a), len(shared), resamples=resamples, seed=seed
    )
    title = DATASET_TITLES.get(a.config.dataset, a.config.dataset)
    return Comparison(
        dataset=title,
        a=sa,
        b=sb,
        a_not_b=a_not_b,
        b_not_a=b_not_a,
        p_value=mcnemar_exact(len(a_not_b), len(b_not_a)),
        low=interval.low,
        high=interval.high,
        resamples=resamples,
        seed=seed,
        notes=tuple(_notes(a, b, sa, sb, scoring)),
    )
