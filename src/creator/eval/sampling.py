"""Several attempts at one problem (``--samples K``) and the vote that elects its answer.

Attempt ``i`` is the method run again with its own requests: every request's ``sample_index``
is the run's plus ``i * SAMPLE_STRIDE`` (a stage's retries add their round to it, and rounds
stay below the stride), so attempts are distinct requests, cached apart; the model's seed, when
one is set, is the run's plus ``i``. Attempt 0 sends exactly the requests of a run of one
attempt, so such a run's cached replies serve it. Temperature is the run's.

Without ``early`` the K attempts run at once. With it, the first ``ceil(K / 2)`` run at once
(the fewest that could settle the vote) and then one at a time until the vote is settled
(:func:`creator.eval.voting.settled`). An attempt that ends in a model failure stops the
sampling: the problem is that failure, retried by the next run like any other.

Deliberately left out: scoring rules (the caller's ``score``), records (the runner turns
:class:`Scored` attempts into :class:`~creator.eval.records.SampleRecord`) and the vote's
arithmetic (:mod:`creator.eval.voting`).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from typing import Any

from creator.eval.crashes import first_error
from creator.eval.records import SampleRecord, Vote, VoteRule, tokens_by_model, tokens_of
from creator.eval.voting import elect, eligible, group_answers, settled
from creator.stages.common import ROUNDS_BOUND, StageOptions
from creator.trace import Result

__all__ = ["SAMPLE_STRIDE", "Sampling", "Scored", "attempt_options", "sample", "sample_records"]

SAMPLE_STRIDE = ROUNDS_BOUND
"""How far apart the ``sample_index`` of two attempts' requests are."""


@dataclass(frozen=True, kw_only=True)
class Sampling:
    """How many attempts, how they vote, and whether sampling stops once the vote is settled."""

    k: int
    rule: VoteRule = "majority"
    early: bool = False


@dataclass(frozen=True, kw_only=True)
class Scored:
    """One attempt with its scores (strict and paper rules), its answer's group and whether
    the vote counts it."""

    index: int
    result: Result
    strict: bool
    paper: bool
    group: int | None = None
    eligible: bool = False


Attempter = Callable[[int], Coroutine[Any, Any, tuple[Result, bool, bool]]]
"""Makes and scores attempt ``i``."""


def attempt_options(options: StageOptions, index: int) -> StageOptions:
    """``options`` for attempt ``index`` (the same options for attempt 0)."""
    if index == 0:
        return options
    settings = options.settings
    update: dict[str, int] = {"sample_index": settings.sample_index + index * SAMPLE_STRIDE}
    if settings.seed is not None:
        update["seed"] = settings.seed + index
    return replace(options, settings=settings.model_copy(update=update))


async def sample(attempt: Attempter, *, sampling: Sampling, kind: str) -> tuple[list[Scored], Vote]:
    """Make the attempts ``sampling`` asks for and elect an answer among them. ``kind`` is
    the problem's answer kind (how answers are compared)."""
    made: list[tuple[Result, bool, bool]] = []
    first = math.ceil(sampling.k / 2) if sampling.early else sampling.k
    try:
        async with asyncio.TaskGroup() as group:  # one failing cancels the others
            wave = [group.create_task(attempt(i)) for i in range(first)]
    except BaseExceptionGroup as failed:  # raised as one attempt alone would raise it
        raise first_error(failed) from None
    made.extend(task.result() for task in wave)
    scored = await _grouped(made, sampling=sampling, kind=kind)
    while len(made) < sampling.k and sampling.early and not _failed(made):
        remaining = sampling.k - len(made)
        if settled([s.group for s in scored], [s.eligible for s in scored], remaining=remaining):
            break
        made.append(await attempt(len(made)))
        scored = await _grouped(made, sampling=sampling, kind=kind)
    won = elect([s.group for s in scored], [s.eligible for s in scored])
    vote = Vote(
        rule=sampling.rule,
        k=sampling.k,
        chosen=won.chosen,
        votes=won.votes,
        early=len(made) < sampling.k and not _failed(made),
        fallback=won.fallback,
    )
    return scored, vote


def _failed(made: Sequence[tuple[Result, bool, bool]]) -> bool:
    return any(result.status == "model_error" for result, _, _ in made)


async def _grouped(
    made: Sequence[tuple[Result, bool, bool]], *, sampling: Sampling, kind: str
) -> list[Scored]:
    answers = [result.answer if result.status == "answered" else None for result, _, _ in made]
    groups = await asyncio.to_thread(group_answers, answers, kind=kind)  # the checker may block
    return [
        Scored(
            index=i,
            result=result,
            strict=strict,
            paper=paper,
            group=groups[i],
            eligible=eligible(result, sampling.rule),
        )
        for i, (result, strict, paper) in enumerate(made)
    ]


def sample_records(
    scored: Sequence[Scored], *, paper: bool, creation_model: str | None = None
) -> list[SampleRecord]:
    """The attempts as a record keeps them; ``paper``: the run scores by the paper rule;
    ``creation_model``: the model that made the tools, when not the attempts' own."""
    return [
        SampleRecord(
            index=s.index,
            status=s.result.status,
            prediction=s.result.answer,
            correct=s.paper if paper else s.strict,
            correct_strict=s.strict,
            correct_paper=s.paper,
            group=s.group,
            eligible=s.eligible,
            rectifications=s.result.rectifications,
            tokens=tokens_of(s.result.usage),
            tokens_by_model=tokens_by_model(
                [s.result.trace], model=s.result.model, creation_model=creation_model
            ),
            duration_s=s.result.duration_s,
            error=s.result.error,
            tool_code=s.result.tool_code,
            decision_code=s.result.decision_code,
            reused_tool=s.result.reused_tool,
            trace=s.result.trace,
        )
        for s in scored
    ]
