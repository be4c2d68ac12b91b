"""The host's handle on one sandbox worker process: start it, run one job, replace it.

A worker (:mod:`worker`, inside bubblewrap or the ``rlimits`` fallback, see :mod:`launch`)
forks the child for the next job ahead of time and hands the host that child's pipes and a
pidfd over a Unix socket. :meth:`WorkerHandle.run` writes the job straight to the waiting
child and reads its output and report (:mod:`collect`), asking the worker to ``kill`` or
``reap`` the job when needed, then says ``done`` so the worker sweeps and forks the next
child, which the next :meth:`WorkerHandle.ready` receives.

A job's whole memory and process count are bounded by a cgroup of the worker's own (made
here, where the host allows it: :mod:`cgroup`), into which the worker moves each child it
forks (through ``cgroup.procs`` descriptors it gets with its configuration); the worker
itself stays outside. When the cgroup runs out of memory during a job, the whole job is
killed and reported as over the memory limit. Elsewhere the worker watches the job's memory
itself (:mod:`watch`): it is told each job's memory limit and says when it killed a job for
it.

A worker that warms up lazily (see :mod:`worker`) says with each child which units are warm
in it (:attr:`WorkerHandle.warm`) and whether it has more to do (:attr:`WorkerHandle.warming`);
:meth:`WorkerHandle.warm_step` gives up the waiting child for one more step, or for the units
a job needs.

Deliberately left out: choosing a worker for a job, and when to replace or warm one (the
pool's).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import marshal
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from creator.errors import SandboxError

from . import cgroup, protocol
from .collect import collect
from .launch import LaunchSpec, hold_undumpable_host
from .runner import write_all

__all__ = ["WorkerGone", "WorkerHandle"]

log = logging.getLogger("creator.sandbox")

_REPLY_GRACE_S = 15.0
_SWEEP_TIMEOUT_S = 30.0
_SERIAL = itertools.count()


class WorkerGone(Exception):
    """The worker process died or stopped answering during a job."""


class _Child:
    """The worker's forked child waiting for a job: its pipes, as handed to the host."""

    def __init__(self, pid: int, fds: list[int]) -> None:
        if len(fds) not in (4, 5):
            for fd in fds:
                os.close(fd)
            raise protocol.ProtocolError(f"expected 4 or 5 descriptors, got {len(fds)}")
        self.pid = pid
        self.job_fd = fds[0]
        self.fds = fds[1:4]
        self.pidfd = fds[4] if len(fds) == 5 else -1

    def close(self) -> None:
        for fd in (self.job_fd, *self.fds, self.pidfd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)


