"""Small operating-system helpers for the worker: prctl, limits, process counts, heap, wipe.

Also the page-fault bookkeeping: which pages a typical job copies on write after fork
(:func:`written_pages`, read from /proc/self/pagemap) and copying them ahead of time in a
waiting child (:func:`prefault`), which takes ~2,000 faults off a first ``sympy.solve``.

:class:`TmpCheck` tells from the private tmpfs's inode count that a job left no file there,
so the worker can skip the scan-and-delete of :func:`wipe` (about 0.15 ms) after most jobs.

Deliberately left out: anything with policy (which limit, when to wipe) - see
:mod:`worker`. Standard library only: loaded inside the sandbox. Linux-specific calls are
best effort and do nothing elsewhere.
"""

from __future__ import annotations

import array
import contextlib
import ctypes
import errno
import os
import resource
import shutil
import sys
from collections.abc import Callable, Sequence

__all__ = [
    "TmpCheck",
    "collapse_heap",
    "prctl",
    "prefault",
    "processes_of",
    "set_limit",
    "vm_size",
    "wipe",
    "written_pages",
]

_LINUX = sys.platform.startswith("linux")
_MADV_HUGEPAGE = 14
_MADV_COLLAPSE = 25
_HUGE = 2 << 20
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_libc = ctypes.CDLL(None, use_errno=True) if _LINUX else None


def prctl(option: int, value: int) -> None:
    """``prctl(option, value)``; ignored off Linux."""
    if _libc is not None:
        _libc.prctl(option, value, 0, 0, 0)


def vm_size() -> int:
    """Current virtual size in bytes (Linux), 0 when unknown."""
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        return 0
    try:
        return int(os.read(fd, 256).split()[0]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0
    finally:
        os.close(fd)


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


class TmpCheck:
    """Whether the private tmpfs at ``root`` holds only its clean state: root and ``jobdir``.

    A cheap test that lets the worker skip the scan-and-delete of :func:`wipe` after most
    jobs. Only sound for a tmpfs that nothing but the jobs writes to and that has no other
    entries a job could remove or rename (such as bind-mount points and their parents):
    pass ``enabled=False`` otherwise. :meth:`reset` must be called while it is clean.
    """

    def __init__(self, root: str, jobdir: str, *, enabled: bool) -> None:
        self.root = root
        self.jobdir = jobdir
        self.enabled = enabled
        self._baseline: int | None = None

    def _inodes(self) -> int | None:
        try:
            stat = os.statvfs(self.root)
        except OSError:
            return None
        return stat.f_files - stat.f_ffree if stat.f_files > 0 else None  # 0: not counted

    def reset(self) -> None:
        """Take the current inode count as the clean state's."""
        self._baseline = self._inodes() if self.enabled else None

    def clear_if_clean(self) -> bool:
        """Remove the empty job directory and return True if nothing else was created.

        Inodes count files, directories, links, and user xattrs (which take inode space on
        tmpfs). Every clean-state inode but the job directory is the tmpfs root, which a
        job cannot remove, so an equal count with the job directory removable as an empty
        directory leaves room for nothing else. False: the caller must :func:`wipe`.
        """
        if self._baseline is None or self._inodes() != self._baseline:
            return False
        try:
            os.rmdir(self.jobdir)
        except OSError:
            return False
        return True


_PRESENT = 1 << 63
_EXCLUSIVE = 1 << 56
_MADV_POPULATE_WRITE = 23


def _anon_regions() -> list[tuple[int, int]]:
    regions = []
    with open("/proc/self/maps", encoding="ascii") as maps:
        for line in maps:
            fields = line.split()
            if fields[1] == "rw-p" and (len(fields) < 6 or fields[5] == "[heap]"):
                low, high = (int(x, 16) for x in fields[0].split("-"))
                regions.append((low, high))
    return regions


def page_flags(regions: Sequence[tuple[int, int]]) -> list[array.array[int]]:
    """The pagemap entry of every page of ``regions`` (present, exclusively mapped, ...)."""
    flags = []
    with open("/proc/self/pagemap", "rb", buffering=0) as pagemap:
        for low, high in regions:
            pagemap.seek(low // _PAGE * 8)
            entries = array.array("Q")
            entries.frombytes(pagemap.read((high - low) // _PAGE * 8))
            flags.append(entries)
    return flags


def written_pages(workload: Callable[[], object]) -> list[tuple[int, int]]:
    """Pages this (freshly forked) process copies on write while running ``workload``.

    Returned as (address, pages) runs: pages present at the start and exclusively mapped
    (copied) at the end. Empty where /proc/self/pagemap is unavailable.
    """
    try:
        regions = _anon_regions()
        before = page_flags(regions)
        workload()
        after = page_flags(regions)
    except OSError:
        return []
    runs: list[tuple[int, int]] = []
    for (low, _), old, new in zip(regions, before, after, strict=True):
        for index, (was, now) in enumerate(zip(old, new, strict=True)):
            if was & _PRESENT and not was & _EXCLUSIVE and now & _EXCLUSIVE:
                address = low + index * _PAGE
                if runs and runs[-1][0] + runs[-1][1] * _PAGE == address:
                    runs[-1] = (runs[-1][0], runs[-1][1] + 1)
                else:
                    runs.append((address, 1))
    return runs


def prefault(runs: Sequence[tuple[int, int]], *, stop: Callable[[], bool], chunk: int = 64) -> None:
    """Copy-on-write ``runs`` ahead of time (MADV_POPULATE_WRITE), ``chunk`` pages at a time,
    until ``stop()``. Does nothing where the kernel lacks it (before Linux 5.14)."""
    if _libc is None:
        return
    madvise = _libc.madvise
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    for address, pages in runs:
        for offset in range(0, pages, chunk):
            if stop():
                return
            size = min(chunk, pages - offset) * _PAGE
            failed = madvise(address + offset * _PAGE, size, _MADV_POPULATE_WRITE) != 0
            if failed and ctypes.get_errno() == errno.EINVAL:
                return  # not supported here
