"""``DIR/summary.json``: accuracy overall, by subject and level, and everything else counted.

Built from the records alone (plus the config and timings), so it can be recomputed from any
results file. Accuracy counts every selected problem: a model failure that was never resolved
counts as not solved and is reported separately. Printing is the CLI's job.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from creator.eval.config import EvalConfig
from creator.eval.records import ProblemRecord

__all__ = ["summarize"]


def _rate(hits: int, n: int) -> float:
    return round(hits / n, 4) if n else 0.0


def _by(records: list[ProblemRecord], key: str) -> dict[str, dict[str, float | int]]:
    groups: dict[str, list[ProblemRecord]] = defaultdict(list)
    for record in records:
        value = getattr(record, key)
        if value is not None:
            groups[str(value)].append(record)
    return {
        name: {"n": len(group), "accuracy": _rate(sum(r.correct for r in group), len(group))}
        for name, group in sorted(groups.items(), key=lambda item: (len(item[0]), item[0]))
    }


def summarize(
    records: Iterable[ProblemRecord],
    *,
    config: EvalConfig,
    selected: int,
    wall_time_s: float,
    sandbox: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The summary of ``records`` for a run of ``config`` over ``selected`` problems."""
    done = list(records)
    n = len(done)
    strict = sum(r.correct_strict for r in done)
    paper = sum(r.correct_paper for r in done)
    correct = sum(r.correct for r in done)
    statuses = Counter(r.status for r in done)
    tokens = Counter[str]()
    for r in done:
        tokens.update(prompt=r.tokens.prompt, completion=r.tokens.completion, total=r.tokens.total)
    replay = any(r.replay for r in done) or config.model == "reference"
    summary: dict[str, Any] = {
        "n": n,
        "selected": selected,
        "accuracy": _rate(correct, n),
        "correct": correct,
        "scoring": config.scoring,
        "accuracy_strict": _rate(strict, n),
        "accuracy_paper": _rate(paper, n),
        "scorings_differ": strict != paper,
        "by_subject": _by(done, "subject"),
        "by_level": _by(done, "level"),
        "one_time_pass_rate": _rate(sum(r.one_time_pass for r in done), n),
        "rectifications": {
            str(k): v for k, v in sorted(Counter(r.rectifications for r in done).items())
        },
        "rectified_and_correct": sum(r.correct and r.rectifications > 0 for r in done),
        "status": dict(sorted(statuses.items())),
        "model_errors": statuses.get("model_error", 0),
        "tokens": dict(tokens) | {"per_problem": round(tokens["total"] / n, 1) if n else 0},
        "wall_time_s": round(wall_time_s, 2),
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
    if extra:
        summary.update(extra)
    return summary
