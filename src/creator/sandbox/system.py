"""Small operating-system helpers for the worker: prctl, limits, process counts, heap, wipe.

Deliberately left out: anything with policy (which limit, when to wipe) - see
:mod:`worker`. Standard library only: loaded inside the sandbox. Linux-specific calls are
best effort and do nothing elsewhere.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import shutil
import sys
from collections.abc import Sequence

__all__ = ["collapse_heap", "prctl", "processes_of", "set_limit", "vm_size", "wipe"]

_LINUX = sys.platform.startswith("linux")
_MADV_HUGEPAGE = 14
_MADV_COLLAPSE = 25
_HUGE = 2 << 20
_libc = ctypes.CDLL(None, use_errno=True) if _LINUX else None


def prctl(option: int, value: int) -> None:
    """``prctl(option, value)``; ignored off Linux."""
    if _libc is not None:
        _libc.prctl(option, value, 0, 0, 0)


def vm_size() -> int:
    """Current virtual size in bytes (Linux), 0 when unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def processes_of(uid: int) -> int | None:
    """How many visible processes belong to ``uid`` (RLIMIT_NPROC counts them all).

    None when there is no /proc to count them in.
    """
    count = 0
    try:
        with os.scandir("/proc") as entries:
            for entry in entries:
                if entry.name.isdigit():
                    with contextlib.suppress(OSError):
                        count += entry.stat().st_uid == uid
    except OSError:
        return None
    return count


def set_limit(kind: int, value: int) -> None:
    """Set soft and hard ``kind`` to ``value`` (at most the current hard limit)."""
    _, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    with contextlib.suppress(ValueError, OSError):  # e.g. macOS and a low address space
        resource.setrlimit(kind, (value, value))


def collapse_heap() -> int:
    """Back the warm heap with transparent huge pages; MiB collapsed (0 if unsupported).

    fork() copies page tables per 4 KiB page of anonymous memory; with 2 MiB pages a warm
    interpreter with numpy, sympy, scipy and pandas forks and exits several times faster.
    """
    if _libc is None:
        return 0
    madvise = _libc.madvise
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    collapsed = 0
    try:
        with open("/proc/self/maps", encoding="ascii") as maps:
            regions = [line.split() for line in maps]
    except OSError:
        return 0
    for fields in regions:
        if fields[1] != "rw-p" or (len(fields) > 5 and fields[5] != "[heap]"):
            continue
        low, high = (int(x, 16) for x in fields[0].split("-"))
        start, end = -(-low // _HUGE) * _HUGE, high // _HUGE * _HUGE
        if end - start < _HUGE:
            continue
        if madvise(start, end - start, _MADV_HUGEPAGE) == 0 and (
            madvise(start, end - start, _MADV_COLLAPSE) == 0
        ):
            collapsed += (end - start) >> 20
    return collapsed


def wipe(root: str, *, keep: Sequence[str] = ()) -> bool:
    """Delete everything under ``root`` but ``keep`` (and the directories leading to it).

    False if something could not be removed.
    """
    kept = {os.path.normpath(path) for path in keep}
    leading: set[str] = set()
    for path in kept:
        while (path := os.path.dirname(path)) not in leading and path != os.path.dirname(path):
            leading.add(path)
    clean = True
    with os.scandir(root) as entries:
        for entry in entries:
            path = os.path.normpath(entry.path)
            if path in kept:
                continue
            if path in leading:
                clean = wipe(path, keep=keep) and clean
                continue
            for top, dirs, _ in os.walk(path):
                for name in dirs:
                    with contextlib.suppress(OSError):
                        os.chmod(os.path.join(top, name), 0o700, follow_symlinks=False)
            try:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
            except OSError:
                clean = False
    return clean
