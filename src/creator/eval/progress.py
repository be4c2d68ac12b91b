"""What a running evaluation tells its watchers: counters after each finished problem and each
retried request, for progress displays.

:class:`Tally` keeps the counters as the runner keeps records and hears of retries;
:class:`Progress` is a snapshot of them. :class:`RetryReporter` is the model as a run's
problems see it: every call's context carries the run's retry observer, so the backend's
retries (:class:`~creator.models.base.RetryNotice`) reach the tally while they happen, with no
global state. Tokens follow :mod:`creator.eval.tokens`, so the last snapshot of a run agrees
with its ``summary.json``. Deliberately left out: showing anything (the CLI's
:mod:`creator.cli.progress`) and rates or ETAs (they need a clock; displays keep their own).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from creator.eval.records import ProblemRecord
from creator.eval.tokens import RunTokens
from creator.models.base import (
    CallContext,
    Completion,
    GenerationSettings,
    Message,
    Model,
    RetryNotice,
    RetryObserver,
)

__all__ = ["Progress", "RetryReporter", "Tally", "one_line"]

ERROR_CHARS = 300
"""The longest ``last_error`` kept (displays clip it further)."""


def one_line(text: str | None, limit: int = ERROR_CHARS) -> str | None:
    """``text`` on one line, clipped to ``limit`` characters (None stays None)."""
    if text is None:
        return None
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


@dataclass(frozen=True, slots=True)
class Progress:
    """The run so far (for progress displays).

    ``done`` of ``total`` problems have a record, ``skipped`` of them from earlier runs;
    ``correct`` and ``tokens`` are over the latest record of each selected problem (both arms
    of a Tool Transfer run); ``model_errors`` counts this run's problems that ended
    ``model_error`` (transient or refused); ``retries`` the requests the model backend sent
    again; ``last_error`` is the last failure heard of (a retry's or a problem's), one line;
    ``unscored`` counts the records whose problem has no answer to check (rows of a user's
    dataset without one), which an accuracy leaves out.
    """

    done: int
    total: int
    correct: int
    tokens: int
    model_errors: int
    skipped: int
    retries: int = 0
    last_error: str | None = None
    unscored: int = 0

    @property
    def accuracy(self) -> float | None:
        """Right answers among the finished problems that have an answer to check."""
        scored = self.done - self.unscored
        return self.correct / scored if scored > 0 else None


class Tally:
    """The counters behind :class:`Progress`, kept by the runner.

    ``records`` are those found when the run starts; those whose key is not in ``keys`` (the
    run's jobs) are ignored.
    """

    def __init__(
        self, *, total: int, keys: Iterable[str], records: Iterable[ProblemRecord]
    ) -> None:
        self._keys = frozenset(keys)
        self.total = total
        self.skipped = 0
        self.done = 0
        self.model_errors = 0
        self.retries = 0
        self.last_error: str | None = None
        self._tokens = RunTokens()
        self._correct: dict[str, bool] = {}
        self._right = 0
        self._unscored: set[str] = set()
        for record in records:
            self.keep(record)

    def keep(self, record: ProblemRecord) -> None:
        """Count ``record`` in place of the earlier record of its key (tokens, correct)."""
        if record.key in self._keys:
            self._tokens.keep(record)
            self._right += record.correct - self._correct.get(record.key, False)
            self._correct[record.key] = record.correct
            if not record.scored:
                self._unscored.add(record.key)

    def begin(self, skipped: int) -> Progress:
        """The run starts with ``skipped`` problems already finished."""
        self.skipped = self.done = skipped
        return self.snapshot()

    def finished(self, record: ProblemRecord) -> Progress:
        """A problem of this run got its record (already :meth:`kept <keep>`)."""
        self.done += 1
        if record.status == "model_error":
            self.model_errors += 1
            self.last_error = one_line(record.error) or "model error"
        return self.snapshot()

    def retried(self, notice: RetryNotice) -> Progress:
        """The model backend is sending a failed request again."""
        self.retries += 1
        self.last_error = one_line(f"retrying: {notice.error}")
        return self.snapshot()

    def snapshot(self) -> Progress:
        return Progress(
            done=self.done,
            total=self.total,
            correct=self._right,
            tokens=self._tokens.tokens.total,
            model_errors=self.model_errors,
            skipped=self.skipped,
            retries=self.retries,
            last_error=self.last_error,
            unscored=len(self._unscored),
        )


class RetryReporter:
    """``model`` with ``on_retry`` in the context of every call (after any observer the
    context already had). Other attributes are the wrapped model's; closing is its owner's."""

    def __init__(self, model: Model, on_retry: RetryObserver) -> None:
        self._model = model
        self._on_retry = on_retry

    @property
    def name(self) -> str:
        return self._model.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    async def generate(
        self,
        messages: Sequence[Message],
        *,
        settings: GenerationSettings,
        context: CallContext | None = None,
    ) -> Completion:
        if context is not None:
            earlier, ours = context.on_retry, self._on_retry

            def observe(notice: RetryNotice) -> None:
                if earlier is not None:
                    earlier(notice)
                ours(notice)

            context = context.model_copy(update={"on_retry": observe})
        return await self._model.generate(messages, settings=settings, context=context)

    async def aclose(self) -> None:
        return None
