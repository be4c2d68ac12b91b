"""How ``creator eval`` shows a run while it goes: a bar on a terminal, plain lines without one,
JSON lines for programs, or nothing.

- ``bar`` (stdout is a terminal): rich's live bar with done/total, accuracy, rate, tokens,
  elapsed time and ETA; once a request was retried or a problem ended ``model_error``, their
  counts and the last error as well.
- ``lines`` (stdout is not a terminal: CI, ``nohup``, a notebook's ``!creator eval``), on
  stdout and flushed at once: ``[eval] 120/500 (24%) acc 61.7% model errors 2 retries 3 rate
  3.1/s ETA 2m03s tokens 412,330 elapsed 38s``, whenever a tenth of this invocation's problems
  finished since the last line, or ``--progress-every`` seconds passed (default 30; 0 prints a
  line per finished problem and per retry, and none on a timer), or at least 5 s (at most
  ``--progress-every``) passed since the last line and new model errors or retries came; the
  line then ends with ``last error: ...``. A last line when the run ends.
- ``json`` (``--json-progress``): the same moments, one JSON object per line on **stdout**,
  with ``event`` (``start``, ``progress``, ``done``), ``done``, ``total``, ``skipped``,
  ``correct``, ``accuracy``, ``model_errors``, ``retries``, ``last_error``, ``rate`` (problems
  per second in this invocation), ``eta_s``, ``tokens`` and ``elapsed_s``; the ``done`` object
  adds ``results`` and ``summary`` (paths) and ``wall_time_s`` (all invocations), or ``error``
  (one line) when the run ended with one. Text for people (notes, the final table) goes to
  stderr instead, so stdout holds JSON only.
- ``quiet`` (``--quiet``): nothing while the run goes.

Accuracy here is over every record so far (both arms of a Tool Transfer run); the final
table's headline is the control arm's. Tokens follow :mod:`creator.eval.tokens`, so the last
figure agrees with ``summary.json`` and ``creator report``. Deliberately left out: the final
table (:mod:`creator.cli.eval_cmd`) and any figure the runner does not count, except rates.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as Bar

from creator.cli.render import clean_text
from creator.eval.progress import Progress, one_line
from creator.eval.records import ProblemRecord
from creator.models.base import RetryNotice

__all__ = ["DEFAULT_EVERY_S", "Display", "Mode", "make_display", "pick_mode"]

Mode = Literal["bar", "lines", "json", "quiet"]
DEFAULT_EVERY_S = 30.0
"""Seconds between plain or JSON lines when nothing else makes one due."""
ERROR_GAP_S = 5.0
"""New model errors or retries make a line due once this long passed since the last one."""
STEPS = 10
"""A line each time another tenth of the invocation's problems finished."""
LINE_ERROR_CHARS = 160
BAR_ERROR_CHARS = 60


def pick_mode(*, quiet: bool, json_progress: bool, terminal: bool) -> Mode:
    if quiet:
        return "quiet"
    if json_progress:
        return "json"
    return "bar" if terminal else "lines"


def make_display(
    mode: Mode,
    *,
    console: Console,
    label: str,
    every_s: float = DEFAULT_EVERY_S,
    clock: Callable[[], float] = time.monotonic,
) -> Display:
    """The display of ``mode``; ``console`` is where people's text goes (notes, lines)."""
    if mode == "bar":
        return BarDisplay(console, label=label)
    if mode == "lines":
        return LineDisplay(console, every_s=every_s, clock=clock)
    if mode == "json":
        return JsonDisplay(console, every_s=every_s, clock=clock)
    return Display()


class Display:
    """Shows nothing (``--quiet``); the others override what they show. Use it as a context
    manager around the run."""

    def __enter__(self) -> Display:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def start(self, progress: Progress) -> None:
        """The run starts (``progress.skipped`` problems finished by earlier runs)."""

    def record(self, record: ProblemRecord, progress: Progress) -> None:
        """A problem got its record."""

    def retry(self, notice: RetryNotice, progress: Progress) -> None:
        """The model backend sends a failed request again."""

    def note(self, text: str) -> None:
        """A one-line note from the runner."""

    async def heartbeat(self) -> None:
        """Runs beside the evaluation (cancelled at its end): timed lines, if any."""

    def finish(self, summary: dict[str, Any], *, out_dir: Path) -> None:
        """The run ended and wrote ``summary``."""

    def failed(self, error: str) -> None:
        """The run ended with ``error`` (one line)."""


