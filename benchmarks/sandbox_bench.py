"""Executions per second: the sandbox (full isolation) vs a fresh ``python file.py`` per run.

Three snippets - (a) ``print(1+1)``, (b) sympy solving an equation, (c) numpy - each run for
``--seconds`` per cell, one at a time ("sequential") and with as many in flight as there are
workers ("concurrent"; the fresh-subprocess side gets the same number of parallel processes).
Prints a table and the ratios. Not a timed test: figures depend on the machine.

    uv run python benchmarks/sandbox_bench.py [--level bwrap] [--seconds 3] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from creator.sandbox import CodePart, Limits, make_sandbox

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


def _rates(steps: dict[str, Callable[[], int]], seconds: float, rounds: int) -> dict[str, float]:
    """Executions/s of each step; slices of every step alternate so load hits all alike."""
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


def _fresh(path: Path) -> None:
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", default="bwrap", choices=["bwrap", "rlimits"])
    parser.add_argument("--seconds", type=float, default=3.0, help="per cell (default: 3)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3, help="alternating slices per cell")
    args = parser.parse_args()
    n: int = args.workers
    box = make_sandbox(args.level, workers=n, limits=Limits(timeout_s=30))
    box.start()
    threads = ThreadPoolExecutor(n)
    loop = asyncio.new_event_loop()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, code in SNIPPETS.items():
            path = Path(tmp, "file.py")
            path.write_text(code)
            parts = [CodePart(name="decision", code=code)]

            def box_one(parts: list[CodePart] = parts) -> int:
                result = box.run_sync(parts)
                if not result.ok:
                    raise RuntimeError(result.error)
                return 1

            async def box_many(parts: list[CodePart] = parts) -> int:
                results = await asyncio.gather(*(box.run(parts) for _ in range(n * 4)))
                if not all(r.ok for r in results):
                    raise RuntimeError("a run failed")
                return len(results)

            def fresh_one(path: Path = path) -> int:
                _fresh(path)
                return 1

            def fresh_many(path: Path = path) -> int:
                list(threads.map(_fresh, [path] * (n * 2)))
                return n * 2

            def box_conc() -> int:
                return loop.run_until_complete(box_many())

            rates = _rates(
                {
                    "sandbox seq": box_one,
                    "fresh seq": fresh_one,
                    "sandbox conc": box_conc,
                    "fresh conc": fresh_many,
                },
                args.seconds,
                args.rounds,
            )
            rows.append((label, rates))
    box.close()
    loop.close()
    threads.shutdown()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\nexecutions per second  (sandbox level {args.level}, {n} workers, "
        f"{os.cpu_count()} cores, load average {load:.2f})"
    )
    half = f"{'sandbox':>10}{'fresh':>9}{'ratio':>8}"
    print(f"{'':<18}{'-- one at a time --':^27}   {'-- ' + str(n) + ' in flight --':^27}")
    print(f"{'snippet':<18}{half}   {half}")
    for label, r in rows:
        seq = r["sandbox seq"] / r["fresh seq"]
        conc = r["sandbox conc"] / r["fresh conc"]
        print(
            f"{label:<18}{r['sandbox seq']:>10.1f}{r['fresh seq']:>9.1f}{seq:>7.1f}x"
            f"   {r['sandbox conc']:>10.1f}{r['fresh conc']:>9.1f}{conc:>7.1f}x"
        )
    print("\nbar on a 2-core machine: >= 5x on (a), >= 30x on (b)")


if __name__ == "__main__":
    main()
