"""Running an evaluation: K problems in flight, each record saved as it finishes, resumable.

``run_eval`` selects the problems, skips those already finished in ``DIR/results.jsonl``,
solves the rest with ``concurrency`` problems in flight (model calls and sandbox jobs of
different problems overlap), scores each (strict and paper rules), appends its record, and
writes ``DIR/summary.json``. Presentation (progress bar, tables) is left to the caller through
``on_start``, ``on_record``, ``on_retry`` (each request the model backend sends again, as it
happens) and ``on_note`` (one-line notes); the counters are :mod:`creator.eval.progress`'s.
The summary's wall time adds this invocation's to the earlier ones' (:mod:`creator.eval.walltime`).

Model failures (see :mod:`creator.eval.failures`): before the first problem is dispatched, the
endpoint answers one tiny chat request (the model's ``probe``), so a rejected key, an unknown
model or an unreachable URL stops the run in seconds with nothing written. The same failures
in the middle of a run stop it too: no new problem is dispatched, calls in flight are cut
short and not recorded, the summary is written, and the run raises the cause (every finished
record is kept; the next run resumes). Transient failures are recorded per problem and retried
by the next run. A request the server refuses outright (a 400, a prompt too long for its
context) is recorded as final; the next run re-sends one such problem first, before any other
request, and solves all of them again only if that one now goes through. An unexpected
exception inside one problem is recorded as that problem's failure (kind ``internal``,
retried), never the end of the run.

On the Tool Transfer dataset a run has two arms (see :mod:`creator.eval.transfer`): a
transfer job starts once the control record of its group's scenario 1 exists, and is left for
the next run if that record is a model failure. With a tool library, each problem is offered
retrieved tools (``reuse_tools``) and its tool is written back after scoring (``save_tools``):
``verified`` follows the strict rule, whatever the run's scoring.

A ``budget`` (:mod:`creator.eval.budget`) is checked by each problem in its concurrency slot:
once spent, nothing new starts (no probe or re-check either) and problems in flight finish.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from creator import datasets
from creator.answers import checker_stats
from creator.datasets.files import DatasetFile
from creator.errors import InputError, OutputError
from creator.eval.budget import Budget, Spend
from creator.eval.config import EvalConfig
from creator.eval.crashes import first_error
from creator.eval.custom import custom_problems
from creator.eval.failures import FATAL_KINDS, RunStop, recheck_refused, stopped_error
from creator.eval.progress import Progress, Tally
from creator.eval.prompting import prepare_prompts
from creator.eval.records import ErrorKind, ProblemRecord, ResultsFile
from creator.eval.rundir import (
    check_settings,
    claim,
    load_config,
    refuse_other_run,
    run_lock,
    run_service,
)
from creator.eval.sampling import sample_records
from creator.eval.scoring import score
from creator.eval.summary import summarize
from creator.eval.todo import sendable, to_solve
from creator.eval.transfer import TRANSFER_DATASET, Job, as_control, missing_tool, plan
from creator.eval.walltime import earlier_wall_time
from creator.eval.work import Backend, LocalBackend, Outcome, Task
from creator.methods import TOOL_METHODS
from creator.models import preflight
from creator.models.base import Model, RetryNotice
from creator.prompts import PromptSet
from creator.sandbox.base import Sandbox
from creator.services import ToolService
from creator.tools.reuse import ToolReuse
from creator.tools.store import ToolLibrary
from creator.trace import Result

__all__ = ["Progress", "load_config", "run_eval", "score"]

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _holding_run_lock(
    run: Callable[_P, Coroutine[Any, Any, _T]],
) -> Callable[_P, Coroutine[Any, Any, _T]]:
    """``run`` with its ``out_dir`` (keyword-only) locked for the whole run: a second run on
    the same directory is refused (:func:`~creator.eval.rundir.run_lock`)."""

    @functools.wraps(run)
    async def locked(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        out_dir = kwargs["out_dir"]
        assert isinstance(out_dir, Path)
        with run_lock(out_dir):
            return await run(*args, **kwargs)

    return locked


@_holding_run_lock
async def run_eval(
    config: EvalConfig,
    *,
    out_dir: Path,
    model: Model,
    sandbox: Sandbox,
    concurrency: int | None = None,
    on_start: Callable[[Progress], None] | None = None,
    on_record: Callable[[ProblemRecord, Progress], None] | None = None,
    library: ToolLibrary | None = None,
    save_tools: bool = False,
    on_note: Callable[[str], None] | None = None,
    check_endpoint: bool = True,
    service: ToolService | None = None,
    on_retry: Callable[[RetryNotice, Progress], None] | None = None,
    prompts: PromptSet | None = None,
    dataset_file: DatasetFile | None = None,
    backend: Backend | None = None,
    budget: Budget | None = None,
) -> dict[str, Any]:
    """Evaluate ``config`` into ``out_dir`` and return the summary (also in summary.json).

    ``library`` is the tool library used when ``config.reuse_tools`` or ``save_tools`` (the
    caller closes it); reusing implies saving. ``check_endpoint`` sends the model's probe
    (and the computation service's, for ``tooluse``) before the first problem, when there is
    work to do. ``service`` is the ``tooluse`` method's computation service (default: the one
    ``config.tool_service`` names, built from the environment). ``prompts`` are the run's
    templates and demonstrations (default: the built-in ones; their hashes go into the config,
    and ``--examples`` rows run first: see :mod:`creator.eval.prompting`). ``dataset_file`` is
    the user's dataset file as the caller has just read it (to check it), taken instead of
    reading it again when it is unchanged (see :mod:`creator.eval.custom`). ``concurrency``
    is the number of problems in flight (default: the backend's suggestion). ``backend`` is
    where the problems are solved (default: here, with ``model`` and ``sandbox``; a Ray
    cluster: :class:`creator.cluster.RayBackend`); ``model`` still answers the endpoint's
    probe and ``sandbox`` still runs ``--examples``. A failure that stops the run is raised
    after the summary is written; a spent ``budget`` is not a failure (the summary says it).
    """
    if concurrency is not None and concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    check_settings(config, model=model, library=library, save=save_tools)
    replay = bool(getattr(model, "replay", False))
    if budget is not None:  # a cost budget needs every model's price: refused before anything
        budget.check(models=(model.name, config.creation_model), replay=replay)
    service = run_service(config, service)
    config, own = custom_problems(config, read=dataset_file)  # a user's dataset file
    config, prompts = await prepare_prompts(config, prompts, sandbox=sandbox)
    problems = datasets.select(config.dataset, problems=own, **config.selection())
    if not problems:
        raise InputError("no problems match the filters")
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
    results = ResultsFile(out_dir / "results.jsonl")

    def load(*, repair: bool) -> dict[str, ProblemRecord]:
        found = results.load(repair=repair)
        return as_control(found) if is_transfer else found

    refuse_other_run(out_dir, config)
    records = load(repair=False)
    refused = [j for j in jobs if j.key in records and records[j.key].refused]
    refused_keys = {j.key for j in refused}
    recheck = next((j for j in refused if sendable(j, records)), None)
    spent_out = budget is not None and _spend(budget, jobs, records).reached is not None
    recheck = None if spent_out else recheck  # nothing will be sent: no re-check, no probe
    unfinished = not spent_out and any(
        j.key not in records or not records[j.key].finished for j in jobs
    )
    options = config.stage_options(service=service, prompts=prompts)

    def retried(notice: RetryNotice) -> None:
        progress = tally.retried(notice)
        if on_retry is not None:
            on_retry(notice, progress)

    def note(text: str) -> None:
        if on_note is not None:
            on_note(text)

    if backend is None:
        backend = LocalBackend(model=model, sandbox=sandbox, on_retry=retried)
    if unfinished or recheck is not None:  # e.g. sandbox workers warm up during the probe
        await backend.open(method=config.method, options=options, note=note)
    if check_endpoint and unfinished and recheck is None:
        line = await preflight.probe(model, config.settings)
        if line is not None:
            note(f"endpoint: {line}")
        probe = getattr(service, "probe", None)
        if probe is not None:
            await probe()
    earlier_s = earlier_wall_time(out_dir)
    claim(out_dir, config)
    records = load(repair=True)
    tally = Tally(total=len(jobs), keys=(j.key for j in jobs), records=records.values())
    spend = _spend(budget, jobs, records) if budget is not None else None
    told = spend is not None and spend.reached is not None  # the budget's note, said once

    tools = None
    if library is not None and (config.reuse_tools or save_tools):
        tools = ToolReuse(
            library,
            save=save_tools,
            reuse=config.reuse_tools,
            k=config.reuse_k,
            offer_unverified=config.offer_unverified,
            maker=config.creation_model or config.model,
        )
    stop = RunStop()
    task = functools.partial(Task, method=config.method, replay=replay, sampling=config.sampling())
    concurrency = concurrency or backend.concurrency
    limit = asyncio.Semaphore(concurrency)
    start = time.perf_counter()
    skipped = 0
    ready: dict[str, asyncio.Event] = {}
    extra: dict[str, Any] = {}

    async def task_of(job: Job) -> Task | Result:
        """What solving ``job`` needs from here, or its result when it needs nothing more."""
        problem = job.problem
        if job.source_key is None:
            offered = None
            if tools is not None and variants is not None:
                offered = await tools.offer(problem)
            return task(job=job, offered=offered)
        source = records[job.source_key]
        if source.tool_code is None:
            return missing_tool(
                problem,
                source=source,
                method=config.method,
                model=model.name,
                sandbox=backend.isolation,
            )
        recorded = problem.reference.tool if problem.reference else None
        if replay and (recorded or "").strip() != source.tool_code.strip():
            raise InputError(
                f"the reference replay cannot decide {problem.id} with the tool of "
                f"{source.id}: it only replays solutions written for the recorded tool"
            )
        return task(job=job, tool=source.tool_code)

    async def outcome_of(job: Job) -> Outcome | None:
        prepared = await task_of(job)
        if isinstance(prepared, Result):
            strict, paper = score(prepared)
            return Outcome(result=prepared, strict=strict, paper=paper)
        outcome = await backend.perform(prepared, stop=stop)
        settled = outcome is not None and not (outcome.internal or outcome.cut_short)
        if settled and tools is not None and job.arm != "transfer":
            assert outcome is not None
            offered = prepared.offered or ()
            await tools.settle(outcome.result, offered=offered, correct=outcome.strict)
        return outcome

    async def solve(job: Job) -> ProblemRecord | None:
        """The record of ``job``, or None when the run stopped under it."""
        outcome = await outcome_of(job)
        if outcome is None:
            return None
        for notice in outcome.retries:  # from elsewhere: told as they arrive
            retried(notice)
        failure = outcome.failure
        if failure is not None and failure.kind in FATAL_KINDS:
            stop.stop(failure.error())
        if outcome.cut_short:
            return None  # the run stopped: nothing was learnt about this problem
        result = outcome.result
        kind: ErrorKind | None = "internal" if outcome.internal else None
        if result.status == "model_error" and kind is None:
            kind = failure.kind if failure is not None and failure.kind != "stopped" else "model"
        context = failure if kind == "context" and failure is not None else None
        return ProblemRecord.of(
            result,
            dataset=config.dataset,
            correct=outcome.paper if config.scoring == "paper" else outcome.strict,
            strict=outcome.strict,
            paper=outcome.paper,
            arm=job.arm,
            error_kind=kind,
            context_needed=context.needed if context is not None else None,
            context_available=context.available if context is not None else None,
            samples=sample_records(
                outcome.samples,
                paper=config.scoring == "paper",
                creation_model=config.creation_model,
            ),
            vote=outcome.vote,
            creation_model=config.creation_model,
        )

    def keep(record: ProblemRecord) -> None:
        nonlocal told
        results.append(record)
        records[record.key] = record
        tally.keep(record)
        if spend is not None:  # checked after each record: the next dispatch sees it
            spend.keep(record)
            if not told and (line := spend.note()) is not None:
                told = True
                note(line)

    async def run(job: Job) -> None:
        try:
            if job.source_key in ready:
                await ready[job.source_key].wait()
            if job.source_key is not None and not sendable(job, records):
                if spend is not None and job.source_key not in records:
                    spend.held_back += 1  # scenario 1 was held back by the budget
                return  # scenario 1 failed on the model side: left for the next run
            async with limit:
                if stop.stopped:
                    return
                if spend is not None and spend.reached is not None:
                    spend.held_back += 1  # in the slot: problems queued behind it never start
                    return
                record = await solve(job)
            if record is None:
                return
            keep(record)
            progress = tally.finished(record)
            if on_record is not None:
                on_record(record, progress)
        finally:
            if job.key in ready:
                ready[job.key].set()

    completed = False  # False while an error is on its way out: it is the one to raise
    try:
        if recheck is not None:
            outcome = await recheck_refused(recheck, refused, solve=solve, keep=keep, note=note)
            extra["recheck"] = {"problem": recheck.key, "outcome": outcome}
        if not stop.stopped:
            again = extra.get("recheck", {}).get("outcome") == "went through"
            todo = to_solve(jobs, records, rechecked=recheck, refused=refused_keys, again=again)
            skipped = len(jobs) - len(todo)
            begun = tally.begin(skipped)
            pending = {j.key for j in todo}
            ready.update({j.source_key: asyncio.Event() for j in todo if j.source_key in pending})
            if on_start is not None:
                on_start(begun)
            async with asyncio.TaskGroup() as group:
                for job in todo:
                    group.create_task(run(job))
        completed = True
    except BaseExceptionGroup as failed:
        raise first_error(failed) from None  # one error, as from a sequential run
    finally:
        this_run_s = time.perf_counter() - start
        if spend is not None:
            extra["budget"] = spend.block(done=_finished(jobs, records), total=len(jobs))
        summary = summarize(
            (records[j.key] for j in jobs if j.key in records),
            config=config,
            selected=sum(j.arm != "transfer" for j in jobs),
            wall_time_s=earlier_s + this_run_s,
            wall_time_this_run_s=this_run_s,
            sandbox=backend.isolation,
            extra={
                "concurrency": concurrency,
                "resumed_from": skipped,
                "math_check_timeouts": checker_stats().timeouts,
                # temperature not sent, max_tokens sent as max_completion_tokens, ...
                "request_adaptations": preflight.adaptations(model),
                **backend.facts(),
                **extra,
            },
            transfer_arm=variants is not None,
            added_scenario1=added,
            save_tools=tools is not None and tools.save,
            prices=budget.prices if budget is not None else None,
        )
        try:
            ResultsFile.dump_json(out_dir / "summary.json", summary)
        except OutputError:
            if completed:  # else the error on its way (a record not written) says more
                raise
    if stop.cause is not None:
        raise stopped_error(stop.cause, done=_finished(jobs, records), total=len(jobs))
    return summary


def _finished(jobs: list[Job], records: dict[str, ProblemRecord]) -> int:
    """How many of ``jobs`` have a finished record (a retried model failure has not)."""
    return sum(1 for j in jobs if j.key in records and records[j.key].finished)


def _spend(budget: Budget, jobs: list[Job], records: dict[str, ProblemRecord]) -> Spend:
    """What the run of ``jobs`` has spent against ``budget`` (earlier invocations included)."""
    return budget.spend(records[j.key] for j in jobs if j.key in records)
