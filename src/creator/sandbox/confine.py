"""How a bubblewrap worker confines itself before it does anything else.

bubblewrap starts the worker as PID 1 of its namespaces with a few capabilities that only
this setup needs (``CAP_SYS_ADMIN`` for the mounts; as host root also ``CAP_SETUID``,
``CAP_SETGID``, ``CAP_CHOWN``; as an ordinary user, where the worker starts as uid 0 of
bubblewrap's user namespace, ``CAP_SETFCAP``, without which that namespace's uid 0 cannot
be mapped into a nested one). :func:`confine` then, in this order:

1. bounds the private tmpfs on /tmp: its size, and its inode count (``nr_inodes``, which
   bubblewrap cannot set), which also bounds what a job can leave there (files, directories,
   extended attributes: tmpfs counts them in the same budget) and so the time the wipe after
   a job can take;
2. makes ``/proc/sys`` read-only (a job, or the worker, cannot retune the kernel or the
   namespaces' own sysctls);
3. enters a user namespace of its own, which owns no other namespace, as uid and gid
   :data:`INSIDE_ID`: as host root mapped to the unprivileged host uid chosen for this
   worker (a forked helper, still host root, writes the maps; /tmp is given to that uid
   first), as an ordinary user mapped to that user;
4. drops every capability (effective, permitted, inheritable, ambient and the bounding
   set), on top of bubblewrap's ``no_new_privs``.

After it, worker and jobs run as uid 1000 *inside* and as an unprivileged uid outside,
without capabilities, so a compromise of the worker is not one of the host. As an ordinary
user the worker must then re-execute itself (``reexec`` in the result): the kernel owns a
process's /proc files by the root of the user namespace its program was started in, and in
bubblewrap's namespace that root is the job's own uid, so a job could list the worker's
descriptors or raise its OOM score; started in the new namespace, which maps no root, the
worker's /proc files belong to the host's root. What else keeps jobs from the worker (same
uid) is the worker's own doing: it is PID 1 of its PID namespace, not dumpable, and every
job carries the seccomp filter (:mod:`seccomp`).

Deliberately left out: deciding the uid and the sizes (the host's, see :mod:`launch`) and the
``rlimits`` level (no namespaces to work with). Standard library only: it runs in the sandbox.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

__all__ = ["INSIDE_ID", "ConfineError", "confine"]

INSIDE_ID = 1000  # uid and gid of worker and jobs inside their user namespace

_MS_RDONLY = 1
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_NOEXEC = 8
_MS_REMOUNT = 32
_MS_BIND = 4096
_MS_REC = 16384
_CLONE_NEWUSER = 0x10000000
_PR_CAPBSET_DROP = 24
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_PR_SET_NO_NEW_PRIVS = 38
_CAPABILITY_V3 = 0x20080522


class ConfineError(OSError):
    """A confinement step failed; the worker must not serve jobs."""


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise ConfineError(err, f"{what}: {os.strerror(err)}")


def _mount(libc: ctypes.CDLL, target: str, flags: int, *, data: str | None = None,
           source: str | None = None, fstype: str | None = None) -> None:  # fmt: skip
    encoded = [None if v is None else v.encode() for v in (source, target, fstype, data)]
    _check(libc.mount(encoded[0], encoded[1], encoded[2], flags, encoded[3]), f"mount {target}")


def _own_user_namespace(libc: ctypes.CDLL, outside: int, *, helper: bool) -> None:
    """Enter a new user namespace whose :data:`INSIDE_ID` is ``outside`` (an id of the
    current namespace) and switch to it. ``helper``: the maps need privileges we hold (host
    root): a forked child, still outside, writes them; else we write our own."""
    line = f"{INSIDE_ID} {outside} 1\n"
    if not helper:
        _check(libc.unshare(_CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")
        for name, data in (("setgroups", "deny"), ("gid_map", line), ("uid_map", line)):
            with open(f"/proc/self/{name}", "w", encoding="ascii") as idmap:
                idmap.write(data)
    else:
        ready_r, ready_w = os.pipe()
        done_r, done_w = os.pipe()
        parent = os.getpid()
        child = os.fork()
        if child == 0:  # pragma: no cover - still host root: writes the new namespace's maps
            status = 1
            try:
                os.close(ready_w)
                os.close(done_r)
                if os.read(ready_r, 1) == b"1":
                    for name in ("uid_map", "gid_map"):
                        with open(f"/proc/{parent}/{name}", "w", encoding="ascii") as idmap:
                            idmap.write(line)
                    status = 0
                os.write(done_w, b"1" if status == 0 else b"0")
            finally:
                os._exit(status)
        os.close(ready_r)
        os.close(done_w)
        unshared = libc.unshare(_CLONE_NEWUSER)
        err = ctypes.get_errno()
        os.write(ready_w, b"1" if unshared == 0 else b"0")
        os.close(ready_w)
        mapped = os.read(done_r, 1) == b"1"
        os.close(done_r)
        os.waitpid(child, 0)
        if unshared != 0:
            raise ConfineError(err, f"unshare(CLONE_NEWUSER): {os.strerror(err)}")
        if not mapped:
            raise ConfineError(0, "could not write the user namespace's id maps")
        os.setgroups([])
    os.setresgid(INSIDE_ID, INSIDE_ID, INSIDE_ID)
    os.setresuid(INSIDE_ID, INSIDE_ID, INSIDE_ID)


def _drop_capabilities(libc: ctypes.CDLL) -> None:
    """Drop the bounding set (needs ``CAP_SETPCAP``, which the new namespace gave us), then
    every other capability."""
    last = 63
    try:
        with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as cap_last:
            last = int(cap_last.read())
    except (OSError, ValueError):
        pass
    for cap in range(last + 1):
        libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the last: harmless
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = _CapHeader(_CAPABILITY_V3, 0)
    data = (_CapData * 2)()
    _check(libc.capset(ctypes.byref(header), data), "capset")
    _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    with open("/proc/self/status", encoding="ascii") as status:
        left = [line for line in status if line.startswith(("CapPrm", "CapEff", "CapBnd"))]
    if any(int(line.split()[1], 16) for line in left):
        raise ConfineError(0, f"capabilities left after dropping them: {left}")


def confine(config: dict[str, Any]) -> dict[str, Any]:
    """Run the steps above as ``config`` says (``tmp_root``, ``tmp_bytes``, ``tmp_inodes``,
    ``host_uid``); what was done, for the host, and ``reexec``: whether the caller must now
    re-execute its program (see the module docstring). ConfineError if any step fails."""
    libc = _libc()
    tmp = str(config["tmp_root"])
    size, inodes = int(config["tmp_bytes"]), int(config["tmp_inodes"])
    options = f"size={size},nr_inodes={inodes}"
    _mount(libc, tmp, _MS_REMOUNT | _MS_NOSUID | _MS_NODEV, data=options, fstype="tmpfs")
    _mount(libc, "/proc/sys", _MS_BIND | _MS_REC, source="/proc/sys")
    flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    _mount(libc, "/proc/sys", flags)
    os.chmod(tmp, 0o1777)
    root = config.get("host_uid") is not None
    if root:
        outside = int(config["host_uid"])
        os.chown(tmp, outside, outside)
    else:  # the user this worker is on the host: what uid 0 of bubblewrap's namespace maps to
        with open("/proc/self/uid_map", encoding="ascii") as uid_map:
            outside = int(uid_map.read().split()[1])
    _own_user_namespace(libc, outside if root else os.getuid(), helper=root)
    _drop_capabilities(libc)
    return {"tmp_options": options, "host_uid": outside, "reexec": not root}