class BarDisplay(Display):
    """rich's live bar, on a terminal."""

    def __init__(self, console: Console, *, label: str) -> None:
        self._console = console
        self._label = label
        self._task: TaskID | None = None
        self._bar = Bar(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("acc {task.fields[acc]}  {task.fields[rate]}/s  {task.fields[tokens]} tok"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[errors]}"),
            console=console,
            transient=False,
        )

    def __enter__(self) -> Display:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def start(self, progress: Progress) -> None:
        if progress.skipped:
            self.note(f"resuming: {progress.skipped} of {progress.total} problems already finished")
        self._task = self._bar.add_task(
            self._label, total=progress.total, completed=progress.skipped, acc="-", rate="-",
            tokens="0", errors="",
        )  # fmt: skip
        self._show(progress)

    def record(self, record: ProblemRecord, progress: Progress) -> None:
        self._show(progress)

    def retry(self, notice: RetryNotice, progress: Progress) -> None:
        self._show(progress)

    def note(self, text: str) -> None:
        self._console.print(escape(text))

    def _show(self, progress: Progress) -> None:
        if self._task is None:
            return  # before the start (a re-check of refused problems): shown once it starts
        elapsed = self._bar.tasks[0].elapsed or 1e-9
        accuracy = progress.accuracy
        errors = ""
        if progress.model_errors or progress.retries:
            last = clean_text(one_line(progress.last_error, BAR_ERROR_CHARS) or "")
            errors = (
                f"[red]model errors {progress.model_errors}  retries {progress.retries}[/red]"
                f"  last: {escape(last)}"
            )
        self._bar.update(
            self._task,
            completed=progress.done,
            acc="-" if accuracy is None else f"{accuracy:.1%}",
            rate=f"{(progress.done - progress.skipped) / elapsed:.1f}",
            tokens=f"{progress.tokens:,}",
            errors=errors,
        )


class _Timed(Display):
    """Lines at chosen moments (see the module docstring); how a line looks is the subclass's."""

    def __init__(self, *, every_s: float, clock: Callable[[], float]) -> None:
        self._every_s = every_s
        self._clock = clock
        self._began = clock()
        self._progress: Progress | None = None
        self._running = False
        self._step = 1
        self._shown_at = self._began
        self._shown: tuple[int, int, int] = (0, 0, 0)  # done, model errors, retries

    def start(self, progress: Progress) -> None:
        self._began = self._shown_at = self._clock()
        self._progress = progress
        self._step = max(1, math.ceil((progress.total - progress.skipped) / STEPS))
        self._shown = self._state(progress)
        self._running = True
        self._started(progress)

    def record(self, record: ProblemRecord, progress: Progress) -> None:
        self._update(progress)

    def retry(self, notice: RetryNotice, progress: Progress) -> None:
        self._update(progress)

    async def heartbeat(self) -> None:
        if self._every_s <= 0:
            return
        while True:
            await asyncio.sleep(min(1.0, self._every_s))
            if self._running and self._due():
                self._line()

    def finish(self, summary: dict[str, Any], *, out_dir: Path) -> None:
        self._last({})

    def failed(self, error: str) -> None:
        self._last({"error": one_line(error)})

    def _update(self, progress: Progress) -> None:
        self._progress = progress
        if self._running and self._due():
            self._line()

    @staticmethod
    def _state(progress: Progress) -> tuple[int, int, int]:
        return progress.done, progress.model_errors, progress.retries

    def _due(self) -> bool:
        assert self._progress is not None
        done, errors, retries = self._state(self._progress)
        since = self._clock() - self._shown_at
        if done - self._shown[0] >= self._step or since >= self._every_s:
            return True
        fresh = (errors, retries) != self._shown[1:]
        return fresh and since >= min(ERROR_GAP_S, self._every_s)

    def _line(self) -> None:
        assert self._progress is not None
        fresh = self._state(self._progress)[1:] != self._shown[1:]
        self._shown_at = self._clock()
        self._shown = self._state(self._progress)
        self._emit("progress", self._progress, fresh=fresh)

    def _last(self, extra: dict[str, Any]) -> None:
        if not self._running or self._progress is None:
            return
        fresh = self._state(self._progress)[1:] != self._shown[1:]
        repeat = self._state(self._progress) == self._shown
        self._emit("done", self._progress, fresh=fresh, extra=extra, repeat=repeat)

    def _figures(self, progress: Progress) -> dict[str, Any]:
        elapsed = max(self._clock() - self._began, 0.0)
        finished = progress.done - progress.skipped
        rate = finished / elapsed if elapsed > 0 else 0.0
        left = progress.total - progress.done
        accuracy = progress.accuracy
        return {
            "done": progress.done,
            "total": progress.total,
            "skipped": progress.skipped,
            "correct": progress.correct,
            "accuracy": None if accuracy is None else round(accuracy, 4),
            "model_errors": progress.model_errors,
            "retries": progress.retries,
            "last_error": progress.last_error,
            "rate": round(rate, 3),
            "eta_s": 0.0 if not left else (round(left / rate, 1) if rate > 0 else None),
            "tokens": progress.tokens,
            "elapsed_s": round(elapsed, 1),
        }

    def _started(self, progress: Progress) -> None:
        raise NotImplementedError

    def _emit(
        self,
        event: str,
        progress: Progress,
        *,
        fresh: bool,
        extra: dict[str, Any] | None = None,
        repeat: bool = False,
    ) -> None:
        """Show one moment: ``repeat`` when it is the end and the last line showed it."""
        raise NotImplementedError


