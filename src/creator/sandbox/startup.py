"""Starting a run's sandbox early: when its first model request goes out, not its first job.

A worker pool starts its workers on first use unless told otherwise; a run that first waits
on the model (a probe request, a creation call) can start them at once, so that their start
and warm-up overlap the wait (:meth:`~.pool.WorkerPool.start_background`). :func:`start_early`
does that for any sandbox (those without workers are left alone) and says so in one-line
notes: ``starting the sandbox ...`` at once, and ``sandbox ready (N workers, X s)`` once
every worker is fully warm, delivered on the caller's event loop while it runs.

Deliberately left out: how the notes are shown (the caller's), and waiting for the warm-up
(jobs take workers as they come up).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from .pool import WorkerPool

__all__ = ["start_early"]


def start_early(sandbox: object, *, note: Callable[[str], None] | None = None) -> bool:
    """Start ``sandbox``'s workers now, in the background, if it is a worker pool whose
    workers are not running yet; True if it started them (and noted it)."""
    if not isinstance(sandbox, WorkerPool):
        return False
    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        loop = None

    def ready(seconds: float) -> None:  # from a pool thread
        count = sandbox.workers
        text = f"sandbox ready ({count} worker{'' if count == 1 else 's'}, {seconds:.1f} s)"
        if note is None:
            return
        if loop is None:
            note(text)
            return
        with contextlib.suppress(RuntimeError):  # the run (and its loop) ended first
            loop.call_soon_threadsafe(note, text)

    started = sandbox.start_background(on_ready=ready)
    if started and note is not None:
        note("starting the sandbox ...")
    return started
