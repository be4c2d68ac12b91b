"""Model failures during an evaluation: what kind each is, which stop the run, what to say.

Every model failure of a problem has a kind (:data:`~creator.eval.records.ErrorKind`):

- **refused** (``request``, ``context``): the server refused the request itself (400, 413,
  422), or the prompt does not fit its context. Sending it again cannot help, so the record is
  final; a later run re-sends *one* of them first to see whether the server changed;
- **fatal to the run** (``auth``, ``not_found``, ``connection`` after the client's retries):
  every other problem would fail the same way, so the run stops dispatching, the calls in
  flight are cut short, and the problem gets no record (it is solved by the next run);
- **transient** (``timeout``, ``rate_limit``, ``response``, ``model``; ``internal`` for an
  unexpected exception of ours inside one problem): recorded, and retried by the next run.

:class:`ModelWatch` is the model as one problem sees it: it remembers the problem's last
failure (the methods only keep its message) and cuts calls short once :class:`RunStop` is set.
Deliberately left out: stopping after many transient failures in a row (a server that times
out on every request still costs a timeout per problem).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from creator.errors import (
    ModelAuthError,
    ModelConnectionError,
    ModelContextError,
    ModelError,
    ModelNotFoundError,
    ModelRateLimitError,
    ModelRequestError,
    ModelResponseError,
    ModelTimeoutError,
)
from creator.eval.records import ErrorKind, ProblemRecord
from creator.eval.transfer import Job
from creator.models.base import CallContext, Completion, GenerationSettings, Message, Model

__all__ = [
    "FAILURE_TYPES",
    "FATAL_KINDS",
    "KIND_LABELS",
    "ModelWatch",
    "RunStop",
    "Stopped",
    "kind_of",
    "recheck_refused",
    "refused_error",
    "stopped_error",
    "transient_message",
]

FATAL_KINDS: frozenset[ErrorKind] = frozenset({"auth", "not_found", "connection"})
"""Failures that stop the whole run: no other problem could get through."""

KIND_LABELS: dict[str, str] = {
    "timeout": "timeouts",
    "rate_limit": "rate limiting (429)",
    "response": "server errors or unusable replies",
    "model": "model errors",
    "internal": "internal errors (a bug of ours: please report it)",
    "request": "requests the server refused",
    "context": "prompts longer than the server's context",
}

_KINDS: tuple[tuple[type[ModelError], ErrorKind], ...] = (
    (ModelContextError, "context"),
    (ModelRequestError, "request"),
    (ModelAuthError, "auth"),
    (ModelNotFoundError, "not_found"),
    (ModelConnectionError, "connection"),
    (ModelTimeoutError, "timeout"),
    (ModelRateLimitError, "rate_limit"),
    (ModelResponseError, "response"),
)

FAILURE_TYPES: dict[str, type[ModelError]] = {kind: cls for cls, kind in _KINDS}
"""The error class each kind stands for (``model``: :class:`ModelError` itself)."""


def kind_of(error: BaseException | None) -> ErrorKind:
    """The kind of a model failure (``model`` for any other or an unknown one)."""
    for cls, kind in _KINDS:
        if isinstance(error, cls):
            return kind
    return "model"


class Stopped(ModelError):
    """A model call cut short because the run stopped; never recorded."""


class RunStop:
    """Set once, by the first failure that stops the run."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.cause: ModelError | None = None

    @property
    def stopped(self) -> bool:
        return self.cause is not None

    def stop(self, cause: ModelError) -> None:
        if self.cause is None:
            self.cause = cause
            self.event.set()


