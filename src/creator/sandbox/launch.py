"""How a sandbox worker process is started, per isolation level, and whether bwrap works here.

``bwrap``: the worker runs inside bubblewrap as PID 1 (``--as-pid-1``: no other process of
the sandbox sits outside the worker's sweep) of new PID, network, IPC, UTS and cgroup
namespaces, ``--die-with-parent --new-session --clearenv``, with read-only binds of
``/usr``, ``/etc/ld.so.cache``, the interpreter, its libraries and site-packages (resolved
from ``sys``, never hard-coded), a size-capped private tmpfs on ``/tmp`` as the only
writable place, and ``/`` remounted read-only. Whatever the evaluation scores against is
hidden under empty read-only tmpfs: this package's own directory (its datasets hold the gold
answers; only the sandbox subpackage the worker runs from is bound back) and any path the
caller names (a run directory), wherever they are installed. The worker then confines itself
(:mod:`confine`): inode cap on /tmp, read-only ``/proc/sys``, and no capabilities, as an
unprivileged host uid in a user namespace: as a normal user bwrap makes that namespace; as
root the worker makes its own, mapped to a random unprivileged uid for this worker.

``rlimits``: the same worker started directly, with a cleared environment and a private
temporary directory; no namespaces. As root it runs as a random unprivileged uid (refused
with the reason when that uid cannot read the interpreter or this package); as an ordinary
user the jobs share the host's uid, so the host makes itself not dumpable (its memory,
descriptors and environment are then closed to them through /proc).

Deliberately left out: starting and talking to the process (:mod:`pool`), and the limits of
a job (sent per job).
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import shutil
import site
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from creator.errors import SandboxError

from . import warmup
from .system import prctl

__all__ = [
    "BOOTSTRAP",
    "TMP_INODES",
    "LaunchSpec",
    "bwrap_spec",
    "hidden_paths",
    "hold_undumpable_host",
    "probe_bwrap",
    "rlimits_refusal",
    "rlimits_spec",
    "worker_uid",
]

PACKAGE_DIR = str(Path(__file__).resolve().parent)
BOOTSTRAP = (
    "import sys, types; m = types.ModuleType('_creator_sandbox'); m.__path__ = [sys.argv[1]]; "
    "sys.modules[m.__name__] = m; from _creator_sandbox import serve; serve.main()"
)
# The probe confines itself as a worker would, so that a host where that fails (no
# capabilities for the mounts, no user namespaces) falls back instead of failing every job.
_PROBE = (
    "import sys, json, types; m = types.ModuleType('_creator_sandbox'); m.__path__ = "
    "[sys.argv[1]]; sys.modules[m.__name__] = m; from _creator_sandbox import confine; "
    "confine.confine(json.loads(sys.argv[2])['confine'])"
)
_THREAD_VARS = {
    name: "1"
    for name in (
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
    )
}
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "Agg"}
JOB_ENV = {**BASE_ENV, **_THREAD_VARS}
# The worker's objects live in glibc's heap, backed by huge pages, so forking it is cheap.
WORKER_ENV = {**JOB_ENV, "PYTHONMALLOC": "malloc", "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}
# What the worker's own setup needs (confine.py), dropped before anything else runs.
_ROOT_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_SYS_ADMIN", "CAP_CHOWN")
_USER_CAPS = ("CAP_SYS_ADMIN", "CAP_SETFCAP")
TMP_INODES = 4096
_PR_SET_DUMPABLE = 4
_SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_SYSTEM_DIRS = ("/usr", *_SYSTEM_LINKS)


@dataclass
class LaunchSpec:
    """A worker command line plus the configuration message the worker receives first."""

    level: str
    argv: list[str]
    env: dict[str, str]
    cwd: str
    config: dict[str, Any]
    cleanup_dir: str | None = None
    user: int | None = None  # start the process as this uid and gid (root hosts only)
    undumpable_host: bool = False  # the host must not be dumpable while this worker lives
    notes: list[str] = field(default_factory=list)


def _worker_command(package_dir: str) -> list[str]:
    # Not -I: its -E would drop PYTHONMALLOC. The environment is ours alone (cleared by
    # bwrap, or given whole to Popen), so -s -P keep the rest of what -I does.
    return [sys.executable, "-s", "-P", "-B", "-c", BOOTSTRAP, package_dir]


def _python_roots() -> list[str]:
    """Directories the interpreter needs: prefixes, stdlib, site-packages, this package."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, PACKAGE_DIR}
    paths.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(sysconfig.get_paths()[key])
    paths.update(site.getsitepackages())
    return sorted(p for p in paths if p and os.path.isdir(p))


def _covered(path: str, by: list[str]) -> bool:
    return any(path == b or path.startswith(b.rstrip("/") + "/") for b in by)


