"""Running an evaluation: K problems in flight, each record saved as it finishes, resumable.

``run_eval`` selects the problems, skips those already finished in ``DIR/results.jsonl``,
solves the rest with ``concurrency`` problems in flight (model calls and sandbox jobs of
different problems overlap), scores each (strict and paper rules), appends its record, and
writes ``DIR/summary.json``. Model failures are recorded as such and retried by the next run
in the same DIR. Presentation (progress bar, tables) is left to the caller through
``on_record``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from creator import datasets
from creator.answers import any_number_matches, checker_stats, is_equivalent
from creator.errors import InputError
from creator.eval.config import EvalConfig
from creator.eval.records import ProblemRecord, ResultsFile
from creator.eval.summary import summarize
from creator.methods import METHODS
from creator.models.base import Model
from creator.problem import Problem
from creator.sandbox.base import Sandbox
from creator.trace import Result

__all__ = ["Progress", "load_config", "run_eval", "score"]


@dataclass(frozen=True, slots=True)
class Progress:
    """Counters after each finished problem (for progress displays)."""

    done: int
    total: int
    correct: int
    tokens: int
    model_errors: int
    skipped: int


def _output(result: Result) -> str:
    """What the paper rule scans: the last execution's stdout, or a prose answer's reply."""
    for step in reversed(result.trace):
        if step.execution is not None and step.stage == "execution":
            return step.execution.stdout
        if step.stage == "answer" and step.call is not None:
            return step.call.completion.text
    return ""


def score(result: Result) -> tuple[bool, bool]:
    """(strict, paper) correctness of ``result`` against its problem's answer."""
    target, kind = result.problem.answer, result.problem.answer_kind
    if target is None or result.status == "model_error":
        return False, False
    strict = result.answer is not None and is_equivalent(result.answer, target, kind)
    paper = strict or (
        result.status != "execution_error" and any_number_matches(_output(result), target, kind)
    )
    return strict, paper


def load_config(out_dir: Path) -> EvalConfig | None:
    path = out_dir / "config.json"
    if not path.exists():
        return None
    try:
        return EvalConfig.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:
        raise InputError(f"{path} is not a creator evaluation config") from None


def _claim(out_dir: Path, config: EvalConfig) -> None:
    """Make ``out_dir`` this run's, or refuse it if it holds a different run."""
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = load_config(out_dir)
    if previous is None:
        if (out_dir / "results.jsonl").exists():
            raise InputError(f"{out_dir} holds results without a config.json: use another --out")
    elif previous.differences(config):
        changed = ", ".join(previous.differences(config))
        raise InputError(
            f"{out_dir} holds a run with different settings ({changed}): "
            "use another --out DIR, or the same settings to resume"
        )
    ResultsFile.dump_json(out_dir / "config.json", config.model_dump(mode="json"))


async def run_eval(
    config: EvalConfig,
    *,
    out_dir: Path,
    model: Model,
    sandbox: Sandbox,
    concurrency: int = 8,
    on_start: Callable[[int, int], None] | None = None,
    on_record: Callable[[ProblemRecord, Progress], None] | None = None,
) -> dict[str, Any]:
    """Evaluate ``config`` into ``out_dir`` and return the summary (also in summary.json)."""
    if concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    if config.method not in METHODS:
        raise InputError(f"unknown method {config.method!r}: choose from {', '.join(METHODS)}")
    problems = datasets.select(
        config.dataset,
        subjects=config.subjects,
        levels=config.levels,
        ids=config.ids,
        sample=config.sample,
        seed=config.seed,
        limit=config.limit,
    )
    if not problems:
        raise InputError("no problems match the filters")
    if getattr(model, "replay", False) and any(p.reference is None for p in problems):
        raise InputError(
            f"the reference replay has no recorded solutions for {config.dataset}: "
            "it replays the creation and transfer datasets only"
        )
    _claim(out_dir, config)
    results = ResultsFile(out_dir / "results.jsonl")
    records = results.load()
    todo = [p for p in problems if p.id not in records or not records[p.id].finished]
    skipped = len(problems) - len(todo)
    if on_start is not None:
        on_start(len(problems), skipped)

    method, options = METHODS[config.method], config.stage_options()
    selected = {p.id for p in problems}
    counters = {"done": skipped, "correct": 0, "tokens": 0, "model_errors": 0}
    for record in records.values():
        if record.id in selected and record.finished:
            counters["correct"] += record.correct
            counters["tokens"] += record.tokens.total
    queue: asyncio.Queue[Problem] = asyncio.Queue()
    for problem in todo:
        queue.put_nowait(problem)
    start = time.perf_counter()

    async def solve(problem: Problem) -> ProblemRecord:
        result = await method(problem, model=model, sandbox=sandbox, options=options)
        if getattr(model, "replay", False):
            result = result.model_copy(update={"replay": True})
        if problem.answer_kind == "math":
            strict, paper = await asyncio.to_thread(score, result)
        else:
            strict, paper = score(result)
        correct = paper if config.scoring == "paper" else strict
        return ProblemRecord.of(
            result, dataset=config.dataset, correct=correct, strict=strict, paper=paper
        )

    async def worker() -> None:
        while not queue.empty():
            record = await solve(queue.get_nowait())
            results.append(record)
            records[record.key] = record
            counters["done"] += 1
            counters["correct"] += record.correct
            counters["tokens"] += record.tokens.total
            counters["model_errors"] += not record.finished
            if on_record is not None:
                on_record(record, Progress(total=len(problems), skipped=skipped, **counters))

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, len(todo))):
                group.create_task(worker())
    finally:
        summary = summarize(
            (records[p.id] for p in problems if p.id in records),
            config=config,
            selected=len(problems),
            wall_time_s=time.perf_counter() - start,
            sandbox=sandbox.isolation,
            extra={
                "concurrency": concurrency,
                "resumed_from": skipped,
                "math_check_timeouts": checker_stats().timeouts,
            },
        )
        ResultsFile.dump_json(out_dir / "summary.json", summary)
    return summary
