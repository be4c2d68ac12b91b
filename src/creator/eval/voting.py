"""Electing one answer from several attempts at a problem, and the vote over the first k.

Attempts whose answers are equivalent (the checker's rule for the problem's answer kind, the
one scoring uses) form a *group*. :func:`elect` counts the *eligible* attempts of each group:
under ``majority`` every attempt that answered, under ``execution`` only those whose every
execution ran without error (the answer of code that needed no repair); when no attempt is
eligible under ``execution``, the answered ones are counted instead (``fallback``). The group
with the most votes wins, a tie going to the group that answered first; the chosen attempt is
that group's first. :func:`settled` says when sampling may stop because no later attempt can
change the winner (``--vote-early``). :func:`vote_at` re-runs the vote on a record's first k
attempts, from the groups recorded, for accuracy at every k up to K without the checker.

Deliberately left out: making the attempts (:mod:`creator.eval.sampling`) and scoring them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from creator.answers import is_equivalent
from creator.eval.records import ProblemRecord, Tokens, VoteRule
from creator.trace import Result

__all__ = ["Election", "elect", "eligible", "group_answers", "settled", "vote_at"]


@dataclass(frozen=True, slots=True)
class Election:
    """The winner of a vote: the chosen attempt (None: no attempt answered), its group's
    votes, and whether the answered attempts were counted for want of eligible ones."""

    chosen: int | None
    votes: int = 0
    fallback: bool = False


def group_answers(answers: Sequence[str | None], *, kind: str) -> list[int | None]:
    """The group of each answer (None for no answer): an answer joins the first earlier group
    whose first answer it is equivalent to (either way round), else starts a new one."""
    firsts: list[str] = []
    groups: list[int | None] = []
    for answer in answers:
        if answer is None:
            groups.append(None)
            continue
        for number, first in enumerate(firsts):
            if answer.strip() == first.strip() or _same(answer, first, kind):
                groups.append(number)
                break
        else:
            groups.append(len(firsts))
            firsts.append(answer)
    return groups


def _same(a: str, b: str, kind: str) -> bool:
    return is_equivalent(a, b, kind) or is_equivalent(b, a, kind)


def eligible(result: Result, rule: VoteRule) -> bool:
    """Whether ``result`` is counted by ``rule`` (see the module docstring)."""
    if result.status != "answered" or result.answer is None:
        return False
    if rule == "majority":
        return True
    return result.rectifications == 0 and all(
        step.error is None for step in result.trace if step.stage in ("execution", "service")
    )


def elect(groups: Sequence[int | None], counted: Sequence[bool]) -> Election:
    """The winner among attempts with these groups, counting those marked ``counted`` (or,
    when none is, every attempt with an answer: the fallback)."""
    voters = [i for i, group in enumerate(groups) if group is not None and counted[i]]
    fallback = False
    if not voters:  # under majority every answered attempt is counted: none answered
        voters = [i for i, group in enumerate(groups) if group is not None]
        fallback = bool(voters)
    if not voters:
        return Election(chosen=None)
    tally: dict[int | None, list[int]] = {}
    for i in voters:
        tally.setdefault(groups[i], []).append(i)
    best = max(tally.values(), key=lambda members: (len(members), -members[0]))
    return Election(chosen=best[0], votes=len(best), fallback=fallback)


def settled(groups: Sequence[int | None], counted: Sequence[bool], *, remaining: int) -> bool:
    """True when ``remaining`` more attempts cannot change the winner: the leader's votes
    beat every other group's plus all remaining (a tie goes to the earlier group, and a group
    not yet seen is later than the leader's). Never while no eligible attempt leads."""
    if remaining <= 0:
        return True
    votes: dict[int, list[int]] = {}
    for i, group in enumerate(groups):
        if group is not None and counted[i]:
            votes.setdefault(group, []).append(i)
    if not votes:
        return False
    leader = max(votes.values(), key=lambda members: (len(members), -members[0]))
    if len(leader) < remaining:  # an answer not yet seen could still outvote it
        return False
    for members in votes.values():
        if members is leader:
            continue
        rival = len(members) + remaining
        if rival > len(leader) or (rival == len(leader) and members[0] < leader[0]):
            return False
    return True


def vote_at(record: ProblemRecord, k: int, *, strict: bool = False) -> tuple[bool, Tokens]:
    """Whether the vote over ``record``'s first ``k`` attempts elects a right answer, and the
    tokens those attempts spent (``strict``: right by the strict rule, else by the run's). A
    record of one attempt is its own vote; when the vote
    stopped early, every k beyond the attempts made is the attempts made. A record that is a
    model failure (one attempt failed) is wrong at every k, as it is in the run's accuracy."""
    if not record.samples or record.vote is None:
        return (record.correct_strict if strict else record.correct), record.tokens
    first = record.samples[: max(1, k)]
    won = elect([s.group for s in first], [s.eligible for s in first])
    chosen = first[won.chosen] if won.chosen is not None else None
    right = chosen is not None and (chosen.correct_strict if strict else chosen.correct)
    correct = right and record.status != "model_error"  # a model failure is never right
    return correct, sum((s.tokens for s in first), Tokens())