class WorkerHandle:
    """One worker process, as seen from the host."""

    def __init__(self, make_spec: Callable[[], LaunchSpec], launcher: ThreadPoolExecutor) -> None:
        self._make_spec = make_spec
        self._launcher = launcher
        self.proc: subprocess.Popen[bytes] | None = None
        self.channel: socket.socket | None = None
        self.child: _Child | None = None
        self.sweeping = False  # "done" sent; the next child has not arrived yet
        self.spec: LaunchSpec | None = None
        self.jobs = 0
        self.info: dict[str, Any] = {}
        self.cgroup: cgroup.JobCgroup | None = None
        self._oom_events = 0  # the cgroup's count after the last job
        self._memory_told: int | None = None  # the limit the worker's watch knows
        self._memory_killed = False  # the worker said its watch killed the job
        self._stderr: IO[bytes] | None = None
        self.warm: frozenset[str] = frozenset()  # units warm in the waiting child
        self.warming = False  # the worker has warm-up steps left
        self.stepping = False  # a warm-up step is under way (no job is out)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _spawn(self, spec: LaunchSpec, theirs: socket.socket) -> subprocess.Popen[bytes]:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
        user: dict[str, Any] = {}
        if spec.user is not None:
            user = {"user": spec.user, "group": spec.user, "extra_groups": []}
        return subprocess.Popen(
            spec.argv,
            stdin=theirs.fileno(),
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env=spec.env,
            cwd=spec.cwd,
            close_fds=True,
            start_new_session=True,
            **user,
        )

    def stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0)
            lines = self._stderr.read()[-4000:].decode("utf-8", "replace").strip().splitlines()
        except (OSError, ValueError):
            return ""
        return lines[-1] if lines else ""

    def start(self, timeout_s: float, *, need: Sequence[str] = ()) -> None:
        """Start the worker process and receive its first child (``need``: units a lazy
        worker imports before it forks that child)."""
        self.stop()
        self.warming = True  # until its first child says otherwise
        self.spec = self._make_spec()
        if self.spec.undumpable_host:
            hold_undumpable_host(True)
        self.cgroup = cgroup.JobCgroup.create(f"w{next(_SERIAL)}")
        self._oom_events, self._memory_told = 0, None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.proc = self._launcher.submit(self._spawn, self.spec, theirs).result()
        finally:
            theirs.close()
        self.channel = ours
        try:
            config = {**self.spec.config, "watch_memory": not self.cgroup, "need": list(need)}
            fds = self.cgroup.procs_files() if self.cgroup is not None else []
            try:
                protocol.send_fds(ours, {**config, "cgroup_fds": len(fds)}, fds)
            finally:
                for fd in fds:
                    os.close(fd)
            ready = self._receive_child(time.monotonic() + timeout_s)
            if self.cgroup is not None:
                self._oom_events = self.cgroup.oom_events()
        except (OSError, TimeoutError, protocol.ProtocolError, ValueError) as exc:
            ready = None
            reason = str(exc)
        else:
            reason = "it exited"
        if not ready or not ready.get("ready"):
            detail = self.stderr_tail() or reason
            self.stop()
            raise SandboxError(f"the sandbox worker failed to start: {detail}")
        self.info = ready
        self.jobs = 0
        self._take_warm_state(ready)

    def _take_warm_state(self, message: dict[str, Any]) -> None:
        known = set(self.info.get("warm_failures", [])) if message is not self.info else set()
        self.info.update(message)
        self.warm = frozenset(message.get("warm", ()))
        self.warming = bool(message.get("warming"))
        for failure in message.get("warm_failures", []):
            if failure not in known:
                log.debug("sandbox warm-up skipped %s", failure)

    def warm_step(self, need: Sequence[str] = (), *, timeout_s: float = 60.0) -> None:
        """One warm-up step of the worker (``need``: import those units now), which forks a
        fresh child from its warmer state; the waiting child is given up unused. WorkerGone
        when the worker dies or does not answer within ``timeout_s``."""
        child, self.child = self.child, None
        if child is None or self.channel is None:
            raise WorkerGone("no worker process")
        child.close()  # it never gets a job: the worker kills it before the step
        self.stepping = True
        try:
            protocol.send(self.channel.fileno(), {"op": "warm", "need": list(need)})
            message = self._receive_child(time.monotonic() + timeout_s)
        except (OSError, TimeoutError, protocol.ProtocolError, ValueError, KeyError) as exc:
            raise WorkerGone(str(exc) or type(exc).__name__) from exc
        finally:
            self.stepping = False
        if message is None:
            raise WorkerGone(self.stderr_tail() or "the worker exited")
        self._take_warm_state(message)

    def _receive_child(self, deadline: float) -> dict[str, Any] | None:
        """Read the worker's next message and the child it hands over with it."""
        assert self.channel is not None
        message, fds = protocol.recv_fds(self.channel, deadline=deadline)
        if message is None:
            return None
        self.child = _Child(int(message["spare"]), fds)
        self.sweeping = False
        return message

    def ready(self) -> bool:
        """Whether a child is waiting for a job (receiving it if the sweep is under way)."""
        if self.child is not None:
            return True
        if not self.sweeping or self.channel is None:
            return False
        try:
            return self._receive_child(time.monotonic() + _SWEEP_TIMEOUT_S) is not None
        except (OSError, TimeoutError, protocol.ProtocolError, ValueError, KeyError):
            return False

    def _ask(self, operation: str) -> int:
        """Send ``operation`` (kill, reap) about the current job; the job's wait status (and
        whether the worker killed it for its memory, kept for :meth:`run`)."""
        if self.channel is None:
            raise WorkerGone("no worker process")
        try:
            protocol.send(self.channel.fileno(), {"op": operation})
            deadline = time.monotonic() + _REPLY_GRACE_S
            reply = protocol.recv(self.channel.fileno(), deadline=deadline)
        except (OSError, TimeoutError, protocol.ProtocolError, ValueError) as exc:
            raise WorkerGone(str(exc) or type(exc).__name__) from exc
        if reply is None:
            raise WorkerGone(self.stderr_tail() or "the worker exited")
        self._memory_killed = bool(reply.get("memory_exceeded"))
        return int(reply["status"])

    def _confine(self, limits: dict[str, Any]) -> None:
        """Bound the job's memory and processes: the cgroup's limits, or the worker's watch
        (told the memory limit once per change)."""
        memory_mb = int(limits["memory_mb"])
        if self.cgroup is not None:
            try:
                self.cgroup.limit(memory_mb=memory_mb, max_processes=limits["max_processes"])
            except OSError as exc:
                raise WorkerGone(f"could not set the job's cgroup limits: {exc}") from exc
        elif memory_mb != self._memory_told and self.channel is not None:
            protocol.send(self.channel.fileno(), {"op": "limits", "memory_mb": memory_mb})
            self._memory_told = memory_mb

    def _oom_killed(self) -> bool:
        """Whether the job's cgroup ran out of memory since the last check."""
        if self.cgroup is None:
            return False
        events, self._oom_events = self._oom_events, self.cgroup.oom_events()
        return self._oom_events > events

    def _out_of_memory(self) -> bool:
        """Whether the job was killed for its whole memory (and, with a cgroup, take the
        count of its OOM events as the next job's start, whatever this job's outcome)."""
        return self._oom_killed() or self._memory_killed

    def run(self, request: dict[str, Any], *, poll_s: float = 0.0) -> dict[str, Any]:
        """Run one job in the waiting child (``ready()`` must have been True); ``poll_s``
        as for :func:`~.collect.collect`."""
        child, self.child = self.child, None
        if child is None or self.channel is None:
            raise WorkerGone("no worker process")
        self.jobs += 1
        self._memory_killed = False
        statuses: list[int] = []

        def kill(_pid: int) -> None:
            statuses.append(self._ask("kill"))

        def reap() -> int:
            return statuses[-1] if statuses else self._ask("reap")

        started = time.monotonic()
        try:
            self._confine(request["limits"])
        except BaseException:
            child.close()  # the job never ran; the child sees its job pipe closed and exits
            self._done()
            raise
        try:
            _write_job(child.job_fd, marshal.dumps(request))  # the child's interpreter is ours
            result = collect(
                child.pid,
                child.fds,
                request["limits"],
                started,
                kill=kill,
                reap=reap,
                pidfd=child.pidfd,
                poll_s=poll_s,
                over_memory=self._oom_killed if self.cgroup is not None else None,
            )
            over = self._out_of_memory()  # always: it also takes the count for the next job
            failed = result["exit_code"] != 0 or result["timed_out"]
            if over and failed and not result["memory_exceeded"]:
                result.update(memory_exceeded=True, timed_out=False, traceback=None)
            return result
        finally:
            child.job_fd = -1
            child.fds = []
            child.pidfd = -1
            self._done()

    def _done(self) -> None:
        """Let the worker sweep and fork the next child (received by the next ``ready``)."""
        if self.channel is None:
            return
        try:
            protocol.send(self.channel.fileno(), {"op": "done"})
            self.sweeping = True
        except OSError:
            self.sweeping = False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        stepping = self.stepping  # no job is out: nothing to wait for
        if self.child is not None:
            self.child.close()
            self.child = None
        self.sweeping = False
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if proc is not None:
            _terminate(proc, grace_s=0.0 if stepping else 1.0)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        if self.spec is not None and self.spec.cleanup_dir:
            shutil.rmtree(self.spec.cleanup_dir, ignore_errors=True)
        if self.spec is not None and self.spec.undumpable_host:
            hold_undumpable_host(False)
        self.spec = None


def _write_job(fd: int, data: bytes) -> None:
    """Write the whole job to the child's job pipe and close it (a dead child: ignored, as
    collect() sees it and reports what happened)."""
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


def _terminate(proc: subprocess.Popen[bytes], *, grace_s: float) -> None:
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, 9)
        except OSError:
            proc.kill()
        proc.wait()
