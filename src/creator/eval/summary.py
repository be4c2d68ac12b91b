"""``DIR/summary.json``: accuracy overall, by subject and level, and everything else counted.

Built from the records alone (plus the config and timings), so it can be recomputed from any
results file. Accuracy counts every selected problem: a model failure that was never resolved
counts as not solved and is reported separately. Printing is the CLI's job.

Problems without an answer to check (rows of a user's dataset file that give none) are
counted in ``unscored`` and left out of the accuracies (both scorings) and the one-time-pass
rate, overall and by subject and level (a group that has them says how many); these are None
("n/a") when no problem has an answer. ``n`` counts every problem.

In a Tool Transfer run the top-level figures are the control arm's (each scenario solved on
its own, as in runs without arms), except ``model_errors`` and ``tokens``, which count both
arms; the ``transfer`` block puts the arms side by side
(:func:`creator.eval.transfer.transfer_summary`). ``tokens`` follow the one definition the
progress display and the report share (:func:`creator.eval.tokens.run_tokens`); their
``per_problem`` is per record. ``wall_time_s`` is the total over every invocation that worked
on the run (resumes included), ``wall_time_this_run_s`` the last one's
(:mod:`creator.eval.walltime`).
Runs of several attempts per problem have a ``sampling`` block and runs that repair code
printing no answer a ``no_answer_repairs`` block (:mod:`creator.eval.beyond`).
With a creation model (a tool maker apart from the tool user), the ``models`` block names
both and gives each one's tokens (:func:`creator.eval.tokens.models_block`).
With a tool library, the ``tools`` block counts reuses and saved tools. A ``tooluse`` run has
a ``queries`` block: problems whose first reply had a query line, queries the service
answered, service errors, replies without a query, accuracy with and without a service result,
and the service's time per query (median and 95th percentile).

Model failures are counted in two groups: ``model_errors`` (transient, retried by the next
run; ``model_error_kinds`` and ``model_error_cause``, the most common kind with its last
message) and ``request_errors`` (the server refused the request itself, kept as final;
``request_error_kinds``, ``request_error`` and, for prompts too long for the server's
context, ``context`` with the largest count of tokens needed and what the server holds).

An invocation with a budget adds a ``budget`` block (the runner's, through ``extra``: it is
an option of the invocation, not of the run; :meth:`creator.eval.budget.Spend.block`):
the limits, what the run spent, which limit was reached, whether it ``stopped`` the run, and
the overshoot of problems that were in flight.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from creator.eval.beyond import no_answer_repairs, sampling_summary
from creator.eval.config import EvalConfig
from creator.eval.records import ProblemRecord
from creator.eval.tokens import models_block, run_tokens
from creator.eval.transfer import TRANSFER_DATASET, transfer_summary
from creator.report.costs import PriceTable

__all__ = ["summarize"]


def _rate(hits: int, n: int) -> float:
    return round(hits / n, 4) if n else 0.0


def _accuracy(hits: int, records: list[ProblemRecord]) -> float | None:
    """``hits`` over the scored ``records``; None when there are records and none is scored."""
    scored = sum(r.scored for r in records)
    return None if records and not scored else _rate(hits, scored)


def _by(records: list[ProblemRecord], key: str) -> dict[str, dict[str, float | int | None]]:
    groups: dict[str, list[ProblemRecord]] = defaultdict(list)
    for record in records:
        value = getattr(record, key)
        if value is not None:
            groups[str(value)].append(record)
    by: dict[str, dict[str, float | int | None]] = {}
    for name, group in sorted(groups.items(), key=lambda item: (len(item[0]), item[0])):
        by[name] = {"n": len(group), "accuracy": _accuracy(sum(r.correct for r in group), group)}
        if unscored := sum(not r.scored for r in group):
            by[name]["unscored"] = unscored
    return by


def summarize(
    records: Iterable[ProblemRecord],
    *,
    config: EvalConfig,
    selected: int,
    wall_time_s: float,
    sandbox: str,
    wall_time_this_run_s: float | None = None,
    extra: dict[str, Any] | None = None,
    transfer_arm: bool = False,
    added_scenario1: int = 0,
    save_tools: bool = False,
    prices: PriceTable | None = None,
) -> dict[str, Any]:
    """The summary of ``records`` for a run of ``config`` over ``selected`` problems (jobs,
    counting both arms of a Tool Transfer run); ``prices`` price the sampling block (default:
    the built-in table)."""
    every = list(records)
    done = [r for r in every if r.arm != "transfer"]
    n = len(done)
    strict = sum(r.correct_strict for r in done)
    paper = sum(r.correct_paper for r in done)
    correct = sum(r.correct for r in done)
    statuses = Counter(r.status for r in done)
    tokens = run_tokens(every).model_dump()
    replay = any(r.replay for r in every) or config.model == "reference"
    summary: dict[str, Any] = {
        "n": n,
        "selected": selected,
        "accuracy": _accuracy(correct, done),
        "correct": correct,
        "unscored": sum(not r.scored for r in done),
        "scoring": config.scoring,
        "accuracy_strict": _accuracy(strict, done),
        "accuracy_paper": _accuracy(paper, done),
        "scorings_differ": strict != paper,
        "by_subject": _by(done, "subject"),
        "by_level": _by(done, "level"),
        "one_time_pass_rate": _accuracy(sum(r.one_time_pass for r in done), done),
        "rectifications": {
            str(k): v for k, v in sorted(Counter(r.rectifications for r in done).items())
        },
        "rectified_and_correct": sum(r.correct and r.rectifications > 0 for r in done),
        "status": dict(sorted(statuses.items())),
        **_failures(every),
        "tokens": tokens | {"per_problem": round(tokens["total"] / len(every), 1) if every else 0},
        "wall_time_s": round(wall_time_s, 2),
        "wall_time_this_run_s": round(
            wall_time_s if wall_time_this_run_s is None else wall_time_this_run_s, 2
        ),
        "model": config.model,
        "replay": replay,
        "model_label": (
            "reference (replay of recorded dataset solutions, not an LLM)"
            if replay
            else config.model
        ),
        "method": config.method,
        "dataset": config.dataset,
        "sandbox": sandbox,
        "settings": config.model_dump(mode="json"),
        "fingerprint": config.fingerprint(),
    }
    if config.dataset == TRANSFER_DATASET:
        summary["transfer"] = transfer_summary(
            every,
            method=config.method,
            transfer_arm=transfer_arm,
            added=added_scenario1,
            replay=replay,
        )
    if config.reuse_tools or save_tools:
        summary["tools"] = _tools(done, config=config, save=save_tools)
    if config.method == "tooluse":
        summary["queries"] = _queries(done, service=config.tool_service or "sympy")
    if config.creation_model is not None:  # a tool maker and a tool user: tokens of each
        summary["models"] = models_block(every, model=config.model, maker=config.creation_model)
    if config.samples > 1:
        summary["sampling"] = sampling_summary(done, config=config, prices=prices)
    if config.rectify_on == "no-answer":
        summary["no_answer_repairs"] = no_answer_repairs(done)
    if extra:
        summary.update(extra)
    return summary


def _failures(every: list[ProblemRecord]) -> dict[str, Any]:
    """The model failures of ``every`` record, transient and refused apart."""
    retried = [r for r in every if not r.finished]
    refused = [r for r in every if r.refused]
    kinds = Counter(r.error_kind or "model" for r in retried)
    block: dict[str, Any] = {
        "model_errors": len(retried),
        "model_error_kinds": dict(sorted(kinds.items())),
        "model_error_cause": None,
        "request_errors": len(refused),
        "request_error_kinds": dict(sorted(Counter(r.error_kind for r in refused).items())),
        "request_error": None,
    }
    if retried:
        kind, count = kinds.most_common(1)[0]
        last = [r for r in retried if (r.error_kind or "model") == kind][-1]
        block["model_error_cause"] = {"kind": kind, "count": count, "error": last.error}
    if refused:
        context = [r for r in refused if r.error_kind == "context"]
        if context:
            worst = max(context, key=lambda r: r.context_needed or 0)
            block["request_error"] = worst.error
            block["context"] = {
                "needed": worst.context_needed,
                "available": worst.context_available,
            }
        else:
            block["request_error"] = refused[-1].error
    return block


def _tools(done: list[ProblemRecord], *, config: EvalConfig, save: bool) -> dict[str, Any]:
    """What the run did with the tool library: reuses (and their accuracy) and new tools."""
    reused = [r for r in done if r.reused_tool is not None]
    created = [r for r in done if r.reused_tool is None and r.tool_code is not None]
    return {
        "reuse": config.reuse_tools,
        "k": config.reuse_k if config.reuse_tools else None,
        "offer_unverified": config.offer_unverified if config.reuse_tools else None,
        "save": save or config.reuse_tools,
        "reused": len(reused),
        "reused_accuracy": _rate(sum(r.correct for r in reused), len(reused)),
        "created": len(created),
        "created_accuracy": _rate(sum(r.correct for r in created), len(created)),
    }


def _queries(done: list[ProblemRecord], *, service: str) -> dict[str, Any]:
    """What the ``tooluse`` run's queries met: sent, answered, failed, missing; and times."""
    replies = [s.service for r in done for s in r.trace if s.service is not None]
    got = [any(s.service is not None and s.service.ok for s in r.trace) for r in done]
    helped = [r for r, yes in zip(done, got, strict=True) if yes]
    unhelped = [r for r, yes in zip(done, got, strict=True) if not yes]
    no_query = sum(any(s.stage == "query" and s.error for s in r.trace) for r in done)
    times = sorted(reply.duration_s for reply in replies)
    return {
        "service": service,
        "sent": len(replies),
        "answered": sum(reply.ok for reply in replies),
        "service_errors": sum(not reply.ok for reply in replies),
        "no_query": no_query,
        "accuracy_with_result": _rate(sum(r.correct for r in helped), len(helped)),
        "accuracy_without_result": _rate(sum(r.correct for r in unhelped), len(unhelped)),
        "time_s": {
            "median": round(times[len(times) // 2], 4) if times else None,
            "p95": round(times[min(len(times) - 1, int(0.95 * len(times)))], 4) if times else None,
        },
    }
