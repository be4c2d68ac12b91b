"""Warming up a worker pool in the background, and choosing the warmest worker for a job.

The part of :class:`~.pool.WorkerPool` that decides when its workers take warm-up steps (see
:mod:`warmup` for what a step is): in the background only while the pool is idle (no job runs
or waits, and none ended in the last :data:`PAUSE_S`; before the first job it is idle), one
worker of the pool at a time (the *turn*; before the pool's first job, while the host only
waits for the model's first replies, every worker at once), the least warm first, never the
warmest of a kind while another of its kind could take the step (that one is kept free for
the next job), and a busy worker anyway every :data:`STEP_EVERY` jobs; and, for a job, which
free worker takes it (the one with most of the heavy units it imports) and which units that
worker imports first.
Also :meth:`WarmUp.start_background`, and the call that says when every worker is warm.

Deliberately left out: running jobs, and starting or replacing workers (the pool's; this
class uses its ``_replace``, ``_groups`` and state, declared below).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .handle import WorkerGone, WorkerHandle
from .launch import LaunchSpec
from .warmup import heavy_units

__all__ = ["PAUSE_S", "STEP_EVERY", "Group", "WarmUp", "WorkerKind"]

log = logging.getLogger("creator.sandbox")

STEP_EVERY = 16
"""A worker that has served this many jobs since its last warm-up step takes one even
while jobs wait, so that a busy pool still gets warm."""
PAUSE_S = 0.5
"""Idle for this long after a job, the pool takes warm-up steps again (a run between two
model calls is not idle: a step then would hold up its next jobs)."""


@dataclass(frozen=True)
class WorkerKind:
    """How to start one kind of worker, how many, and what it warms up."""

    make_spec: Callable[[], LaunchSpec]
    count: int
    warm: Sequence[str] = ()


class Group:
    """The workers of one kind, the free ones among them, and the jobs waiting for one."""

    def __init__(self, kind: WorkerKind, launcher: ThreadPoolExecutor) -> None:
        self.warm = list(kind.warm)
        self.units = heavy_units(self.warm)  # what a job may have to wait for
        self.workers = [WorkerHandle(kind.make_spec, launcher) for _ in range(kind.count)]
        self.free: queue.SimpleQueue[WorkerHandle] = queue.SimpleQueue()
        self.waiting = 0  # jobs waiting for a free worker of this group
        for worker in self.workers:
            self.free.put(worker)


class WarmUp:
    """Background warm-up and warm-worker choice for :class:`~.pool.WorkerPool`."""

    _workers: list[WorkerHandle]
    _busy: int
    _idle_since: float
    _busy_lock: threading.Lock
    _closed: bool
    _startup_timeout: float
    _replacer: ThreadPoolExecutor

    def _init_warm_up(self) -> None:
        self._began: float | None = None  # when start_background was called
        self._turn = threading.Lock()  # held by the worker taking a background warm-up step
        self._timer: threading.Timer | None = None  # the next _pass_turn, after a pause
        self._stepped: dict[int, int] = {}  # each worker's job count at its last step
        self._on_ready: Callable[[float], None] | None = None
        self._ready_lock = threading.Lock()

    def _groups(self) -> list[Group]:
        raise NotImplementedError

    def _replace(self, group: Group, worker: WorkerHandle) -> None:
        raise NotImplementedError

    def _ensure_started(self, worker: WorkerHandle, need: Sequence[str] = ()) -> None:
        raise NotImplementedError

    def _quiet(self) -> bool:
        """No job runs or waits for a worker, and none ended in the last :data:`PAUSE_S`
        (a run between two model calls is not idle: a step would hold up its next jobs).
        When the pause is yet to come, :meth:`_pass_turn` is called again at its end."""
        if self._busy or any(group.waiting for group in self._groups()):
            return False
        wait = self._idle_since + PAUSE_S - time.monotonic() if self._idle_since else 0.0
        if wait > 0 and not self._closed:
            with self._busy_lock:
                if self._timer is None or not self._timer.is_alive():
                    self._timer = threading.Timer(wait, self._pass_turn)
                    self._timer.daemon = True
                    self._timer.start()
        return wait <= 0

    def _pass_turn(self) -> None:
        """Let a free worker with warm-up steps left take them, unless one is taking its
        step now or the pool is not quiet (then once it is)."""
        if self._closed or not any(w.warming and w.alive for w in self._workers):
            return  # (the common case, once every worker is warm)
        if self._turn.locked() or not self._quiet():
            return
        for group in self._groups():
            taken: list[WorkerHandle] = []
            with contextlib.suppress(queue.Empty):
                while True:
                    taken.append(group.free.get_nowait())
            # The least warm first, and never the group's warmest while another could take
            # the step: that one is kept free for the next job, which may need what it has.
            warming = [w for w in taken if w.warming and w.alive]
            chosen = min(warming, key=lambda w: len(w.warm), default=None)
            if chosen is not None and not any(
                w is not chosen and w.alive and len(w.warm) >= len(chosen.warm)
                for w in group.workers
            ):
                chosen = None if len(group.workers) > 1 else chosen
            for worker in taken:
                if worker is not chosen:
                    group.free.put(worker)
            if chosen is not None:
                try:
                    self._replacer.submit(self._replace, group, chosen)
                except RuntimeError:  # closed meanwhile
                    group.free.put(chosen)
                return

    def _report_ready(self) -> None:
        """Call ``on_ready`` once every worker is alive and fully warm."""
        with self._ready_lock:
            if self._on_ready is None or self._began is None or self._closed:
                return
            if any(w.warming or not w.alive for w in self._workers):
                return
            on_ready, self._on_ready = self._on_ready, None
        on_ready(time.monotonic() - self._began)

    def start_background(self, *, on_ready: Callable[[float], None] | None = None) -> bool:
        """Start every worker now, in the background, and return at once; jobs take
        workers as they come up. ``on_ready(seconds)`` is called (from a pool thread) once
        every worker is running and fully warm. True if some worker was not running yet;
        calls after the first do nothing (False)."""
        with self._ready_lock:
            if self._began is not None or self._closed:
                return False
            self._began = time.monotonic()
            self._on_ready = on_ready
        cold = any(not worker.alive for worker in self._workers)
        for group in self._groups():
            for _ in group.workers:
                try:
                    worker = group.free.get_nowait()
                except queue.Empty:  # taken by a job already, which starts it
                    break
                try:
                    self._replacer.submit(self._replace, group, worker)
                except RuntimeError:  # closed meanwhile
                    group.free.put(worker)
        return cold

    def _warmest(self, group: Group, worker: WorkerHandle, need: Sequence[str]) -> WorkerHandle:
        """Of ``worker`` and the group's other free workers, the one with the most of
        ``need`` warm (the others go back)."""
        taken = [worker]
        with contextlib.suppress(queue.Empty):
            while True:
                taken.append(group.free.get_nowait())
        best = max(taken, key=lambda w: (len(w.warm.intersection(need)), not w.warming))
        for other in taken:
            if other is not best:
                group.free.put(other)
        return best

    def _warm_for(self, worker: WorkerHandle, need: Sequence[str]) -> None:
        """Have the units ``need`` imported in ``worker`` before its job (a worker lost on
        the way is started afresh, and the job imports what it needs itself)."""
        missing = [unit for unit in need if unit not in worker.warm]
        if not missing or not worker.warming:
            return  # done, or tried (a failed import is not tried again)
        try:
            worker.warm_step(missing, timeout_s=self._startup_timeout)
        except WorkerGone as gone:
            log.debug("sandbox worker lost while warming for a job: %s", gone)
            worker.stop()
            self._ensure_started(worker)
