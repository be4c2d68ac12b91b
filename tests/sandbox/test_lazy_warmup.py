"""A worker takes jobs before its heavy warm-up is done, and a run starts the sandbox early.

The background warm-up is held back here (its steps wait on an event) so that what a job
meets is the state of a worker whose warm-up is unfinished, whatever the machine's speed.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from creator.sandbox import CodePart, WorkerPool, launch, make_sandbox, start_early
from creator.sandbox.handle import WorkerHandle
from creator.sandbox.routing import needed_units
from creator.sandbox.warmup import WarmPlan, heavy_units, units
from tests.cli.test_solve import creator

from .conftest import LIMITS, needs_bwrap, run


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, ...]]]:
    """Hold every background warm-up step (no units named) until the test ends; steps for
    a job's units go through. Yields the units each step was asked for, in order."""
    release = threading.Event()
    asked: list[tuple[str, ...]] = []
    original = WorkerHandle.warm_step

    def step(self: WorkerHandle, need: Sequence[str] = (), **kwargs: Any) -> None:
        asked.append(tuple(need))
        if not need:
            release.wait(timeout=60)
        original(self, need, **kwargs)

    monkeypatch.setattr(WorkerHandle, "warm_step", step)
    yield asked
    release.set()


def _full_pool() -> WorkerPool:
    box = make_sandbox("bwrap", workers=1, light_workers=0, limits=LIMITS, tmpfs_mb=64)
    assert isinstance(box, WorkerPool)
    return box


@needs_bwrap
def test_a_standard_library_job_runs_before_any_heavy_module_is_warm(
    held: list[tuple[str, ...]],
) -> None:
    with _full_pool() as box:
        result = run(box, "import math, sys\nprint(math.isqrt(17), 'numpy' in sys.modules)")
        assert result.ok, result
        assert result.stdout == "4 False\n"
        (worker,) = box._workers
        assert worker.warming and "math" in worker.warm
        assert not worker.warm & {"numpy", "sympy", "scipy", "pandas"}
        assert all(need == () for need in held)  # nothing was imported for this job


@needs_bwrap
def test_a_job_waits_only_for_the_units_it_imports(held: list[tuple[str, ...]]) -> None:
    code = (
        "import sympy, sys\nx = sympy.Symbol('x')\n"
        "print(sympy.solve(x - 2, x), 'pandas' in sys.modules)"
    )
    with _full_pool() as box:
        assert run(box, "print(1)").ok  # started with the standard library only
        result = run(box, code)
        assert result.ok, result
        assert result.stdout == "[2] False\n"
        (worker,) = box._workers
        assert ("sympy",) in held
        assert "sympy" in worker.warm and "pandas" not in worker.warm
        assert worker.warming  # the rest is still to come
        again = run(box, "import sys\nprint('sympy' in sys.modules)")
        assert again.stdout == "True\n"  # later jobs fork from the state with sympy


@needs_bwrap
def test_the_first_job_names_what_a_new_worker_imports_first(
    held: list[tuple[str, ...]],
) -> None:
    with _full_pool() as box:
        result = run(
            box, "import numpy as np, sys\nprint(np.arange(3).sum(), 'sympy' in sys.modules)"
        )
        assert result.stdout == "3 False\n", result
        (worker,) = box._workers
        assert "numpy" in worker.warm and "sympy" not in worker.warm
        assert all(need == () for need in held)  # no step was needed for it


@needs_bwrap
def test_a_worker_imports_only_units_of_its_plan() -> None:
    launcher = ThreadPoolExecutor(1)
    spec = functools.partial(launch.bwrap_spec, warm=["math", "numpy"], lazy=True, tmpfs_mb=64)
    worker = WorkerHandle(spec, launcher)
    try:
        worker.start(60)
        assert worker.warming and "numpy" not in worker.warm
        worker.warm_step(["this", "antigravity", "numpy"])  # names as a host could send them
        assert "numpy" in worker.warm and "this" not in worker.warm
        code = "import sys\nprint(sorted({'this', 'antigravity', 'numpy'} & set(sys.modules)))"
        request = {"parts": [{"name": "t", "code": code}], "limits": LIMITS.model_dump()}
        assert worker.run(request)["stdout"] == "['numpy']\n"
    finally:
        worker.stop()
        launcher.shutdown()