def _bind_args(roots: list[str]) -> tuple[list[str], list[str]]:
    """Read-only binds for ``roots`` (real paths, symlinked aliases as symlinks).

    Also returns every path the binds create, so the worker can leave them alone when it
    wipes /tmp (an interpreter may well live under /tmp).
    """
    system = ["/usr"]
    args: list[str] = []
    bound: list[str] = []
    links: list[tuple[str, str]] = []
    for path in roots:
        real = os.path.realpath(path)
        if real != path and not _covered(path, system + bound):
            links.append((real, path))
        if not _covered(real, system + bound):
            bound = [b for b in bound if not _covered(b, [real])] + [real]
    dirs: set[str] = set()
    for target in [*bound, *(alias for _, alias in links)]:
        parent = os.path.dirname(target)
        while parent not in ("/", "/tmp", "") and not _covered(parent, system):
            dirs.add(parent)
            parent = os.path.dirname(parent)
    for directory in sorted(dirs):
        if not _covered(directory, bound):
            args += ["--perms", "0755", "--dir", directory]
    for path in sorted(bound):
        args += ["--ro-bind", path, path]
    for real, alias in links:
        if not _covered(alias, bound):
            args += ["--symlink", real, alias]
    return args, [*bound, *(alias for _, alias in links)]


