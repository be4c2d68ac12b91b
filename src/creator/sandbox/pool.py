"""A pool of sandbox workers behind the :class:`~creator.sandbox.base.Sandbox` protocol.

Each worker is one long-lived process (bubblewrap or the ``rlimits`` fallback, see
:mod:`launch`) that runs one job at a time in a child it forked ahead of time, and hands the
host that child's pipes over a Unix socket (see :mod:`worker`). ``run_sync`` takes a free
worker, writes the job straight to its waiting child and reads the child's output and report
(:mod:`collect`: byte caps, the wall-clock deadline, and asking the worker to kill the job
when it passes), then tells the worker to sweep and prepare the next child. A worker that
dies or has served its jobs (``max_jobs_per_worker``, less up to a quarter at random) is
replaced in the background while the other workers take jobs; one that stops answering or
reports an unclean sweep is replaced before its next job. ``run`` is the same on a private
thread pool with one thread per worker, so awaiting callers never block the loop.

Worker processes are always started from one long-lived launcher thread: bubblewrap's
``--die-with-parent`` (and the fallback's parent-death signal) fire when the *thread* that
started the process ends, not the process.

Jobs that import only the standard library go to *light* workers when the pool has them
(:mod:`routing`): they fork several times faster than workers with numpy & co. warm. A job
that starts on an idle pool has its reply busy-polled for its first 2 ms, which spares the
host a sleep and a wake-up; under load nothing polls.

Workers warm up lazily: each takes jobs as soon as the standard library is warm, and warms
the rest a step at a time in the background while the pool is idle, one worker at a time; a
job goes to the free worker with the most of the heavy units it imports warm, which imports
those it lacks first (without their exercise, as a fresh interpreter would); a job that
imports none starts at once (when and which: :mod:`warming`; what a step is: :mod:`warmup`).
:meth:`WorkerPool.start_background` starts the workers without waiting (a run calls it when
its first model request goes out, so that the warm-up overlaps it); :meth:`WorkerPool.start`
waits until every worker is fully warm.

Deliberately left out: queueing policy beyond first-come first-served per kind of worker,
and retries (a job that killed its worker gets a failed result, not a second run).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import threading
import time
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from creator.errors import SandboxError

from .base import CodePart, ExecResult, Limits
from .bytecode import ensure_bytecode
from .handle import WorkerGone, WorkerHandle
from .routing import needed_units, needs_full_worker
from .warming import STEP_EVERY, Group, WarmUp, WorkerKind

__all__ = ["WorkerKind", "WorkerPool"]

log = logging.getLogger("creator.sandbox")

# A job that starts on an idle pool is polled for without sleeping for its first 2 ms
# (print(1+1), one at a time: +15% jobs/s here). Not under load: measured back to back,
# the polling thread took CPU the workers needed (-25%).
_POLL_S = 0.002
_IDLE_S = 0.02


def _stop_all(workers: list[WorkerHandle]) -> None:
    for worker in workers:
        worker.stop()


class WorkerPool(WarmUp):
    """Sandbox workers of one isolation level; implements ``Sandbox``.

    ``full`` workers have everything warm; optional ``light`` workers only the standard
    library, for jobs that import nothing else (see :mod:`routing`).
    """

    def __init__(
        self,
        *,
        level: str,
        full: WorkerKind,
        light: WorkerKind | None = None,
        limits: Limits | None = None,
        max_jobs_per_worker: int = 2000,
        startup_timeout_s: float = 180.0,
    ) -> None:
        if full.count < 1:
            raise ValueError("workers must be at least 1")
        self._level = level
        self._limits = limits or Limits()
        self._max_jobs = max_jobs_per_worker
        self._startup_timeout = startup_timeout_s
        self._launcher = ThreadPoolExecutor(1, thread_name_prefix="creator-sandbox-launch")
        self._full = Group(full, self._launcher)
        self._light = Group(light, self._launcher) if light and light.count > 0 else None
        groups = [self._full] if self._light is None else [self._full, self._light]
        self._workers = [worker for group in groups for worker in group.workers]
        self._warm = {id(w): g.warm for g in groups for w in g.workers}
        self._executor = ThreadPoolExecutor(
            len(self._workers), thread_name_prefix="creator-sandbox"
        )
        # Replacements run beside the jobs, one thread per worker at most.
        self._replacer = ThreadPoolExecutor(
            len(self._workers), thread_name_prefix="creator-sandbox-replace"
        )
        self._budget: dict[int, int] = {}  # jobs each worker serves before its replacement
        self._busy = 0  # jobs in flight
        self._idle_since = 0.0  # when the last job in flight ended
        self._jobs_seen = False  # until the first job, every worker may warm up at once
        self._busy_lock = threading.Lock()
        self._closed = False
        self._bytecode_lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _stop_all, self._workers)
        self._init_warm_up()

    @property
    def isolation(self) -> str:
        return self._level

    @property
    def workers(self) -> int:
        return len(self._workers)

    def _ensure_started(self, worker: WorkerHandle, need: Sequence[str] = ()) -> None:
        if self._serviceable(worker) and worker.ready():
            return
        with self._bytecode_lock:
            ensure_bytecode(self._warm[id(worker)])
        if need:  # imported before its first child
            worker.start(self._startup_timeout, need=need)
        else:
            worker.start(self._startup_timeout)
        self._stepped[id(worker)] = 0
        # Up to a quarter fewer, at random: workers that take turns on one stream of jobs
        # would otherwise all be due at once, and the stream would wait for a replacement.
        self._budget[id(worker)] = self._max_jobs - random.randrange(self._max_jobs // 4 + 1)

    def _serviceable(self, worker: WorkerHandle) -> bool:
        return worker.alive and worker.jobs < self._budget.get(id(worker), 0)

    def _release(self, group: Group, worker: WorkerHandle) -> None:
        """Give ``worker`` back to its group; one that has served its jobs or died is
        replaced first, and one with warm-up steps left takes them, in the background,
        while the group's other workers take jobs."""
        due = worker.warming and worker.jobs - self._stepped.get(id(worker), 0) >= STEP_EVERY
        if self._closed or (self._serviceable(worker) and not due):
            group.free.put(worker)
            self._pass_turn()
            return
        try:
            self._replacer.submit(self._replace, group, worker)
        except RuntimeError:  # closed meanwhile
            group.free.put(worker)

    def _replace(self, group: Group, worker: WorkerHandle) -> None:
        """Start ``worker`` if it needs it, then take warm-up steps (one worker of the pool
        at a time) while no job runs, until it is warm; always give it back. A worker that
        has served :data:`STEP_EVERY` jobs since its last step takes one anyway, so that a
        busy pool still gets warm."""
        try:
            if not self._closed:
                self._ensure_started(worker)
            due = worker.jobs - self._stepped.get(id(worker), 0) >= STEP_EVERY
            while not self._closed and worker.warming and (due or self._quiet()):
                if not self._jobs_seen:  # the host only waits for the model: all step at once
                    worker.warm_step(timeout_s=self._startup_timeout)
                    self._stepped[id(worker)] = worker.jobs
                    continue
                if not self._turn.acquire(blocking=False):
                    break  # another worker's step: the one that ends it passes the turn on
                try:
                    worker.warm_step(timeout_s=self._startup_timeout)
                finally:
                    self._turn.release()
                self._stepped[id(worker)], due = worker.jobs, False
        except SandboxError as exc:  # the next job tries again, and reports it if it fails
            log.debug("sandbox worker replacement failed: %s", exc)
        except WorkerGone as gone:  # replaced when next taken
            log.debug("sandbox worker lost during its warm-up: %s", gone)
            worker.stop()
        finally:
            if self._closed:
                worker.stop()
            group.free.put(worker)
            self._pass_turn()
            self._report_ready()

    def _job_begins(self) -> float:
        """Count the job in; how long to busy-poll for it (only on an idle pool)."""
        with self._busy_lock:
            self._jobs_seen = True
            self._busy += 1
            idle = self._busy == 1 and time.monotonic() - self._idle_since > _IDLE_S
        return _POLL_S if idle else 0.0

    def _job_over(self) -> None:
        with self._busy_lock:
            self._busy -= 1
            if not self._busy:
                self._idle_since = time.monotonic()

    def _groups(self) -> list[Group]:
        return [self._full] if self._light is None else [self._full, self._light]

    def start(self) -> None:
        """Start every worker now (in parallel) instead of on first use, and wait until
        each is fully warm."""
        taken = [(group, group.free.get()) for group in self._groups() for _ in group.workers]
        try:
            list(self._executor.map(self._bring_up, [worker for _, worker in taken]))
        finally:
            for group, worker in taken:
                group.free.put(worker)

    def _bring_up(self, worker: WorkerHandle) -> None:
        self._ensure_started(worker)
        try:
            while worker.warming:
                worker.warm_step(timeout_s=self._startup_timeout)
        except WorkerGone as gone:
            raise SandboxError(f"a sandbox worker was lost during its warm-up: {gone}") from None

    def _group_for(self, parts: Sequence[CodePart]) -> Group:
        if self._light is None or needs_full_worker(parts):
            return self._full
        return self._light

    def run_sync(self, parts: Sequence[CodePart], *, limits: Limits | None = None) -> ExecResult:
        if self._closed:
            raise SandboxError("the sandbox is closed")
        limits = limits or self._limits
        request = {
            "parts": [{"name": part.name, "code": part.code} for part in parts],
            "limits": limits.model_dump(),
        }
        group = self._group_for(parts)
        need = needed_units(parts, group.units)
        with self._busy_lock:
            group.waiting += 1
        try:
            worker = group.free.get()
        finally:
            with self._busy_lock:
                group.waiting -= 1
        if need and not worker.warm.issuperset(need):
            worker = self._warmest(group, worker, need)
        poll_s = self._job_begins()
        try:
            self._ensure_started(worker, need)
            try:
                self._warm_for(worker, need)
                reply = worker.run(request, poll_s=poll_s)
            except WorkerGone as gone:
                worker.stop()
                return ExecResult(
                    stderr=f"the sandbox worker was lost during the job: {gone}",
                    exit_code=None,
                    isolation=self._level,
                )
        finally:
            self._job_over()
            self._release(group, worker)
        return ExecResult(**reply, isolation=self._level)

    async def run(self, parts: Sequence[CodePart], *, limits: Limits | None = None) -> ExecResult:
        loop = asyncio.get_running_loop()
        call = functools.partial(self.run_sync, list(parts), limits=limits)
        return await loop.run_in_executor(self._executor, call)

    def close(self) -> None:
        """Stop every worker; a job still running gets a failed result."""
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        self._finalizer()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._replacer.shutdown(wait=False)  # what is queued still returns its worker
        self._launcher.shutdown(wait=False)

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> WorkerPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