@needs_bwrap
def test_start_background_warms_every_worker_and_says_when() -> None:
    box = make_sandbox("bwrap", workers=1, light_workers=1, warm=["math", "fractions", "numpy"])
    assert isinstance(box, WorkerPool)
    notes: list[str] = []
    ready = threading.Event()

    def note(text: str) -> None:
        notes.append(text)
        if text.startswith("sandbox ready"):
            ready.set()

    with box:
        assert start_early(box, note=note)
        assert not start_early(box, note=note)  # once
        assert ready.wait(timeout=60), notes
        assert notes[0] == "starting the sandbox ..."
        assert notes[1].startswith("sandbox ready (2 workers, ") and notes[1].endswith(" s)")
        assert all(w.alive and not w.warming for w in box._workers)
        full = box._workers[0]
        assert {"numpy", "fractions"} <= full.warm and full.info["hot_pages"] > 0
        assert run(box, "import numpy\nprint(int(numpy.arange(4).sum()))").stdout == "6\n"
    assert not start_early(make_sandbox("none"))


@needs_bwrap
def test_start_waits_for_the_whole_warm_up(bwrap_box: WorkerPool) -> None:
    full = [w for w in bwrap_box._workers if "numpy" in w.warm]
    assert len(full) == 2
    for worker in bwrap_box._workers:
        assert worker.alive and not worker.warming
    assert all({"sympy", "scipy.stats", "pandas"} <= w.warm for w in full)


@needs_bwrap
def test_eval_says_it_starts_the_sandbox_before_its_first_problem(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ("eval", "--dataset", "creation", "--model", "reference", "--limit", "2")
    first = creator(*args, "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[1] == "starting the sandbox ..."
    again = creator(*args, "--out", str(out))  # nothing left to do: nothing started
    assert again.returncode == 0 and "starting the sandbox" not in again.stdout


def test_warm_plan_takes_steps_and_imports_only_its_own_units() -> None:
    plan = WarmPlan(["math", "json"])
    plan.light()
    assert plan.pending and plan.warm_units() == ["math", "json"]
    plan.need(["this"])  # not a unit of the plan: never imported
    assert "this" not in plan.units
    assert plan.step() and not plan.pending  # the rehearsal
    assert not plan.step()
    assert plan.failures == []


def test_units_split_scipy_into_what_its_exercise_imports() -> None:
    modules = ["math", "numpy", "scipy"]
    assert units(modules) == [
        *("math", "numpy", "scipy", "scipy.special", "scipy.optimize"),
        *("scipy.integrate", "scipy.stats"),
    ]
    assert heavy_units(modules) == units(modules)[1:]


@pytest.mark.parametrize(
    ("code", "need"),
    [
        ("print(1)", []),
        ("import math\nimport numpy as np", ["numpy"]),
        ("from scipy.optimize import brentq", ["scipy", "scipy.optimize"]),
        ("from scipy import stats, special as sp", ["scipy", "scipy.special", "scipy.stats"]),
        ("import scipy.integrate, pandas", ["scipy", "scipy.integrate", "pandas"]),
        ("from sympy import *\n", ["sympy"]),
        ("__import__('numpy')", []),  # not seen: the job imports it itself
    ],
)
def test_needed_units(code: str, need: list[str]) -> None:
    heavy = heavy_units(["math", "numpy", "sympy", "scipy", "pandas"])
    assert sorted(needed_units([CodePart(name="t", code=code)], heavy)) == sorted(need)
