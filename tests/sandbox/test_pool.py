"""The worker pool: async and concurrent use, per-call limits, restarts, closing."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from typing import Any

import pytest

from creator.errors import SandboxError
from creator.sandbox import CodePart, ExecResult, Limits, WorkerPool, make_sandbox, pool
from creator.sandbox.handle import WorkerHandle

from .conftest import LIMITS, assert_still_works, needs_bwrap, run

pytestmark = needs_bwrap


def test_async_jobs_run_concurrently_on_the_workers(bwrap_box: WorkerPool) -> None:
    async def main() -> list[str]:
        jobs = [
            bwrap_box.run(
                [CodePart(name="decision", code=f"import time\ntime.sleep(0.4)\nprint({i})")]
            )
            for i in range(4)
        ]
        results = await asyncio.gather(*jobs)
        return [r.stdout for r in results]

    started = time.monotonic()
    outputs = asyncio.run(main())
    assert outputs == ["0\n", "1\n", "2\n", "3\n"]
    assert time.monotonic() - started < 1.5  # 2 workers: two rounds of 0.4 s, not four


def test_concurrent_jobs_never_see_each_others_files(bwrap_box: WorkerPool) -> None:
    code = (
        "import os, time\nopen('mine-{tag}.txt', 'w').write('{tag}')\ntime.sleep(0.3)\n"
        "found = []\nfor top, dirs, files in os.walk('/tmp'):\n"
        "    dirs[:] = [d for d in dirs if not os.path.ismount(os.path.join(top, d))]\n"
        "    found += files\nprint(sorted(found))"
    )

    async def main() -> list[str]:
        jobs = [bwrap_box.run([CodePart(name="d", code=code.format(tag=t))]) for t in "ab"]
        return [r.stdout for r in await asyncio.gather(*jobs)]

    assert asyncio.run(main()) == ["['mine-a.txt']\n", "['mine-b.txt']\n"]


def test_limits_are_set_per_call(bwrap_box: WorkerPool) -> None:
    grab = "x = bytearray(150 << 20)\nprint('got it')"
    assert run(bwrap_box, grab, memory_mb=400).ok
    assert run(bwrap_box, grab, memory_mb=64).memory_exceeded
    quick = run(bwrap_box, "import time\ntime.sleep(0.5)\nprint('done')", timeout_s=0.2)
    assert quick.timed_out
    slow = run(bwrap_box, "import time\ntime.sleep(0.5)\nprint('done')", timeout_s=3)
    assert slow.ok and slow.stdout == "done\n"
    small = run(bwrap_box, "print('y' * 5000)", max_output_bytes=100)
    assert small.output_truncated and len(small.stdout) == 100


def test_preloaded_modules_work(bwrap_box: WorkerPool) -> None:
    code = (
        "import numpy as np, sympy as sp, scipy.optimize as so, pandas as pd\n"
        "x = sp.Symbol('x')\n"
        "print(sp.solve(x**2 - 9, x), int(np.arange(4).sum()),"
        " round(so.brentq(lambda t: t - 2, 0, 5), 6), int(pd.DataFrame({'a': [1, 2]})['a'].sum()))"
    )
    result = run(bwrap_box, code)
    assert result.ok, result
    assert result.stdout == "[-3, 3] 6 2.0 3\n"
    assert result.isolation == "bwrap"


def _record_runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, float]]:
    """For each job from now on, in order: the pid of the worker process that runs it and
    how long its reply is busy-polled for."""
    runs: list[tuple[int, float]] = []
    original = WorkerHandle.run

    def run_and_record(self: WorkerHandle, request: dict[str, Any], *, poll_s: float) -> Any:
        assert self.proc is not None
        runs.append((self.proc.pid, poll_s))
        return original(self, request, poll_s=poll_s)

    monkeypatch.setattr(WorkerHandle, "run", run_and_record)
    return runs


def test_workers_are_replaced_after_max_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _record_runs(monkeypatch)
    with make_sandbox("bwrap", workers=1, limits=LIMITS, warm=[], max_jobs_per_worker=2) as box:
        outputs = [run(box, "print('ok')").stdout for _ in range(5)]
    assert outputs == ["ok\n"] * 5
    served = [pid for pid, _ in runs]
    assert served[0] == served[1] != served[2] == served[3] != served[4]


def test_a_replacement_starts_in_the_background(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _record_runs(monkeypatch)
    go_on = threading.Event()
    original = WorkerHandle.start

    def held_start(self: WorkerHandle, timeout_s: float) -> None:
        if runs:  # the first start, on first use, is not held
            go_on.wait(10)
        original(self, timeout_s)

    monkeypatch.setattr(WorkerHandle, "start", held_start)
    with make_sandbox("bwrap", workers=1, limits=LIMITS, warm=[], max_jobs_per_worker=1) as box:
        assert run(box, "print(1)").stdout == "1\n"  # returns while the replacement is held
        results: list[ExecResult] = []
        waiting = threading.Thread(target=lambda: results.append(run(box, "print(2)")))
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive() and not results  # no worker free until the replacement
        go_on.set()
        waiting.join(10)
    assert [r.stdout for r in results] == ["2\n"]
    assert len(runs) == 2 and runs[0][0] != runs[1][0]


def test_only_a_job_on_an_idle_pool_is_busy_polled(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _record_runs(monkeypatch)
    monkeypatch.setattr(pool, "_IDLE_S", 1.0)  # "right after" then has a second to spare
    with make_sandbox("bwrap", workers=2, limits=LIMITS, warm=[]) as box:
        assert run(box, "print(1)").ok  # idle: polled
        assert run(box, "print(2)").ok  # right after another: not polled
        time.sleep(1.2)
        slow = threading.Thread(target=run, args=(box, "import time\ntime.sleep(0.5)"))
        slow.start()  # idle again: polled
        time.sleep(0.2)
        assert run(box, "print(3)").ok  # another job in flight: not polled
        slow.join()
    polls = [poll_s for _, poll_s in runs]
    assert polls[0] > 0 and polls[1] == 0
    assert sorted(polls[2:]) == [0, polls[0]]


def test_a_closed_sandbox_refuses_jobs() -> None:
    box = make_sandbox("bwrap", workers=1, limits=LIMITS, warm=[])
    assert run(box, "print(1)").ok
    box.close()
    with pytest.raises(SandboxError):
        run(box, "print(1)")
    asyncio.run(box.aclose())  # closing twice is fine


def test_default_limits_come_from_make_sandbox() -> None:
    with make_sandbox("bwrap", workers=1, limits=Limits(timeout_s=0.3), warm=[]) as box:
        result = box.run_sync([CodePart(name="d", code="import time\ntime.sleep(5)")])
    assert result.timed_out


def _kill_worker(box: WorkerPool) -> None:
    proc = box._workers[0].proc  # the host-side handle of the only worker
    assert proc is not None
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_a_worker_that_dies_is_replaced() -> None:
    with make_sandbox("bwrap", workers=1, limits=LIMITS, warm=[]) as box:
        assert isinstance(box, WorkerPool)
        assert run(box, "print(1)").ok
        _kill_worker(box)  # between jobs
        assert_still_works(box)
        killer = threading.Timer(0.3, _kill_worker, args=(box,))
        killer.start()
        lost = run(box, "import time\ntime.sleep(1.5)", timeout_s=5)  # during a job
        killer.join()
        assert not lost.ok and lost.exit_code is None
        assert "lost" in lost.stderr
        assert_still_works(box)


def test_each_job_gets_fresh_random_state(bwrap_box: WorkerPool) -> None:
    code = "import random, numpy\nprint(random.random(), numpy.random.rand())"
    outputs = {run(bwrap_box, code).stdout for _ in range(4)}
    assert len(outputs) == 4
