"""Job cgroups: the kernel bounds one sandbox job's whole memory and process count.

RLIMIT_AS bounds one process; a job that forks, fills a tmpfs or makes kernel objects gets
past it. The host makes one :class:`JobCgroup` per worker, in which only job processes live
(the worker stays outside: the OOM killer must never have it to choose), and hands the
worker descriptors of its ``cgroup.procs`` files (:meth:`JobCgroup.procs_files`, opened
here, so that the kernel checks the opener's rights): the worker moves each child it forks
into the cgroup at once, before it is handed over, and whatever the job forks inherits it.
Moving a process costs ~5 ms after an idle spell (the kernel waits for an RCU grace period)
and ~0.2 ms when moves follow each other: the worker moves the next child after a job, while
the host waits for the model, not on the next job's path. The limit covers anonymous memory,
tmpfs pages (also those a dead job leaves behind: the worker must wipe its tmpfs) and kernel
memory (measured here on cgroup v1, Linux 6.18: 50,000 empty tmpfs files charged 47 MiB to
``memory.usage_in_bytes``, and a limit is enforced on them by the OOM killer).

cgroup v2 is used when its ``memory`` and ``pids`` controllers can be enabled for the job
cgroups' parent: as root the hierarchy's root (which may hold processes), else our own
cgroup inside a delegated subtree (``systemd-run --user --scope -p Delegate=yes``). A
non-root cgroup with processes cannot enable controllers for its children, so there we move
this process into a leaf ``creator-<pid>-host`` and put job cgroups beside it;
:func:`cgroup_support` does that once, so call it before starting workers.
Otherwise cgroup v1 (hybrid hosts): job cgroups under our own cgroup in the ``memory`` and
``pids`` hierarchies. Job cgroups are named ``creator-<pid>-<tag>``; empty ones whose pid is
dead (a killed run) are removed when a new one is made. Nothing else is touched.

Deliberately left out: cpu and io controllers, killing (the pool sweeps its jobs), moving
other processes out of our cgroup, and cgroup namespaces. Linux only; elsewhere unsupported.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["JobCgroup", "cgroup_support"]

_PREFIX = "creator-"
_HOST_TAG = "host"  # v2: the leaf this process moves into
_HEADROOM_MB = 64  # the interpreter, tmpfs leftovers and kernel objects on top of memory_mb
_TAG = re.compile(r"[A-Za-z0-9_.]+(?:-[A-Za-z0-9_.]+)*")
_STALE = re.compile(rf"{_PREFIX}(\d+)-.+")
_REMOVE_S = 1.0
_RETRY_S = 1.0
# Where the kernel tells us about mounts and our cgroups (tests point these elsewhere).
_MOUNTINFO = Path("/proc/self/mountinfo")
_SELF_CGROUP = Path("/proc/self/cgroup")


class _Kernel:
    """The cgroupfs operations that change something (tests substitute a simulated kernel)."""

    def write(self, path: str | Path, text: str) -> None:
        fd = os.open(path, os.O_WRONLY)  # never O_CREAT: cgroupfs files are the kernel's
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)

    def mkdir(self, path: Path) -> None:
        os.mkdir(path)

    def rmdir(self, path: Path) -> None:
        os.rmdir(path)


_kernel = _Kernel()


@dataclass(frozen=True)
class _Layout:
    kind: str  # "v2" or "v1"
    memory: Path  # the parent of job cgroups in the memory hierarchy
    pids: Path  # ... in the pids hierarchy (the same directory on v2)


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _mounts() -> list[tuple[str, str, str, set[str]]]:
    """(fstype, mount root, mount point, super options) of each cgroup mount."""
    found = []
    for line in _MOUNTINFO.read_text().splitlines():
        head, _, tail = line.partition(" - ")
        fields, extra = head.split(), tail.split()
        if len(fields) >= 5 and len(extra) >= 3 and extra[0] in ("cgroup", "cgroup2"):
            opts = set(extra[2].split(","))
            found.append((extra[0], _unescape(fields[3]), _unescape(fields[4]), opts))
    return found


def _own_dir(controller: str) -> Path:
    """Our cgroup's directory in the hierarchy of ``controller`` ("" for v2); OSError if none."""
    for line in _SELF_CGROUP.read_text().splitlines():
        number, names, path = line.split(":", 2)
        if (controller in names.split(",")) if controller else (number == "0" and not names):
            break
    else:
        raise OSError(errno.ENOENT, f"not in a {controller or 'v2'} cgroup")
    for fstype, root, point, opts in _mounts():
        v1 = fstype == "cgroup" and controller in opts
        wanted = fstype == "cgroup2" if not controller else v1
        rel = os.path.relpath(path, root)
        if wanted and rel.split(os.sep)[0] != "..":
            return Path(point) / ("" if rel == "." else rel)
    raise OSError(errno.ENOENT, f"no mount shows our {controller or 'v2'} cgroup {path}")


