"""Learning which pages a job writes, and faulting them in ahead of time (Linux only)."""

from __future__ import annotations

import ctypes
import mmap
import sys

import pytest

from creator.sandbox.system import Prefaulter, page_flags, written_pages

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")

PAGE = mmap.PAGESIZE
PRESENT = 1 << 63


def _region(pages: int) -> tuple[mmap.mmap, int]:
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS  # as the heap: nothing present yet
    buffer = mmap.mmap(-1, pages * PAGE, flags=flags)
    return buffer, ctypes.addressof(ctypes.c_char.from_buffer(buffer))


def _present(address: int, pages: int) -> list[bool]:
    (flags,) = page_flags([(address, address + pages * PAGE)])
    return [bool(entry & PRESENT) for entry in flags]


def test_written_pages_finds_the_pages_a_workload_touches_first() -> None:
    buffer, address = _region(16)

    def workload() -> None:
        for page in (2, 3, 4, 9):
            buffer[page * PAGE] = 1

    runs = written_pages(workload)
    mine = [(start, count) for start, count in runs if address <= start < address + 16 * PAGE]
    assert mine == [(address + 2 * PAGE, 3), (address + 9 * PAGE, 1)]
    buffer.close()


@pytest.mark.parametrize("vectored", [True, False], ids=["process_madvise", "madvise"])
def test_prefaulter_faults_in_exactly_its_runs(vectored: bool) -> None:
    buffer, address = _region(200)
    runs = [(address + PAGE, 2), (address + 10 * PAGE, 1)] + [
        (address + page * PAGE, 1) for page in range(20, 200, 2)
    ]
    prefaulter = Prefaulter(runs, batch=8)
    if vectored and prefaulter.method != "process_madvise":
        pytest.skip("this kernel has no process_madvise(MADV_POPULATE_WRITE) on itself")
    prefaulter._vectored = vectored  # the fallback is what older kernels get
    assert prefaulter.pages == 3 + 90
    prefaulter.run(stop=lambda: False)
    wanted = {1, 2, 10, *range(20, 200, 2)}
    assert _present(address, 200) == [page in wanted for page in range(200)]
    buffer.close()


def test_prefaulter_stops_when_asked() -> None:
    buffer, address = _region(64)
    prefaulter = Prefaulter([(address + page * PAGE, 1) for page in range(0, 64, 2)], batch=4)
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 2  # two batches (or runs) done, then stop

    prefaulter.run(stop=stop)
    done = sum(_present(address, 64))
    assert 1 <= done < 32
    buffer.close()