def _system_args() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for path in _SYSTEM_LINKS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--perms", "0755", "--dir", "/etc"]
    return [*args, "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]


def worker_uid() -> int:
    """A random unprivileged uid from this namespace's mapped range, for one worker."""
    count = 1 << 32
    try:
        with open("/proc/self/uid_map", encoding="ascii") as uid_map:
            for line in uid_map:
                inside, _, size = (int(x) for x in line.split())
                if inside == 0:
                    count = size
    except (OSError, ValueError):
        pass
    low, high = (1 << 20, min(1 << 30, count - 1)) if count > (1 << 21) else (count // 2, count - 1)
    return low + secrets.randbelow(max(high - low, 1))


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def hidden_paths(extra: Sequence[str] = ()) -> list[str]:
    """Real paths the sandbox must not show: this package (its datasets are the gold
    answers), and ``extra`` (e.g. a run directory, whose records hold the targets)."""
    paths = {os.path.dirname(PACKAGE_DIR), *(os.path.realpath(p) for p in extra)}
    return sorted(p for p in paths if os.path.exists(p))


def _hide_args(hidden: list[str], bound: list[str]) -> list[str]:
    """Empty read-only tmpfs over every hidden path that a bind would otherwise show, and the
    sandbox package bound back where it lies inside one of them."""
    bound = [*_SYSTEM_DIRS, *bound]
    args: list[str] = []
    for path in hidden:
        if _covered(path, bound) and os.path.isdir(path):
            args += ["--perms", "0555", "--size", "4096", "--tmpfs", path]
            if _covered(PACKAGE_DIR, [path]):
                args += ["--ro-bind", PACKAGE_DIR, PACKAGE_DIR]
            args += ["--remount-ro", path]
        elif _covered(path, bound):
            args += ["--ro-bind", "/dev/null", path]
    return args


def bwrap_spec(
    *,
    tmpfs_mb: int = 512,
    tmpfs_inodes: int = TMP_INODES,
    warm: list[str] | None = None,
    hide: Sequence[str] = (),
    lazy: bool = False,
) -> LaunchSpec:
    """The full-isolation worker: bubblewrap around the forking worker (``lazy``: it takes
    jobs before its warm-up is done, see :mod:`worker`)."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise FileNotFoundError("bwrap not found on PATH")
    root = os.geteuid() == 0
    argv = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    argv += ["--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
    argv += ["--as-pid-1"]
    if root:
        argv += ["--cap-drop", "ALL"]
    else:  # uid 0 of bwrap's own user namespace: the one that owns the mounts to adjust
        argv += ["--unshare-user", "--uid", "0", "--gid", "0"]
    for cap in _ROOT_CAPS if root else _USER_CAPS:
        argv += ["--cap-add", cap]
    binds, targets = _bind_args(_python_roots())
    argv += [*_system_args(), "--size", str(tmpfs_mb << 20), "--tmpfs", "/tmp", *binds]
    argv += _hide_args(hidden_paths(hide), targets)
    argv += ["--proc", "/proc", "--dev", "/dev"]
    for name, value in {**WORKER_ENV, "HOME": "/tmp"}.items():
        argv += ["--setenv", name, value]
    argv += ["--chdir", "/tmp", "--remount-ro", "/dev", "--remount-ro", "/", "--"]
    argv += _worker_command(PACKAGE_DIR)
    config = {
        "tmp_root": "/tmp",
        "keep": [t for t in targets if _covered(t, ["/tmp"])],
        "confine": {
            "tmp_root": "/tmp",
            "tmp_bytes": tmpfs_mb << 20,
            "tmp_inodes": tmpfs_inodes,
            "host_uid": worker_uid() if root else None,
        },
        "pid_namespace": True,
        "socket_bytes": _socket_buffer(),  # for the memory watch (see watch.py)
        "private_tmp": True,  # the size-capped tmpfs on /tmp is this worker's alone
        "seccomp": True,
        "job_env": JOB_ENV,
        "warm": warm if warm is not None else warmup.DEFAULT_MODULES,
        "lazy": lazy,
    }
    return LaunchSpec("bwrap", argv, {}, "/", config)


def _socket_buffer() -> int:
    """The default socket send buffer here (jobs cannot raise theirs), in bytes."""
    try:
        return int(Path("/proc/sys/net/core/wmem_default").read_text())
    except (OSError, ValueError):
        return 212992


def _unreadable(paths: Sequence[str]) -> str | None:
    """The first of ``paths`` (or a directory leading to one) that users other than its
    owner cannot read or traverse; None when all of them are open to everyone."""
    for path in paths:
        real = os.path.realpath(path)
        parts = real.split("/")
        for depth in range(2, len(parts) + 1):
            current = "/".join(parts[:depth]) or "/"
            try:
                mode = os.stat(current).st_mode
            except OSError:
                return current
            need = 0o005 if stat.S_ISDIR(mode) else 0o004
            if mode & need != need:
                return current
    return None


def rlimits_refusal() -> str | None:
    """Why the ``rlimits`` level cannot run here (as root: the unprivileged uid it runs code
    as cannot read the interpreter or this package), or None."""
    if os.geteuid() != 0:
        return None
    blocked = _unreadable([os.path.realpath(sys.executable), *_python_roots()])
    if blocked is None:
        return None
    return (
        "sandbox level 'rlimits' as root runs generated code as an unprivileged uid, which "
        f"cannot read {blocked}: install bubblewrap (level 'bwrap'), or make the "
        "interpreter and its packages readable by all users"
    )


def rlimits_spec(*, warm: list[str] | None = None, lazy: bool = False) -> LaunchSpec:
    """The fallback worker: no namespaces, cleared environment, private temporary directory
    (``lazy`` as for :func:`bwrap_spec`).

    As root the worker runs as a random unprivileged uid, so jobs cannot read what only root
    may (``/etc/shadow``, other processes' environments), ignore the process limit or signal
    other workers; SandboxError when that uid could not start the interpreter.
    """
    refusal = rlimits_refusal()
    if refusal is not None:
        raise SandboxError(refusal)
    user = worker_uid() if os.geteuid() == 0 else None
    tmp = tempfile.mkdtemp(prefix="creator-sandbox-")
    if user is not None:
        os.chown(tmp, user, user)
    config = {
        "tmp_root": tmp,
        "pid_namespace": False,
        "seccomp": True,
        "protected_pids": [os.getpid()],
        "job_env": JOB_ENV,
        "warm": warm if warm is not None else warmup.DEFAULT_MODULES,
        "lazy": lazy,
    }
    env = {**WORKER_ENV, "HOME": tmp}
    spec = LaunchSpec("rlimits", _worker_command(PACKAGE_DIR), env, tmp, config, cleanup_dir=tmp)
    spec.user = user
    # Without root, jobs run as our own uid: keep them out of this process's memory,
    # descriptors and environment, which /proc opens to the same uid only while dumpable.
    spec.undumpable_host = user is None
    return spec


_undumpable_holds = 0
_undumpable_lock = threading.Lock()


def hold_undumpable_host(hold: bool) -> None:
    """Make this process not dumpable while at least one worker needs it (``hold``), and
    dumpable again when the last lets go (so the host can read its own /proc files later)."""
    global _undumpable_holds
    with _undumpable_lock:
        _undumpable_holds += 1 if hold else -1
        if _undumpable_holds == (1 if hold else 0):
            prctl(_PR_SET_DUMPABLE, 0 if hold else 1)


@functools.cache
def probe_bwrap() -> str | None:
    """None when bubblewrap can start the interpreter here, else why not (checked once)."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap needs Linux (platform {sys.platform})"
    if bwrap_path() is None:
        return "bwrap not found on PATH (install the 'bubblewrap' package)"
    spec = bwrap_spec(warm=[])
    command = [sys.executable, "-I", "-S", "-c", _PROBE, PACKAGE_DIR, json.dumps(spec.config)]
    argv = [*spec.argv[: spec.argv.index("--") + 1], *command]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=30, check=False, text=True)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap failed to start: {exc}"
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return f"bwrap does not work here: {detail}"
    return None
