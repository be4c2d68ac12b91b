"""Small operating-system helpers for the worker: prctl, limits, process counts, heap, pages.

Also the page-fault bookkeeping: which pages a typical job writes first after fork
(:func:`written_pages`, read from /proc/self/pagemap: copies on write in the heap, in
anonymous memory, in the libraries' writable data and on the stack, and heap pages it
touches for the first time), and faulting them in ahead of time in a waiting child
(:class:`Prefaulter`), which takes ~1,500 faults (~2.5 us each here) off a first
``sympy.solve``.

Deliberately left out: anything with policy (which limit, when to prefault) - see
:mod:`worker`. Standard library only: loaded inside the sandbox. Linux-specific calls are
best effort and do nothing elsewhere.
"""

from __future__ import annotations

import array
import contextlib
import ctypes
import errno
import json
import os
import resource
import sys
from collections.abc import Callable, Sequence

__all__ = [
    "Prefaulter",
    "collapse_heap",
    "prctl",
    "probe_written_pages",
    "processes_of",
    "set_limit",
    "vm_size",
    "written_pages",
]

_LINUX = sys.platform.startswith("linux")
_MADV_HUGEPAGE = 14
_MADV_COLLAPSE = 25
_HUGE = 2 << 20
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_libc = ctypes.CDLL(None, use_errno=True) if _LINUX else None
_madvise = _libc.madvise if _libc is not None else None
if _madvise is not None:
    _madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


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
    if _madvise is None:
        return 0
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
        if _madvise(start, end - start, _MADV_HUGEPAGE) == 0 and (
            _madvise(start, end - start, _MADV_COLLAPSE) == 0
        ):
            collapsed += (end - start) >> 20
    return collapsed


_OURS = ("[heap]", "[stack]")  # not [vvar], [vdso] and the like
_PRESENT = 1 << 63
_EXCLUSIVE = 1 << 56
_MADV_POPULATE_WRITE = 23
_IOV_MAX = 1024
# process_madvise: the same number on x86_64 and in the generic table (aarch64).
_PROCESS_MADVISE = 440 if _LINUX and os.uname().machine in ("x86_64", "aarch64") else None


def _writable_regions() -> list[tuple[int, int]]:
    """Private writable mappings: the heap, anonymous memory, the stack, and the writable
    data of the interpreter and its libraries (copied on write after fork like the rest)."""
    regions = []
    with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            name = fields[5].strip() if len(fields) > 5 else ""
            if fields[1] == "rw-p" and (not name.startswith("[") or name in _OURS):
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
    """Pages this (freshly forked) process faults in for writing while running ``workload``.

    Returned as (address, pages) runs: pages present at the start and exclusively mapped
    (copied) at the end, and pages absent at the start and present at the end (first
    touched). Empty where /proc/self/pagemap is unavailable.
    """
    try:
        regions = _writable_regions()
        before = page_flags(regions)
        workload()
        after = page_flags(regions)
    except OSError:
        return []
    runs: list[tuple[int, int]] = []
    for (low, _), old, new in zip(regions, before, after, strict=True):
        for index, (was, now) in enumerate(zip(old, new, strict=True)):
            copied = was & _PRESENT and not was & _EXCLUSIVE and now & _EXCLUSIVE
            if copied or (not was & _PRESENT and now & _PRESENT):
                address = low + index * _PAGE
                if runs and runs[-1][0] + runs[-1][1] * _PAGE == address:
                    runs[-1] = (runs[-1][0], runs[-1][1] + 1)
                else:
                    runs.append((address, 1))
    return runs


_PR_SET_DUMPABLE = 4
_PR_SET_THP_DISABLE = 41


def probe_written_pages(workload: Callable[[], object]) -> list[tuple[int, int]]:
    """:func:`written_pages` of ``workload``, run in a forked child (its output discarded),
    as a job would run in a child forked from this process. Empty when it fails."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the probe child never returns
        try:
            # Our /proc/self/pagemap belongs to root while we are not dumpable (and we are
            # an unprivileged uid); no job exists yet to make use of it being open.
            prctl(_PR_SET_DUMPABLE, 1)
            prctl(_PR_SET_THP_DISABLE, 1)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (1, 2):
                os.dup2(null, fd)
            data = json.dumps(written_pages(workload)).encode()
            while data:
                data = data[os.write(write_end, data) :]
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 1 << 20):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    try:
        return [(int(a), int(n)) for a, n in json.loads(b"".join(chunks) or b"[]")]
    except (ValueError, TypeError):
        return []


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


class Prefaulter:
    """Pages a job will write (runs from :func:`written_pages`), faulted in ahead of time.

    Built once in the worker, used in each forked child. Where the kernel allows
    ``process_madvise`` on the caller itself (Linux 6.13+), the runs are iovec batches of
    about ``batch`` pages made here, and a child makes one ``MADV_POPULATE_WRITE`` call per
    batch: scattered runs (a sympy job's ~2,800 pages lie in ~1,500 of them) cost ~2 us a
    page that way against ~4 us with one ``madvise`` per run, the fallback (Linux 5.14+).
    """

    def __init__(self, runs: Sequence[tuple[int, int]], *, batch: int = 64) -> None:
        self.pages = sum(pages for _, pages in runs)
        self._runs = list(runs)
        self._vec = (_IoVec * len(runs))(*[_IoVec(a, n * _PAGE) for a, n in runs])
        self._batches: list[tuple[ctypes.c_void_p, ctypes.c_size_t]] = []
        first, pages = 0, 0
        for index, (_, count) in enumerate(runs):
            pages += count
            if pages >= batch or index - first + 1 == _IOV_MAX or index == len(runs) - 1:
                address = ctypes.addressof(self._vec) + first * ctypes.sizeof(_IoVec)
                self._batches.append((ctypes.c_void_p(address), ctypes.c_size_t(index - first + 1)))
                first, pages = index + 1, 0
        self._vectored = bool(runs) and self._process_madvise(self._batches[:1])

    def _process_madvise(
        self,
        batches: Sequence[tuple[ctypes.c_void_p, ctypes.c_size_t]],
        *,
        stop: Callable[[], bool] = lambda: False,
    ) -> bool:
        """Populate ``batches`` with process_madvise on this process; False if unsupported."""
        if _libc is None or _PROCESS_MADVISE is None:
            return False
        try:
            pidfd = os.pidfd_open(os.getpid())
        except (AttributeError, OSError):
            return False
        try:
            for vec, count in batches:
                if stop():
                    return True
                advice = ctypes.c_int(_MADV_POPULATE_WRITE)
                done = _libc.syscall(_PROCESS_MADVISE, ctypes.c_int(pidfd), vec, count, advice, 0)
                if done < 0:
                    return False
            return True
        finally:
            os.close(pidfd)

    @property
    def method(self) -> str:
        """How :meth:`run` faults pages in here."""
        if not self._runs or _libc is None:
            return "none"
        return "process_madvise" if self._vectored else "madvise"

    def run(self, *, stop: Callable[[], bool]) -> None:
        """Fault the pages in, a batch (or a run) at a time, until ``stop()``."""
        if self._vectored:
            self._process_madvise(self._batches, stop=stop)
            return
        if _madvise is None:
            return
        for address, pages in self._runs:
            if stop():
                return
            failed = _madvise(address, pages * _PAGE, _MADV_POPULATE_WRITE) != 0
            if failed and ctypes.get_errno() == errno.EINVAL:
                return  # not supported here
