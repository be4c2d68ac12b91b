"""The sandbox worker: a long-lived, warmed-up process that forks one confined child per job.

Started by :mod:`creator.sandbox.pool` (inside bubblewrap, or directly for the ``rlimits``
level) and driven over a Unix socket (its stdin) with :mod:`protocol` frames. Inside
bubblewrap it is PID 1 of the sandbox and first confines itself (:mod:`confine`: no
capabilities, an unprivileged host uid, inode-capped /tmp, read-only /proc/sys); it is not
dumpable, so a job of the same uid cannot read or write its memory. The child for
the next job (the *spare*) is forked *before* the job arrives (fork of a warm interpreter
costs milliseconds) and confines itself while it waits (what can be prepared once, such as
the job environment and the seccomp buffers, is prepared in the worker before any fork):

1. it makes its own session, points fds 0-4 at /dev/null, the stdout, stderr and result
   pipes and the job pipe (everything else closed), enters the private job directory, and
   installs ``no_new_privs`` and the seccomp filter;
   once idle for a moment it faults in ahead of time the pages a job typically writes (learnt
   once by a probe child; see :mod:`system`), so the job does not pay those faults;
2. the worker hands the host the other ends of those pipes and a pidfd of the child
   (``SCM_RIGHTS``) and keeps no copy: the host writes the job straight to the child and
   reads its output and report straight from it (:mod:`collect`, byte caps and wall-clock
   deadline on the host side), so a job's round trip crosses no third process. The child
   sets the job's rlimits (CPU, address space, files, processes, file size, no core) and
   runs the parts with :mod:`runner`;
3. the host asks the worker to ``kill`` the whole job (deadline) or ``reap`` it (its wait
   status, when no report came), and says ``done``; then the worker sweeps: in a private
   PID namespace ``kill(-1, SIGKILL)`` from PID 1 (every other process there), otherwise the
   job's process group (which seccomp stops the job from leaving); reaps, wipes the private
   tmp (unless :class:`~.tmpfs.TmpCheck` shows that the job left nothing there), forks the
   next spare and hands it over. Where the host has no cgroup for the job, the worker also
   watches the job's total memory (:mod:`watch`) and kills it when it is over its limit,
   which its answer to ``reap`` or ``kill`` then says.

With ``lazy`` in its configuration the worker hands over its first child once the standard
library is warm (milliseconds after it starts) and warms the rest in steps
(:class:`~.warmup.WarmPlan`) when the host says ``warm``: only while the host holds the worker
with no job out (the waiting child it had is killed unused), so a warm-up step never runs beside
a job. ``warm`` may name units a job is waiting for, which are imported first; each step ends
with a fresh child forked from the warmer state. The last step (the rehearsal) is followed by
what makes forks cheap: the frozen heap, huge pages, the hot-page probe.

Deliberately left out: namespaces and mounts (bubblewrap's job), choosing limits (the host
sends them with every job) and reading job output (the host's). Standard library only: it
runs inside the sandbox.
"""

from __future__ import annotations

import contextlib
import gc
import marshal
import math
import os
import resource
import select
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from . import protocol, runner, seccomp, warmup
from .system import (
    Prefaulter,
    collapse_heap,
    prctl,
    probe_written_pages,
    processes_of,
    set_limit,
    vm_size,
)
from .tmpfs import TmpCheck, wipe
from .watch import MemoryWatch

__all__ = ["Worker"]

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_THP_DISABLE = 41
_LINUX = sys.platform.startswith("linux")
_SAMPLE_LIMITS = {"timeout_s": 10, "memory_mb": 1024, "max_file_mb": 64, "max_processes": 64}
_SAMPLE_PARTS = [{"name": "decision", "code": "print(1 + 1)"}]
_SAMPLE_JOB = marshal.dumps({"parts": _SAMPLE_PARTS, "limits": _SAMPLE_LIMITS})
_SWEEP_S = 5.0


class _Spare:
    """A forked child waiting for its job, and the other ends of its pipes (for the host)."""

    def __init__(self, pid: int, job_fd: int, fds: list[int], pidfd: int) -> None:
        self.pid = pid
        self.job_fd = job_fd
        self.fds = fds
        self.pidfd = pidfd  # -1 where the OS has no pidfd_open