def duration(seconds: float | None) -> str:
    """``38s``, ``2m03s``, ``1h02m``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


class LineDisplay(_Timed):
    """Plain lines on the console's file (stdout), without a terminal."""

    def __init__(self, console: Console, *, every_s: float, clock: Callable[[], float]) -> None:
        super().__init__(every_s=every_s, clock=clock)
        self._console = console

    def note(self, text: str) -> None:
        self._write(clean_text(text))

    def _started(self, progress: Progress) -> None:
        if progress.skipped:
            self.note(f"resuming: {progress.skipped} of {progress.total} problems already finished")

    def _emit(
        self,
        event: str,
        progress: Progress,
        *,
        fresh: bool,
        extra: dict[str, Any] | None = None,
        repeat: bool = False,
    ) -> None:
        if repeat:
            return  # the last line already showed where the run ended
        f = self._figures(progress)
        share = f"{progress.done / progress.total:.0%}" if progress.total else "-"
        accuracy = "-" if f["accuracy"] is None else f"{f['accuracy']:.1%}"
        line = (
            f"[eval] {progress.done}/{progress.total} ({share}) acc {accuracy} "
            f"model errors {progress.model_errors} retries {progress.retries} "
            f"rate {f['rate']:.1f}/s ETA {duration(f['eta_s'])} tokens {progress.tokens:,} "
            f"elapsed {duration(f['elapsed_s'])}"
        )
        if fresh and progress.last_error:
            line += f" last error: {one_line(progress.last_error, LINE_ERROR_CHARS)}"
        self._write(clean_text(line))

    def _write(self, line: str) -> None:
        print(line, file=self._console.file, flush=True)


class JsonDisplay(_Timed):
    """One JSON object per line on stdout; notes go to ``console`` (stderr)."""

    def __init__(self, console: Console, *, every_s: float, clock: Callable[[], float]) -> None:
        super().__init__(every_s=every_s, clock=clock)
        self._console = console
        self._out_dir: Path | None = None
        self._wall_time_s: float | None = None

    def note(self, text: str) -> None:
        self._console.print(escape(text), soft_wrap=True)

    def finish(self, summary: dict[str, Any], *, out_dir: Path) -> None:
        self._last(
            {
                "results": str(out_dir / "results.jsonl"),
                "summary": str(out_dir / "summary.json"),
                "wall_time_s": summary.get("wall_time_s"),
            }
        )

    def failed(self, error: str) -> None:
        if self._running:
            super().failed(error)
        else:  # stopped before the first problem (the endpoint check): still one last object
            print(json.dumps({"event": "done", "error": one_line(error)}), flush=True)

    def _started(self, progress: Progress) -> None:
        self._emit("start", progress, fresh=False)

    def _emit(
        self,
        event: str,
        progress: Progress,
        *,
        fresh: bool,
        extra: dict[str, Any] | None = None,
        repeat: bool = False,
    ) -> None:
        line = json.dumps({"event": event, **self._figures(progress), **(extra or {})})
        print(line, flush=True)
