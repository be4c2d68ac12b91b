"""Seconds per query of the offline sympy service, on a warm sandbox pool.

The paper's seven Tool Use demonstration queries (``--more`` adds a few typical ones: calculus,
an inequality, a constrained optimum, a list) each run ``--repeats`` times through
:class:`~creator.services.sympy_service.SympyService`, one query at a time as in the pipeline
(every query follows a model call), after one warm-up query per worker. Printed: the median
and the 95th percentile per query and over all of them, the answer, and the isolation level.
Each job compiles the calculator's source afresh (it is sent as code, never imported), so a
trivial query costs about that compilation. Not a timed test: figures depend on the machine.

    uv run python benchmarks/service_bench.py [--repeats 20] [--level auto] [--more]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import time

from creator.sandbox import Limits, make_sandbox
from creator.sandbox.base import Sandbox
from creator.services.sympy_service import SympyService

PAPER = (
    "maximize 12x-x^2",
    "solve sqrt((-3-5)^2+(y-2)^2)=10",
    "solve 3p+4q=8, 4p+3q=13",
    "(70 * 120) / 50",
    "4^3 - 3^3",
    "sqrt(24*16*6)",
    "{{2, -1}, {-3, 4}} * {3, -1}",
)
MORE = (
    "integrate x^2 from 0 to 1",
    "derivative of x^3 at x = 2",
    "limit sin(x)/x as x -> 0",
    "solve x^2 - 4 >= 0",
    "maximize x*y subject to x + y = 10",
    "mean {85, 90, 78, 92, 88}",
)


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


async def _measure(
    service: SympyService, box: Sandbox, queries: tuple[str, ...], repeats: int
) -> dict[str, tuple[list[float], str]]:
    limits = Limits()
    found: dict[str, tuple[list[float], str]] = {query: ([], "") for query in queries}
    for _ in range(repeats):  # rounds, so that a slow moment of the machine hits every query
        for query in queries:
            started = time.perf_counter()
            reply = await service.ask(query, sandbox=box, limits=limits)
            found[query][0].append(time.perf_counter() - started)
            found[query] = (found[query][0], reply.text or f"error: {reply.error}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="runs per query (default: 20)")
    parser.add_argument("--level", default="auto", choices=["auto", "bwrap", "rlimits", "none"])
    parser.add_argument("--workers", type=int, default=2, help="pool size (default: 2)")
    parser.add_argument("--more", action="store_true", help="add a few typical queries")
    args = parser.parse_args()
    queries = PAPER + (MORE if args.more else ())
    service = SympyService()
    box = make_sandbox(args.level, workers=args.workers)
    try:

        async def run() -> dict[str, tuple[list[float], str]]:
            await asyncio.gather(  # start and warm every worker
                *(service.ask("1+1", sandbox=box, limits=Limits()) for _ in range(args.workers))
            )
            return await _measure(service, box, queries, args.repeats)

        found = asyncio.run(run())
    finally:
        box.close()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\nsympy service, seconds per query, {args.repeats} runs each, one at a time; "
        f"isolation {box.isolation}, {os.cpu_count()} cores, load average {load:.2f}\n"
    )
    width = max(len(query) for query in queries)
    print(f"{'query':<{width}}  {'median':>7}  {'p95':>7}  answer")
    for query, (times, text) in found.items():
        line = f"{query:<{width}}  {statistics.median(times):>7.3f}  {_p95(times):>7.3f}  "
        print(line + text.replace("\n", " ")[:60])
    every = [t for times, _ in found.values() for t in times]
    print(f"{'all':<{width}}  {statistics.median(every):>7.3f}  {_p95(every):>7.3f}")


if __name__ == "__main__":
    main()