class Worker:
    """Runs jobs one at a time; ``config`` comes from the host's first message."""

    def __init__(self, config: dict[str, Any], *, cgroup_fds: Sequence[int] = ()) -> None:
        self.tmp_root: str = config["tmp_root"]
        self.cgroup_fds = list(cgroup_fds)  # cgroup.procs of the job cgroup (see cgroup.py)
        self.pid_namespace: bool = bool(config.get("pid_namespace"))
        self.use_seccomp: bool = bool(config.get("seccomp")) and seccomp.supported() is None
        self.filter: seccomp.Installer | None = None
        self.protected: tuple[int, ...] = tuple(config.get("protected_pids", ()))
        self.job_env: dict[str, str] = dict(config.get("job_env", {}))
        self.warm_modules: list[str] = list(config.get("warm", warmup.DEFAULT_MODULES))
        self.plan = warmup.WarmPlan(self.warm_modules)
        self.lazy: bool = bool(config.get("lazy", False))
        self.first_need = [str(name) for name in config.get("need", ())]
        self.settled = False  # the whole plan is done, and the heap prepared for forks
        self.uncollected = False  # frozen without a collection first (see _after_warming)
        self.huge_mb = 0
        self.keep: list[str] = list(config.get("keep", ()))
        self.private_tmp: bool = bool(config.get("private_tmp"))  # a tmpfs of our own
        self.rehearse: bool = bool(config.get("rehearse", True))
        self.hot_pages = Prefaulter([])
        self.prefault_after: float = float(config.get("prefault_after_s", 0.002))
        self.jobdir = os.path.join(self.tmp_root, "job")
        self.spare: _Spare | None = None
        self.last_pid = 0
        self.last_status: int | None = None  # the wait status of the last job, once reaped
        self.base_vm = 0  # measured in the worker just before each fork, for the child
        self.others: int | None = None  # processes of the job's uid then (RLIMIT_NPROC)
        self.tmp = TmpCheck(self.tmp_root, self.jobdir, enabled=False)
        # Only a PID namespace shows the worker exactly its job's processes.
        self.watch: MemoryWatch | None = None
        if config.get("watch_memory") and self.pid_namespace:
            self.watch = MemoryWatch(socket_bytes=int(config.get("socket_bytes", 212992)))
        self.memory_killed = False  # the watch killed the last job
        self.jobs = 0

    def prepare(self) -> dict[str, Any]:
        """Warm up (lazily: only the standard library), harden the worker itself, and fork
        the first child."""
        self.plan.light()
        if _LINUX:
            prctl(_PR_SET_DUMPABLE, 0)  # same-uid jobs cannot ptrace us or open our memory
            if not self.pid_namespace:
                prctl(_PR_SET_CHILD_SUBREAPER, 1)
                prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        # Our parent is 0 when we are the namespace's PID 1: kill(0) means the own group.
        self.protected = tuple(p for p in {*self.protected, 1, os.getpid(), os.getppid()} if p)
        self._make_jobdir()
        self.tmp_mode = os.stat(self.tmp_root).st_mode & 0o7777  # restored after every job
        # Only a private tmpfs without bind mounts in it (see TmpCheck).
        self.tmp.enabled = self.private_tmp and not self.keep
        self.tmp.reset()
        if self.use_seccomp:
            seccomp.preload()
            spec = seccomp.JobFilter(self.protected, pin_process_group=not self.pid_namespace)
            self.filter = seccomp.Installer(seccomp.assemble(spec))
        # What every job gets anyway is set here once, not in each child after the fork.
        os.environ.clear()
        os.environ.update(self.job_env, HOME=self.jobdir, TMPDIR=self.jobdir, PWD=self.jobdir)
        tempfile.tempdir = None
        runner.prepare_streams()
        self.plan.need(self.first_need)  # what the job that started us waits for
        while not self.lazy and self.plan.step():
            pass
        self._after_warming(collect=not self.first_need)
        self.spare = self._fork_spare(rehearse=self.rehearse)
        state = "on" if self.use_seccomp else (seccomp.supported() or "disabled")
        return {"ready": True, "seccomp": state, **self.warm_state()}

    def _after_warming(self, *, collect: bool = True) -> None:
        """Prepare the heap for forks after a warm-up step (once the plan is done: huge
        pages and the hot-page probe); take the memory watch's baseline (no child exists).

        Not ``collect``: a job is waiting. A full collection (~50 ms with sympy) would then
        come with its first allocations, so everything is frozen as it is, garbage too,
        until the next step that collects.
        """
        if collect:
            if self.uncollected:
                gc.unfreeze()
            gc.collect()
        gc.freeze()
        self.uncollected = not collect
        if not self.plan.pending and not self.settled:
            self.settled = True
            self.huge_mb = collapse_heap()
            if self.rehearse and _LINUX:
                self.base_vm = vm_size()  # for the probe's address-space limit
                self.hot_pages = Prefaulter(self._probe_hot_pages())
        if self.watch is not None:
            self.watch.take_baseline()

    def warm_state(self) -> dict[str, Any]:
        """What the host learns with each child: the units warm in it, whether warm-up
        steps remain, what failed, and (once settled) the fork preparations."""
        return {
            "warm": self.plan.warm_units(),
            "warming": not self.settled,
            "warm_failures": self.plan.failures,
            "huge_mb": self.huge_mb,
            "hot_pages": self.hot_pages.pages,
            "prefault": self.hot_pages.method,
        }

    def warm_more(self, need: Sequence[str]) -> bool:
        """One warm-up step, on the host's word (it holds this worker, and the waiting
        child will never get a job): kill that child, import the units in ``need`` (else
        take the plan's next step), fork a fresh child. False as :meth:`after_job`."""
        if not self._sweep():
            return False
        wanted = [str(name) for name in need]
        if wanted:
            self.plan.need(wanted)
        else:
            self.plan.step()
        self._after_warming(collect=not wanted)
        self.spare = self._fork_spare(rehearse=self.rehearse)
        return True

    def _probe_hot_pages(self) -> list[tuple[int, int]]:
        """Learn, in a probe child, which pages a rehearsal job writes first."""

        def rehearsal() -> None:  # what a spare and its job run once the job is in
            warmup.rehearse(stop=lambda: False, root=warmup.PROBE_ROOT)
            self._run_job(_SAMPLE_JOB, result_fd=os.open(os.devnull, os.O_WRONLY))

        return probe_written_pages(rehearsal)

    # -- the job child -------------------------------------------------------------------

    def _make_jobdir(self) -> None:
        if not os.path.isdir(self.jobdir):
            os.mkdir(self.jobdir, 0o700)

    def _fork_spare(self, *, rehearse: bool) -> _Spare:
        pipes = [os.pipe() for _ in range(4)]  # stdout, stderr, result, job
        warmup.fresh_process_state()  # reseeded here, where it costs no page faults
        # Measured here for the same reason; the child adds nothing that matters to either.
        self.base_vm = vm_size()
        # RLIMIT_NPROC counts every process of the uid (in a user namespace: there).
        self.others = processes_of(os.getuid()) if self.pid_namespace or os.getuid() else None
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which never returns
            status = 70
            try:
                status = self._child([w for _, w in pipes[:3]] + [pipes[3][0]], rehearse=rehearse)
            except BaseException as exc:  # the sandbox's own setup failed: say so on stderr
                status = 71
                with contextlib.suppress(OSError):
                    os.write(2, f"sandbox job setup failed: {exc!r}\n".encode())
            finally:
                os._exit(status)
        for fd in self.cgroup_fds:  # into the job's cgroup before anyone can hand it a job
            os.write(fd, str(pid).encode())
        for _, write_end in pipes[:3]:
            os.close(write_end)
        os.close(pipes[3][0])
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = -1
        return _Spare(pid, pipes[3][1], [r for r, _ in pipes[:3]], pidfd)

    def _child(self, fds: list[int], *, rehearse: bool) -> int:
        """Confine this process as far as possible, then wait for the job and run it.

        Every page written here is a copy-on-write fault (~4 us), so what can be prepared in
        the worker (environment, seccomp buffers, VM size, process count) is prepared there.
        """
        if _LINUX:  # keep the inherited huge pages, but fault in new memory as small pages
            prctl(_PR_SET_THP_DISABLE, 1)
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for target, source in ((0, null), (1, fds[0]), (2, fds[1]), (3, fds[2]), (4, fds[3])):
            os.dup2(source, target)
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        os.closerange(5, soft if 0 < soft < (1 << 20) else 1 << 20)
        os.chdir(self.jobdir)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the worker's is SIG_DFL
        if _LINUX:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if self.watch is not None:  # so that the worker's watch can read its memory use
                prctl(_PR_SET_DUMPABLE, 1)
        if self.filter is not None:
            self.filter.install(os.getpid())
        # Unless the job is already there (2 ms), copy the pages a job will write, until the
        # job arrives (it waits ~0.1 ms at most). Waiting longer (50 ms) left back-to-back
        # jobs unprefaulted: sympy jobs ran 20% slower.
        if rehearse and not select.select([4], [], [], self.prefault_after)[0]:
            self.hot_pages.run(stop=lambda: bool(select.select([4], [], [], 0)[0]))
        chunks = []
        while chunk := os.read(4, 1 << 20):
            chunks.append(chunk)
        os.close(4)
        if not chunks:
            return 0  # the worker is shutting down
        return self._run_job(b"".join(chunks), result_fd=3)

    def _run_job(self, raw: bytes, *, result_fd: int) -> int:
        """The job half of :meth:`_child` (also what the hot-page probe rehearses)."""
        job = marshal.loads(raw)  # from the host, the same interpreter: cheaper than json
        limits: dict[str, Any] = job["limits"]
        cpu = math.ceil(float(limits["timeout_s"])) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        set_limit(resource.RLIMIT_CORE, 0)
        set_limit(resource.RLIMIT_NOFILE, 256)
        set_limit(resource.RLIMIT_FSIZE, int(limits["max_file_mb"]) << 20)
        set_limit(resource.RLIMIT_AS, self.base_vm + (int(limits["memory_mb"]) << 20))
        if self.others is not None:  # counted before the fork: without this process
            set_limit(resource.RLIMIT_NPROC, self.others + int(limits["max_processes"]))
        parts = [(str(p["name"]), str(p["code"])) for p in job["parts"]]
        return runner.run_parts(parts, result_fd=result_fd)

    # -- running and sweeping --------------------------------------------------------------

    def _kill_job(self, pgid: int) -> bool:
        """SIGKILL the whole job; False if some of it could not be signalled.

        A process with SIGKILL pending never runs user code again, and a fork racing with a
        group or ``kill(-1)`` signal fails, so nothing of the job survives a True here.
        """
        try:
            if self.pid_namespace:
                os.kill(-1, signal.SIGKILL)  # everything but the ns init and ourselves
            elif pgid > 0:  # never 0: that would be our own group
                os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return True

    def hand_over(self, channel: socket.socket, message: dict[str, Any]) -> None:
        """Send ``message`` with the spare's job, stdout, stderr, result pipes (and pidfd) to
        the host, and close this process's copies: from now on the job is the host's."""
        spare = self.spare or self._fork_spare(rehearse=False)
        self.spare = None
        self.last_pid, self.last_status = spare.pid, None
        fds = [spare.job_fd, *spare.fds] + ([spare.pidfd] if spare.pidfd >= 0 else [])
        try:
            protocol.send_fds(channel, {**message, "spare": spare.pid}, fds)
        finally:
            for fd in fds:
                os.close(fd)

    def reap(self) -> dict[str, Any]:
        """The wait status of the last job's main process (which has exited or been killed),
        and whether the memory watch killed the job."""
        if self.last_status is None:
            try:
                self.last_status = os.waitpid(self.last_pid, 0)[1]
            except ChildProcessError:  # reaped already (as an orphan): report a kill
                self.last_status = signal.SIGKILL
        return {"status": self.last_status, "memory_exceeded": self.memory_killed}

    def kill_and_reap(self) -> dict[str, Any]:
        """Kill the whole last job now (its deadline passed); as :meth:`reap`."""
        self._kill_job(self.last_pid)
        return self.reap()

    def shutdown(self) -> None:
        """The host is gone: kill what runs of the last job, which might otherwise outlive
        the pool (where there is no PID namespace to end with us)."""
        self._kill_job(self.last_pid)

    def watch_job(self) -> None:
        """One memory sample of the running job (see :mod:`watch`); kill it when over."""
        if self.watch is not None and not self.memory_killed and self.watch.over_limit():
            self.memory_killed = True
            self._kill_job(self.last_pid)

    def after_job(self) -> bool:
        """Kill what is left of the last job, wipe the tmp, fork the next child.

        False (the worker should be replaced) if the job could not be killed, what it left
        did not die in time, or its files could not be removed.
        """
        if not self._sweep():
            return False
        self.jobs += 1
        if self.watch is not None and self.jobs % 200 == 0:
            self.watch.take_baseline()  # the worker's own memory drifts a little
        self.spare = self._fork_spare(rehearse=self.rehearse)
        return True

    def _sweep(self) -> bool:
        """Kill every process of the last job (or the unused child), reap, wipe the tmp."""
        killed = self._kill_job(self.last_pid)
        self.memory_killed = False
        if not killed or not self._reaped():
            return False
        # The job owned the tmp root: its mode and times are no message to the next job.
        os.chmod(self.tmp_root, self.tmp_mode)
        os.utime(self.tmp_root, (0, 0))
        if not self.tmp.clear_if_clean() and not wipe(self.tmp_root, keep=self.keep):
            return False
        self._make_jobdir()
        return True

    def _reaped(self) -> bool:
        """Reap what the kill left. In a PID namespace, where every process but us is the
        job's, wait until none but its main process is still dying: a job that leaves many
        processes to die slowly (large address spaces) would take the next job's process
        limit and memory. False if they do not die within :data:`_SWEEP_S`."""
        deadline = time.monotonic() + _SWEEP_S
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] > 0:
                    continue
            except ChildProcessError:
                return True
            if not self.pid_namespace:
                return True  # the job's group is killed; its members die on their own
            mine = str(os.getpid())
            left = {n for n in os.listdir("/proc") if n.isdigit() and n != mine}
            if left <= {str(self.last_pid)}:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.0005)

    def next_message(self, channel: socket.socket) -> dict[str, Any] | None:
        """The host's next message; meanwhile, where a job is watched, sample its memory."""
        fd = channel.fileno()
        while self.watch is not None and self.watch.limit is not None:
            if select.select([fd], [], [], self.watch.interval)[0]:
                break
            self.watch_job()
        return protocol.recv(fd)
