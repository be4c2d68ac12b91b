"""One problem's work, as a value: what a solver is given (:class:`Task`) and what it gives
back (:class:`Outcome`), and :func:`perform`, which does it with a model and a sandbox.

The split is what lets the same work run in the evaluation's own process or in a Ray actor on
another machine (:mod:`creator.cluster`): everything the driver alone holds is decided before
the task leaves it (the tools retrieved from the library, the source tool of a Tool Transfer
job) and everything after it comes back (the record, the library write), so both values are
plain, picklable data. A model failure travels as a :class:`Failure` (its kind and message),
not as the exception, and is rebuilt where the run decides what it means.

Deliberately left out: choosing which problems to solve, retries of failed problems and
writing records (the runner's), and where the task runs (the caller's).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from creator.errors import CreatorError, ModelContextError, ModelError
from creator.eval.crashes import internal_result
from creator.eval.failures import FAILURE_TYPES, ModelWatch, RunStop, Stopped, kind_of
from creator.eval.progress import RetryReporter
from creator.eval.records import ErrorKind, Vote
from creator.eval.sampling import Sampling, Scored, attempt_options, sample
from creator.eval.scoring import score
from creator.eval.transfer import Job
from creator.methods import CODELESS_METHODS, METHODS, TOOL_METHODS
from creator.models.base import Model, RetryNotice
from creator.models.replicas import endpoint_stats
from creator.sandbox import start_early
from creator.sandbox.base import Sandbox
from creator.stages.common import StageOptions
from creator.tools.records import ToolRecord
from creator.trace import Result

__all__ = [
    "DEFAULT_CONCURRENCY",
    "Backend",
    "Failure",
    "LocalBackend",
    "Outcome",
    "Task",
    "perform",
]

DEFAULT_CONCURRENCY = 8
"""Problems in flight in a run on one machine, unless ``--concurrency`` says otherwise."""


@dataclass(frozen=True, kw_only=True)
class Task:
    """One job as a solver needs it. ``tool`` is the given tool of a Tool Transfer job (from
    the control record of ``job.tool_from``); ``offered`` the library tools retrieved for it
    (None: the run reuses no tools)."""

    job: Job
    method: str
    tool: str | None = None
    offered: tuple[ToolRecord, ...] | None = None
    replay: bool = False
    sampling: Sampling | None = None
    """Several attempts and a vote (``--samples K``); None: one attempt."""


@dataclass(frozen=True, kw_only=True)
class Failure:
    """A problem's last model failure, as data: its kind, its message and, for a prompt too
    long for the server's context, the token counts."""

    kind: ErrorKind | Literal["stopped"]
    message: str
    needed: int | None = None
    available: int | None = None

    @staticmethod
    def of(error: ModelError) -> Failure:
        if isinstance(error, Stopped):
            return Failure(kind="stopped", message=str(error))
        context = error if isinstance(error, ModelContextError) else None
        return Failure(
            kind=kind_of(error),
            message=str(error),
            needed=context.needed if context is not None else None,
            available=context.available if context is not None else None,
        )

    def error(self) -> ModelError:
        """The typed error again (the class its kind stands for)."""
        if self.kind == "context":
            return ModelContextError(self.message, needed=self.needed, available=self.available)
        return FAILURE_TYPES.get(self.kind, ModelError)(self.message)


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What solving a task gave: the result and its scores (strict and paper rules), the
    last model failure (if any), whether the attempt was cut short because the run stopped
    (then nothing was learnt: it gets no record), and the retries its requests needed."""

    result: Result
    strict: bool
    paper: bool
    failure: Failure | None = None
    cut_short: bool = False
    internal: bool = False
    """The attempt raised something unexpected (a bug of ours): the result says what."""
    retries: tuple[RetryNotice, ...] = ()
    samples: tuple[Scored, ...] = ()
    """A sampled task's attempts (``result`` is the chosen one, or the one that failed)."""
    vote: Vote | None = None


