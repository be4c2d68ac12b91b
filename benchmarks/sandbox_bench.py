"""Executions per second: the sandbox (full isolation) vs a fresh ``python file.py`` per run.

Three snippets - (a) ``print(1+1)``, (b) sympy solving an equation, (c) numpy - measured in
one run three ways, each against the original approach (a fresh interpreter per execution):

* paced: one execution at a time with a pause before each, as in the pipeline (every
  execution follows a model call); the rate is 1 / median time per execution;
* back to back: one at a time, the next right after the previous (throughput);
* N in flight: as many concurrent executions as there are workers (throughput; the fresh
  side runs the same number of processes in parallel).

Slices of the sandbox and fresh measurements alternate so that load from other processes
hits both alike. Not a timed test: figures depend on the machine and its load.

``--cold`` measures a first job instead: a new pool (one worker of each kind, nothing
started, as ``creator exec`` makes) from its creation to the job's result, against one fresh
``python file.py``, alternating, ``--rounds`` times each (``--drop-caches``: the page cache
is dropped before each, as root, to mimic a fresh clone).

    uv run python benchmarks/sandbox_bench.py [--level bwrap] [--seconds 3] [--workers N]
    uv run python benchmarks/sandbox_bench.py --cold [--rounds 9] [--drop-caches]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from creator.sandbox import CodePart, Limits, WorkerPool, isolation_report, make_sandbox

SNIPPETS = {
    "(a) print(1+1)": "print(1+1)\n",
    "(b) sympy solve": (
        "import sympy\nx = sympy.Symbol('x')\nprint(sympy.solve(x**2 - 5*x + 6, x))\n"
    ),
    "(c) numpy": (
        "import numpy as np\na = np.arange(1000.0).reshape(10, 100)\n"
        "print(float(np.sqrt(a).sum()), a.T.dot(a).shape)\n"
    ),
}
PAUSE_S = 0.2
PACED_MIN = 15  # executions per side at least: a median of fewer moved by a third between runs


def _fresh(path: Path) -> None:
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode())


def _rates(steps: dict[str, Callable[[], int]], seconds: float, rounds: int) -> dict[str, float]:
    """Executions/s of each step (a step runs k executions, returns k); slices alternate."""
    done = dict.fromkeys(steps, 0)
    spent = dict.fromkeys(steps, 0.0)
    for step in steps.values():
        step()  # warm-up, not counted
    for _ in range(rounds):
        for name, step in steps.items():
            started = time.perf_counter()
            while (elapsed := time.perf_counter() - started) < seconds / rounds:
                done[name] += step()
            spent[name] += elapsed
    return {name: done[name] / spent[name] for name in steps}


def _paced(steps: dict[str, Callable[[], object]], seconds: float) -> dict[str, float]:
    """1 / median seconds per execution, each after a pause; executions alternate."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    started = time.perf_counter()
    while time.perf_counter() - started < seconds or min(map(len, times.values())) < PACED_MIN:
        for name, step in steps.items():
            time.sleep(PAUSE_S)
            began = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - began)
    return {name: 1 / statistics.median(spent) for name, spent in times.items()}


def _measure(
    box: WorkerPool, code: str, path: Path, args: argparse.Namespace, threads: ThreadPoolExecutor
) -> dict[str, float]:
    n: int = args.workers
    parts = [CodePart(name="decision", code=code)]
    loop = asyncio.new_event_loop()

    def box_one() -> int:
        result = box.run_sync(parts)
        if not result.ok:
            raise RuntimeError(result.error)
        return 1

    async def box_many() -> int:
        results = await asyncio.gather(*(box.run(parts) for _ in range(n * 4)))
        if not all(r.ok for r in results):
            raise RuntimeError("a run failed")
        return len(results)

    def box_conc() -> int:
        return loop.run_until_complete(box_many())

    def fresh_one() -> int:
        _fresh(path)
        return 1

    def fresh_many() -> int:
        list(threads.map(_fresh, [path] * (n * 2)))
        return n * 2

    try:
        paced = _paced({"box paced": box_one, "fresh paced": fresh_one}, args.seconds)
        steps = {"box seq": box_one, "fresh seq": fresh_one}
        steps |= {"box conc": box_conc, "fresh conc": fresh_many}
        return paced | _rates(steps, args.seconds, args.rounds)
    finally:
        loop.close()