def _enable(parent: Path) -> None:
    """Enable memory and pids for the children of ``parent`` (OSError, e.g. EBUSY when the
    cgroup holds processes and is not the root)."""
    needed = {"memory", "pids"}
    if needed <= set((parent / "cgroup.subtree_control").read_text().split()):
        return
    missing = needed - set((parent / "cgroup.controllers").read_text().split())
    if missing:
        raise OSError(errno.ENOENT, f"{' and '.join(sorted(missing))} not available in {parent}")
    _kernel.write(parent / "cgroup.subtree_control", " ".join(f"+{n}" for n in sorted(needed)))


def _v2_root() -> Path:
    for fstype, root, point, _ in _mounts():
        if fstype == "cgroup2" and root == "/":
            return Path(point)
    raise OSError(errno.ENOENT, "no cgroup2 mount of the whole hierarchy")


def _prepare_v2() -> Path:
    """A v2 cgroup with memory and pids enabled for children: as root the hierarchy's root
    (exempt from the no-internal-processes rule), else our own cgroup, moving this process
    into a leaf if the cgroup must have no processes of its own."""
    if os.geteuid() == 0:
        with contextlib.suppress(OSError):
            top = _v2_root()
            _enable(top)
            return top
    own = _own_dir("")
    try:
        _enable(own)
        return own
    except OSError as error:
        if error.errno != errno.EBUSY:
            raise
    leaf = own / f"{_PREFIX}{os.getpid()}-{_HOST_TAG}"  # no internal processes: step aside
    _kernel.mkdir(leaf)
    _kernel.write(leaf / "cgroup.procs", str(os.getpid()))
    try:
        _enable(own)
    except OSError as error:
        with contextlib.suppress(OSError):
            _kernel.write(own / "cgroup.procs", str(os.getpid()))
            _kernel.rmdir(leaf)
        if error.errno == errno.EBUSY:
            raise OSError(error.errno, f"other processes share our cgroup {own}") from error
        raise
    return own


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    return str(error)


def _probe(layout: _Layout) -> _Layout:
    """``layout`` once a job cgroup with limits could be made and removed there."""
    probe = JobCgroup._make(layout, "probe")
    try:
        probe.limit(memory_mb=0, max_processes=0)
    finally:
        probe.remove()
    return layout


@functools.cache
def _layout() -> _Layout | str:
    """Where job cgroups go (v2 first, then v1), or a one-line reason why nowhere."""
    if not sys.platform.startswith("linux"):
        return "cgroups need Linux"
    reasons = []
    try:
        own = _prepare_v2()
        return _probe(_Layout("v2", own, own))
    except (OSError, ValueError) as error:
        reasons.append(f"v2: {_reason(error)}")
    try:
        return _probe(_Layout("v1", _own_dir("memory"), _own_dir("pids")))
    except (OSError, ValueError) as error:
        reasons.append(f"v1: {_reason(error)}")
    return "no usable cgroup (" + "; ".join(reasons) + ")"


def cgroup_support() -> str | None:
    """None when this process can create job cgroups with memory and pids limits here, else a
    one-line reason why not (checked once and cached).

    On cgroup v2 the first call may move this process into its leaf ``creator-<pid>-host``.
    """
    found = _layout()
    return found if isinstance(found, str) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _remove_stale(parent: Path) -> None:
    """Remove empty ``creator-<pid>-*`` cgroups in ``parent`` whose process is gone."""
    with contextlib.suppress(OSError), os.scandir(parent) as entries:
        for entry in entries:
            match = _STALE.fullmatch(entry.name)
            if match and entry.is_dir() and not _alive(int(match.group(1))):
                _try_rmdir(Path(entry.path))  # fails (EBUSY) while it holds processes


