"""Running an evaluation: K problems in flight, each record saved as it finishes, resumable.

``run_eval`` selects the problems, skips those already finished in ``DIR/results.jsonl``,
solves the rest with ``concurrency`` problems in flight (model calls and sandbox jobs of
different problems overlap), scores each (strict and paper rules), appends its record, and
writes ``DIR/summary.json``. Model failures are recorded as such and retried by the next run
in the same DIR. Presentation (progress bar, tables) is left to the caller through
``on_record``.

On the Tool Transfer dataset a run has two arms (see :mod:`creator.eval.transfer`): a
transfer job starts once the control record of its group's scenario 1 exists, and is left for
the next run if that record is a model failure. With a tool library, each problem is offered
retrieved tools (``reuse_tools``) and its tool is written back after scoring (``save_tools``):
``verified`` follows the strict rule, whatever the run's scoring.
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
from creator.errors import ConfigError, CreatorError, InputError
from creator.eval.config import EvalConfig
from creator.eval.records import ProblemRecord, ResultsFile
from creator.eval.summary import summarize
from creator.eval.transfer import TRANSFER_DATASET, Job, as_control, missing_tool, plan
from creator.methods import METHODS, TOOL_METHODS
from creator.models.base import Model
from creator.sandbox.base import Sandbox
from creator.tools.records import ToolRecord
from creator.tools.reuse import ToolReuse
from creator.tools.store import ToolLibrary
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


def _check(config: EvalConfig, *, model: Model, library: ToolLibrary | None, save: bool) -> None:
    """Refuse settings that cannot run together, before anything is written."""
    if config.method not in METHODS:
        raise InputError(f"unknown method {config.method!r}: choose from {', '.join(METHODS)}")
    if not (config.reuse_tools or save):
        return
    flag = "--reuse-tools" if config.reuse_tools else "--save-tools"
    if config.method not in TOOL_METHODS:
        raise ConfigError(
            f"{flag} needs a method that creates a separate tool ({', '.join(TOOL_METHODS)}); "
            f"{config.method} does not"
        )
    if getattr(model, "replay", False):
        raise ConfigError(
            f"{flag} needs a real model: the reference replay creates no tools (it replays "
            "the dataset's recorded ones) and cannot choose among library tools"
        )
    if config.reuse_tools and config.dataset == TRANSFER_DATASET:
        raise ConfigError(
            "--reuse-tools cannot run on the transfer dataset: its control arm must solve each "
            "scenario without the tools of the others"
        )
    if config.reuse_k < 1:
        raise ConfigError("--reuse-k must be at least 1")
    if library is None:
        raise ConfigError(f"{flag} needs a tool library")


async def run_eval(
    config: EvalConfig,
    *,
    out_dir: Path,
    model: Model,
    sandbox: Sandbox,
    concurrency: int = 8,
    on_start: Callable[[int, int], None] | None = None,
    on_record: Callable[[ProblemRecord, Progress], None] | None = None,
    library: ToolLibrary | None = None,
    save_tools: bool = False,
) -> dict[str, Any]:
    """Evaluate ``config`` into ``out_dir`` and return the summary (also in summary.json).

    ``library`` is the tool library used when ``config.reuse_tools`` or ``save_tools`` (the
    caller closes it); reusing implies saving.
    """
    if concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    _check(config, model=model, library=library, save=save_tools)
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
    replay = bool(getattr(model, "replay", False))
    if replay and any(p.reference is None for p in problems):
        raise InputError(
            f"the reference replay has no recorded solutions for {config.dataset}: "
            "it replays the creation and transfer datasets only"
        )
    if library is not None and (config.reuse_tools or save_tools):
        await asyncio.to_thread(library.count)  # a bad library file fails here, not mid-run
    is_transfer = config.dataset == TRANSFER_DATASET
    variants = TOOL_METHODS.get(config.method)
    if is_transfer:
        jobs, added = plan(problems, transfer_arm=variants is not None)
    else:
        jobs, added = [Job(p) for p in problems], 0
    _claim(out_dir, config)
    results = ResultsFile(out_dir / "results.jsonl")
    records = results.load()
    if is_transfer:
        records = as_control(records)
    todo = [j for j in jobs if j.key not in records or not records[j.key].finished]
    skipped = len(jobs) - len(todo)
    if on_start is not None:
        on_start(len(jobs), skipped)

    method, options = METHODS[config.method], config.stage_options()
    tools = None
    if library is not None and (config.reuse_tools or save_tools):
        tools = ToolReuse(
            library,
            save=save_tools,
            reuse=config.reuse_tools,
            k=config.reuse_k,
            offer_unverified=config.offer_unverified,
        )
    selected = {j.key for j in jobs}
    counters = {"done": skipped, "correct": 0, "tokens": 0, "model_errors": 0}
    for key, record in records.items():
        if key in selected and record.finished:
            counters["correct"] += record.correct
            counters["tokens"] += record.tokens.total
    pending = {j.key for j in todo}
    ready = {j.source_key: asyncio.Event() for j in todo if j.source_key in pending}
    limit = asyncio.Semaphore(concurrency)
    start = time.perf_counter()

    async def attempt(job: Job) -> tuple[Result, tuple[ToolRecord, ...]]:
        problem = job.problem
        if job.source_key is not None:
            assert variants is not None
            source = records[job.source_key]
            if source.tool_code is None:
                result = missing_tool(
                    problem,
                    source=source,
                    method=config.method,
                    model=model.name,
                    sandbox=sandbox.isolation,
                )
                return result, ()
            recorded = problem.reference.tool if problem.reference else None
            if replay and (recorded or "").strip() != source.tool_code.strip():
                raise InputError(
                    f"the reference replay cannot decide {problem.id} with the tool of "
                    f"{source.id}: it only replays solutions written for the recorded tool"
                )
            result = await variants.given_tool(
                problem,
                tool=source.tool_code,
                model=model,
                sandbox=sandbox,
                options=options,
                tool_from=source.id,
            )
            return result, ()
        if tools is not None and variants is not None:
            offered = await tools.offer(problem)
            result = await variants.reusing(
                problem, model=model, sandbox=sandbox, options=options, offered=offered
            )
            return result, offered
        return await method(problem, model=model, sandbox=sandbox, options=options), ()

    async def solve(job: Job) -> ProblemRecord:
        result, offered = await attempt(job)
        if replay:
            result = result.model_copy(update={"replay": True})
        if job.problem.answer_kind == "math":
            strict, paper = await asyncio.to_thread(score, result)
        else:
            strict, paper = score(result)
        correct = paper if config.scoring == "paper" else strict
        if tools is not None and job.arm != "transfer":
            await tools.settle(result, offered=offered, correct=strict)
        return ProblemRecord.of(
            result,
            dataset=config.dataset,
            correct=correct,
            strict=strict,
            paper=paper,
            arm=job.arm,
        )

    async def run(job: Job) -> None:
        if job.source_key in ready:
            await ready[job.source_key].wait()
        if job.source_key is not None:
            source = records.get(job.source_key)
            if source is None or not source.finished:
                return  # scenario 1 failed on the model side: left for the next run
        async with limit:
            record = await solve(job)
        results.append(record)
        records[record.key] = record
        if record.key in ready:
            ready[record.key].set()
        counters["done"] += 1
        counters["correct"] += record.correct
        counters["tokens"] += record.tokens.total
        counters["model_errors"] += not record.finished
        if on_record is not None:
            on_record(record, Progress(total=len(jobs), skipped=skipped, **counters))

    try:
        async with asyncio.TaskGroup() as group:
            for job in todo:
                group.create_task(run(job))
    except* CreatorError as failed:
        raise failed.exceptions[0] from None  # one typed error, as from a sequential run
    finally:
        summary = summarize(
            (records[j.key] for j in jobs if j.key in records),
            config=config,
            selected=sum(j.arm != "transfer" for j in jobs),
            wall_time_s=time.perf_counter() - start,
            sandbox=sandbox.isolation,
            extra={
                "concurrency": concurrency,
                "resumed_from": skipped,
                "math_check_timeouts": checker_stats().timeouts,
            },
            transfer_arm=variants is not None,
            added_scenario1=added,
            save_tools=tools is not None and tools.save,
        )
        ResultsFile.dump_json(out_dir / "summary.json", summary)
    return summary