async def perform(
    task: Task,
    *,
    model: Model,
    sandbox: Sandbox,
    options: StageOptions,
    stop: RunStop,
    on_retry: Callable[[RetryNotice], None] | None = None,
) -> Outcome:
    """Solve and score ``task`` with ``model`` and ``sandbox``. A fatal model failure sets
    ``stop`` (cutting short the other calls sharing it); ``on_retry`` is told of each retry as
    it happens (else the retries come back in the outcome). A :class:`CreatorError` (a
    configuration the run cannot go on with) is raised; any other exception becomes an
    ``internal`` outcome."""
    retries: list[RetryNotice] = []
    watch = ModelWatch(RetryReporter(model, on_retry or retries.append), stop)
    job = task.job

    async def attempt(index: int) -> tuple[Result, bool, bool]:
        chosen = attempt_options(options, index)
        result = await _solve(task, model=watch, sandbox=sandbox, options=chosen)
        if task.replay:
            result = result.model_copy(update={"replay": True})
        if job.problem.answer_kind == "math":
            strict, paper = await asyncio.to_thread(score, result)
        else:
            strict, paper = score(result)
        return result, strict, paper

    samples: list[Scored] = []
    vote = None
    try:
        if task.sampling is None:
            result, strict, paper = await attempt(0)
        else:
            kind = job.problem.answer_kind
            samples, vote = await sample(attempt, sampling=task.sampling, kind=kind)
            picked = _picked(samples, vote, failure=watch.failure)
            result, strict, paper = picked.result, picked.strict, picked.paper
    except CreatorError:
        raise
    except Exception as exc:
        result = internal_result(
            job, exc, method=task.method, model=model.name, sandbox=sandbox.isolation
        )
        return Outcome(result=result, strict=False, paper=False, internal=True)
    failure = Failure.of(watch.failure) if watch.failure is not None else None
    return Outcome(
        result=result,
        strict=strict,
        paper=paper,
        failure=failure,
        cut_short=result.status == "model_error" and watch.cut_short,
        retries=tuple(retries),
        samples=tuple(samples),
        vote=vote,
    )


def _picked(samples: list[Scored], vote: Vote, *, failure: Exception | None) -> Scored:
    """The attempt a sampled problem's record is: one that failed on the model side (the
    problem is retried), the one whose failure the run tells of (``failure``: the last, whose
    kind the record gets) if it can; else the vote's choice, else (no answer at all) the
    first."""
    failed = [s for s in samples if s.result.status == "model_error"]
    if failed:
        told = [s for s in failed if failure is not None and s.result.error == str(failure)]
        return (told or failed)[-1 if told else 0]
    return samples[vote.chosen if vote.chosen is not None else 0]


class Backend(Protocol):
    """Where an evaluation's tasks are performed: this process (:class:`LocalBackend`) or a
    Ray cluster (:class:`creator.cluster.RayBackend`). The runner calls :meth:`open` once,
    when there is work to do, before the endpoint's probe (so that workers warm up during it)."""

    @property
    def isolation(self) -> str:
        """The sandbox isolation the tasks run under."""
        ...

    @property
    def concurrency(self) -> int:
        """The problems in flight a run holds unless told otherwise (known once open)."""
        ...

    async def open(
        self, *, method: str, options: StageOptions, note: Callable[[str], None]
    ) -> None: ...

    async def perform(self, task: Task, *, stop: RunStop) -> Outcome | None:
        """The task's outcome; None when ``stop`` was set while it was in flight."""
        ...

    def facts(self) -> dict[str, Any]:
        """What the summary says about where the run went (merged into it)."""
        ...


class LocalBackend:
    """Tasks performed here, with the run's model and sandbox (retries told as they happen)."""

    def __init__(
        self, *, model: Model, sandbox: Sandbox, on_retry: Callable[[RetryNotice], None]
    ) -> None:
        self._model = model
        self._sandbox = sandbox
        self._on_retry = on_retry
        self._options: StageOptions | None = None

    @property
    def isolation(self) -> str:
        return self._sandbox.isolation

    @property
    def concurrency(self) -> int:
        return DEFAULT_CONCURRENCY

    async def open(
        self, *, method: str, options: StageOptions, note: Callable[[str], None]
    ) -> None:
        self._options = options
        if method not in CODELESS_METHODS:
            start_early(self._sandbox, note=note)  # workers warm up during the first requests

    async def perform(self, task: Task, *, stop: RunStop) -> Outcome | None:
        assert self._options is not None, "open() first"
        return await perform(
            task,
            model=self._model,
            sandbox=self._sandbox,
            options=self._options,
            stop=stop,
            on_retry=self._on_retry,
        )

    def facts(self) -> dict[str, Any]:
        endpoints = endpoint_stats(self._model)
        return {"endpoints": endpoints} if endpoints is not None else {}


async def _solve(task: Task, *, model: Model, sandbox: Sandbox, options: StageOptions) -> Result:
    problem = task.job.problem
    variants = TOOL_METHODS.get(task.method)
    if task.tool is not None:
        assert variants is not None
        return await variants.given_tool(
            problem,
            tool=task.tool,
            model=model,
            sandbox=sandbox,
            options=options,
            tool_from=task.job.tool_from,
        )
    if task.offered is not None and variants is not None:
        return await variants.reusing(
            problem, model=model, sandbox=sandbox, options=options, offered=task.offered
        )
    return await METHODS[task.method](problem, model=model, sandbox=sandbox, options=options)