class JobCgroup:
    """One worker's job cgroup (memory and pids); see the module docstring."""

    def __init__(self, kind: str, memory: Path, pids: Path) -> None:
        self._kind = kind
        self._memory = memory
        self._pids = pids
        self._dirs = [memory] if memory == pids else [memory, pids]
        self._procs = [str(path / "cgroup.procs") for path in self._dirs]
        self._limits: tuple[int, int] | None = None  # (memory bytes, pids) last written

    @classmethod
    def create(cls, tag: str) -> JobCgroup | None:
        """A new, empty cgroup for one worker's jobs (memory and pids); None when unsupported.

        ``tag`` names it among this process's job cgroups (letters, digits, ``_ . -``). OSError
        when the kernel refuses although cgroups are supported.
        """
        layout = _layout()
        if isinstance(layout, str):
            return None
        if not _TAG.fullmatch(tag) or tag == _HOST_TAG:
            raise ValueError(f"bad cgroup tag {tag!r}")
        return cls._make(layout, tag)

    @classmethod
    def _make(cls, layout: _Layout, tag: str) -> JobCgroup:
        name = f"{_PREFIX}{os.getpid()}-{tag}"
        job = cls(layout.kind, layout.memory / name, layout.pids / name)
        made: list[Path] = []
        try:
            for path in job._dirs:
                _remove_stale(path.parent)
                _try_rmdir(path)  # our own, left by an earlier pool of this process
                _kernel.mkdir(path)
                made.append(path)
            memory = job._memory
            if layout.kind == "v2":
                _kernel.write(memory / "memory.oom.group", "1")
                if (memory / "memory.swap.max").exists():
                    _kernel.write(memory / "memory.swap.max", "0")
            elif not (memory / "memory.memsw.limit_in_bytes").exists():
                with contextlib.suppress(OSError):  # no swap accounting: keep the job off swap
                    _kernel.write(memory / "memory.swappiness", "0")
        except OSError:
            for path in made:
                _try_rmdir(path)
            raise
        return job

    @property
    def kind(self) -> str:
        """``"v2"`` or ``"v1"``."""
        return self._kind

    def admit(self, pid: int, *, memory_mb: int, max_processes: int) -> None:
        """:meth:`limit`, then move host process ``pid`` (and whatever it forks from now on)
        into the cgroup. OSError on failure."""
        self.limit(memory_mb=memory_mb, max_processes=max_processes)
        text = str(pid)
        for procs in self._procs:
            _kernel.write(procs, text)

    def procs_files(self) -> list[int]:
        """Write-only descriptors of the cgroup's ``cgroup.procs`` (one per hierarchy), for a
        process that moves its children in; the caller closes them."""
        fds: list[int] = []
        try:
            for procs in self._procs:
                fds.append(os.open(procs, os.O_WRONLY | os.O_CLOEXEC))
        except OSError:
            for fd in fds:
                os.close(fd)
            raise
        return fds

    def limit(self, *, memory_mb: int, max_processes: int) -> None:
        """Make the limits those of this job: memory = (memory_mb + 64) MiB including what
        the job leaves in tmpfs and kernel objects, no swap; pids = max_processes. Files are
        written only when the values change. A memory limit below what is still charged (the
        last job's main process being torn down) is retried for a second. OSError on
        failure."""
        limits = ((memory_mb + _HEADROOM_MB) << 20, max_processes)
        if limits != self._limits:
            before, self._limits = self._limits, None  # unknown until both are written
            deadline = time.monotonic() + _RETRY_S
            while True:
                try:
                    self._set_memory(limits[0], before[0] if before else None)
                    break
                except OSError as error:
                    if error.errno != errno.EBUSY or time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)
            _kernel.write(self._pids / "pids.max", str(limits[1]))
            self._limits = limits

    def _set_memory(self, value: int, before: int | None) -> None:
        if self._kind == "v2":
            _kernel.write(self._memory / "memory.max", str(value))
            return
        limit = self._memory / "memory.limit_in_bytes"
        memsw = self._memory / "memory.memsw.limit_in_bytes"
        order = [limit]
        if memsw.exists():  # the kernel keeps memsw >= limit: raise memsw first, lower it last
            before = int(limit.read_text()) if before is None else before
            order = [memsw, limit] if value >= before else [limit, memsw]
        for path in order:
            _kernel.write(path, str(value))

    def oom_kills(self) -> int:
        """Cumulative number of processes the kernel's OOM killer killed in this cgroup."""
        return self._counters().get("oom_kill", 0)

    def oom_events(self) -> int:
        """A count that grows whenever the cgroup ran out of memory: v2 counts the times
        (``oom``, also when nothing could be killed); v1 counts kills and adds one while
        tasks wait with nobody left to kill (``under_oom``)."""
        counters = self._counters()
        if self._kind == "v2":
            return counters.get("oom", 0)
        return counters.get("oom_kill", 0) + counters.get("under_oom", 0)

    def _counters(self) -> dict[str, int]:
        name = "memory.events" if self._kind == "v2" else "memory.oom_control"
        found: dict[str, int] = {}
        with contextlib.suppress(OSError, ValueError):
            for line in (self._memory / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                found[key] = int(value)
        return found

    def remove(self) -> None:
        """Remove the cgroup (its processes are already dead, may still be exiting: retry
        briefly); never raises."""
        deadline, pause = time.monotonic() + _REMOVE_S, 0.001
        for path in self._dirs:
            while not _try_rmdir(path) and time.monotonic() < deadline:
                time.sleep(pause)
                pause = min(pause * 2, 0.05)


def _try_rmdir(path: Path) -> bool:
    """Whether ``path`` is gone now."""
    try:
        _kernel.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True