def _drop_caches() -> None:
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def _cold(args: argparse.Namespace) -> None:
    """First jobs on new pools against fresh interpreters, alternating."""
    isolation_report(args.level)  # the level's probe, paid once per process, is not timed
    box_s: dict[str, list[float]] = {label: [] for label in SNIPPETS}
    fresh_s: dict[str, list[float]] = {label: [] for label in SNIPPETS}
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for label, code in SNIPPETS.items():
                path = Path(tmp, "file.py")
                path.write_text(code)
                loads.append(os.getloadavg()[0])
                if args.drop_caches:
                    _drop_caches()
                began = time.perf_counter()
                box = make_sandbox(args.level, workers=1, limits=Limits(timeout_s=60))
                result = box.run_sync([CodePart(name="decision", code=code)])
                box_s[label].append(time.perf_counter() - began)
                box.close()
                if not result.ok:
                    raise RuntimeError(result.error)
                if args.drop_caches:
                    _drop_caches()
                began = time.perf_counter()
                _fresh(path)
                fresh_s[label].append(time.perf_counter() - began)
    caches = "page cache dropped before each" if args.drop_caches else "page cache warm"
    print(
        f"\nfirst job on a new pool (sandbox level {args.level}) vs a fresh `python file.py`, "
        f"{args.rounds} of each, alternating; {caches}; load average "
        f"{min(loads):.2f}-{max(loads):.2f}\n"
    )
    print(f"{'snippet':<17} | {'new pool: median (range)':^26} | {'fresh: median (range)':^26}")
    for label in SNIPPETS:
        cells = []
        for times in (box_s[label], fresh_s[label]):
            low, mid, high = min(times), statistics.median(times), max(times)
            cells.append(f"{mid:6.3f} s ({low:.3f}-{high:.3f})")
        ratio = statistics.median(box_s[label]) / statistics.median(fresh_s[label])
        print(f"{label:<17} | {cells[0]:^26} | {cells[1]:^26} | {ratio:.2f}x the time")
    print("\nbar: the sympy job on a new pool no later than a fresh interpreter (<= 1.00x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--level", default="bwrap", choices=["bwrap", "rlimits"])
    parser.add_argument("--seconds", type=float, default=3.0, help="per cell (default: 3)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3, help="alternating slices per cell")
    parser.add_argument("--cold", action="store_true", help="first jobs on new pools")
    parser.add_argument("--drop-caches", action="store_true", help="with --cold, as root")
    args = parser.parse_args()
    if args.cold:
        _cold(args)
        return
    box = make_sandbox(args.level, workers=args.workers, limits=Limits(timeout_s=60))
    assert isinstance(box, WorkerPool)
    box.start()
    threads = ThreadPoolExecutor(args.workers)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for label, code in SNIPPETS.items():
                path = Path(tmp, "file.py")
                path.write_text(code)
                rows.append((label, _measure(box, code, path, args, threads)))
    finally:
        box.close()
        threads.shutdown()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\nexecutions per second, sandbox level {args.level} ({args.workers} workers) vs a "
        f"fresh `python file.py` per run; {os.cpu_count()} cores, load average {load:.2f}\n"
    )
    cell = f"{'sandbox':>9}{'fresh':>8}{'ratio':>8}"
    titles = ["paced (1/median)", "back to back", f"{args.workers} in flight"]
    print(f"{'':<17}" + "".join(f" | {t:^25}" for t in titles))
    print(f"{'snippet':<17}" + f" | {cell}" * 3)
    for label, r in rows:
        line = f"{label:<17}"
        for kind in ("paced", "seq", "conc"):
            box_rate, fresh_rate = r[f"box {kind}"], r[f"fresh {kind}"]
            line += f" | {box_rate:>9.1f}{fresh_rate:>8.1f}{box_rate / fresh_rate:>7.1f}x"
        print(line)
    print("\nbar on a 2-core machine: >= 5x on (a), >= 30x on (b)")


if __name__ == "__main__":
    main()