class ModelWatch:
    """``model`` as one problem sees it: keeps the last failure (:attr:`failure`), stops the
    run on a fatal one, and raises :class:`Stopped` for calls made or in flight after that.

    Other attributes are the wrapped model's. Closing is left to the model's owner.
    """

    def __init__(self, model: Model, stop: RunStop) -> None:
        self._model = model
        self._stop = stop
        self.failure: ModelError | None = None

    @property
    def name(self) -> str:
        return self._model.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    @property
    def cut_short(self) -> bool:
        """Whether this problem's attempt ended because the run stopped (or stopped it)."""
        return isinstance(self.failure, Stopped) or kind_of(self.failure) in FATAL_KINDS

    async def generate(
        self,
        messages: Sequence[Message],
        *,
        settings: GenerationSettings,
        context: CallContext | None = None,
    ) -> Completion:
        if self._stop.stopped:
            raise self._stopped()
        call = asyncio.ensure_future(
            self._model.generate(messages, settings=settings, context=context)
        )
        halt = asyncio.ensure_future(self._stop.event.wait())
        try:
            await asyncio.wait({call, halt}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            halt.cancel()
            if not call.done():
                call.cancel()
                await asyncio.wait({call})  # let it unwind; its outcome is not ours to raise
        if call.cancelled():
            raise self._stopped()
        try:
            return call.result()
        except ModelError as exc:
            self.failure = exc
            if kind_of(exc) in FATAL_KINDS:
                self._stop.stop(exc)
            raise

    def _stopped(self) -> Stopped:
        self.failure = Stopped("the run stopped")
        return self.failure

    async def aclose(self) -> None:
        return None


def stopped_error(cause: ModelError, *, done: int, total: int) -> ModelError:
    """The error a stopped run ends with: the cause's own words and what was kept."""
    message = (
        f"{cause} (the run stopped: {done} of {total} problems finished and kept; run the "
        "same command again to resume)"
    )
    try:
        error = type(cause)(message)
    except TypeError:
        error = ModelError(message)
    return error


def transient_message(summary: dict[str, Any]) -> str | None:
    """One line about the problems that failed on the model side and wait for a retry."""
    count = summary.get("model_errors", 0)
    if not count:
        return None
    cause = summary.get("model_error_cause") or {}
    label = KIND_LABELS.get(str(cause.get("kind")), "model errors")
    detail = f", most often {label} ({cause.get('count', count)}"
    detail += f"; last: {cause['error']})" if cause.get("error") else ")"
    return (
        f"{count} problem(s) failed on the model side{detail}: run the same command again "
        "to retry them"
    )


def refused_error(summary: dict[str, Any]) -> ModelRequestError | None:
    """The error a run ends with when the server refused some problems' requests outright."""
    count = summary.get("request_errors", 0)
    if not count:
        return None
    kinds = summary.get("request_error_kinds") or {}
    what = ", ".join(f"{n} {KIND_LABELS.get(k, k)}" for k, n in sorted(kinds.items()))
    message = (
        f"{count} problem(s) refused by the server, kept as such ({what}); the next run "
        f"re-sends one of them first to check: {summary.get('request_error') or 'no message'}"
    )
    context = summary.get("context") or {}
    if "context" in kinds:
        return ModelContextError(
            message, needed=context.get("needed"), available=context.get("available")
        )
    return ModelRequestError(message)


async def recheck_refused(
    job: Job,
    refused: list[Job],
    *,
    solve: Callable[[Job], Awaitable[ProblemRecord | None]],
    keep: Callable[[ProblemRecord], None],
    note: Callable[[str], None],
) -> str:
    """Re-send one problem the server refused before; what happened (``still refused``,
    ``went through``, ``failed`` or ``stopped``), said in a note."""
    others = len(refused) - 1
    rest = f"the other {others}" if others != 1 else "the other one"
    note(
        f"{len(refused)} problem(s) were refused by the server before: re-sending "
        f"{job.key} first to see whether that changed"
    )
    record = await solve(job)
    if record is None:
        return "stopped"
    keep(record)
    if record.refused:
        note(f"still refused: {rest} kept as they were")
        return "still refused"
    if record.finished:
        note(f"it went through now: solving {rest} again")
        return "went through"
    note(f"it failed on the model side ({record.error}): {rest} kept as they were")
    return "failed"
