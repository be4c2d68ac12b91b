"""Evaluation throughput: the same 200-problem run at --concurrency 32 and at 1.

A loopback OpenAI-compatible server, in its own process as a remote endpoint would be,
answers every request after a fixed delay (default 200 ms) with a small program (a tool and its
use); the run is a real ``run_eval`` over TabMWP
with the CREATOR method (creation, tool test-run, decision, execution) through the OpenAI
client, the real sandbox and the checker, with the response cache off. It prints both wall
times and their ratio (the original implementation is strictly sequential), then the
harness's own cost per problem: the same run against a server with no delay, and against the
in-process scripted model (no HTTP at all). Not a timed test: figures depend on the machine.

``--methods creator,tooluse`` measures the harness cost of each method named, in turns
(``--rounds`` of them, so that the machine's load falls on all alike); ``--cost-only`` skips
the concurrency comparison. A ``tooluse`` reply asks the offline sympy service one query,
which runs in the sandbox, then answers; ``cot`` and ``standard`` answer at once.

``--creation`` measures a short run from a cold start instead: the first ``--problems``
(default there: 40) Creation Challenge problems, replayed from the recorded tools and
solutions by an in-process model that answers every request (the endpoint probe too) after
``--delay``, each run on a new sandbox pool that nothing has started, so the workers' start
and warm-up are part of the wall time; ``--concurrency`` vs 1, alternating, ``--rounds``
times (default there: 3). One untimed problem runs first, so that the process's one-time
costs (the dataset's parse, the host's first imports) fall on no timed run.

    uv run python benchmarks/eval_bench.py [--problems 200] [--delay 0.2] [--workers N]
    uv run python benchmarks/eval_bench.py --cost-only --methods creator,tooluse --rounds 3
    uv run python benchmarks/eval_bench.py --creation [--problems 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from creator import ScriptedModel, datasets
from creator.eval import EvalConfig, run_eval
from creator.models.base import CallContext, Completion, GenerationSettings, Message, Model
from creator.models.loopback import LoopbackServer, ServerReply
from creator.models.openai import OpenAIModel
from creator.models.reference import ReferenceModel
from creator.sandbox import make_sandbox
from creator.sandbox.base import Sandbox

PROGRAM = (
    "```python\n"
    "def total_cost(unit_price: float, quantity: float) -> float:\n"
    '    """Cost of `quantity` items at `unit_price` each."""\n'
    "    return unit_price * quantity\n\n"
    "print('Final Answer:', total_cost(2.5, 4))\n"
    "```"
)


def _reply(method: str, last: str) -> str:
    """What the benchmark's model answers for ``method``, given the last message it got."""
    if method in ("cot", "standard"):
        return "Two and a half, four times.\nFinal Answer: 10"
    if method == "tooluse":
        if last.startswith(("Result:", "No result")):
            return "With that result:\nFinal Answer: 10"
        return "The cost is the unit price times the quantity.\nQUERY: 2.5 * 4"
    return PROGRAM


def _run(
    model: Model, sandbox: Sandbox, problems: int, concurrency: int, method: str = "creator"
) -> float:
    config = EvalConfig(dataset="tabmwp", model=model.name, limit=problems, method=method)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summary = asyncio.run(
            run_eval(
                config, out_dir=Path(out), model=model, sandbox=sandbox, concurrency=concurrency
            )
        )
        wall = time.perf_counter() - start
    assert summary["n"] == problems and summary["model_errors"] == 0, summary["status"]
    return wall


def _serve(delay_s: float, conn: Connection, method: str = "creator") -> None:
    def reply(body: dict[str, Any]) -> ServerReply:
        last = str(body["messages"][-1]["content"])
        return ServerReply(content=_reply(method, last), delay_s=delay_s)

    with LoopbackServer(responder=reply, keep_alive=True) as server:
        conn.send(server.url)
        conn.recv()  # until the parent says stop


@contextmanager
def _server(delay_s: float, method: str = "creator") -> Iterator[str]:
    """A loopback server in a child process; yields its URL."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(delay_s, child, method), daemon=True
    )
    process.start()
    try:
        yield str(parent.recv())
    finally:
        parent.send("stop")
        process.join(timeout=10)


class _SlowReplay:
    """The reference replay answering after ``delay_s``, as an endpoint would (probe too)."""

    replay = True

    def __init__(self, delay_s: float) -> None:
        self._delay_s = delay_s
        self._reference = ReferenceModel()

    @property
    def name(self) -> str:
        return self._reference.name

    async def probe(self, settings: GenerationSettings) -> str:
        await asyncio.sleep(self._delay_s)
        return "benchmark replay"

    async def generate(
        self,
        messages: Sequence[Message],
        *,
        settings: GenerationSettings,
        context: CallContext | None = None,
    ) -> Completion:
        await asyncio.sleep(self._delay_s)
        return await self._reference.generate(messages, settings=settings, context=context)

    async def aclose(self) -> None:
        return None


def _cold_run(args: argparse.Namespace, problems: int, concurrency: int) -> float:
    """Wall time of one Creation Challenge run on a new, unstarted sandbox pool."""
    config = EvalConfig(dataset="creation", model="reference", limit=problems)
    sandbox = make_sandbox(args.level, workers=args.workers)
    try:
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            summary = asyncio.run(
                run_eval(
                    config,
                    out_dir=Path(out),
                    model=_SlowReplay(args.delay),
                    sandbox=sandbox,
                    concurrency=concurrency,
                )
            )
            wall = time.perf_counter() - start
    finally:
        sandbox.close()
    assert summary["n"] == problems and summary["model_errors"] == 0, summary["status"]
    return wall


def _creation(args: argparse.Namespace) -> None:
    """A short Creation Challenge run from a cold sandbox, at --concurrency and at 1."""
    n = args.problems or 40
    rounds = args.rounds or 3
    fast: list[float] = []
    slow: list[float] = []
    loads: list[float] = []
    # The runs share this process: its one-time costs (parsing the dataset, the host's first
    # imports and helpers) are paid before any timing by one untimed problem, or the first
    # run alone would pay them. Every timed run still starts its own cold sandbox pool.
    datasets.load("creation")
    _cold_run(args, 1, 1)
    for _ in range(rounds):
        loads.append(os.getloadavg()[0])
        fast.append(_cold_run(args, n, args.concurrency))
        slow.append(_cold_run(args, n, 1))
    loads.append(os.getloadavg()[0])
    print(f"{n} Creation Challenge problems (recorded tools and solutions), every model "
          f"request answered after {args.delay * 1000:.0f} ms, a new sandbox pool per run; "
          f"{rounds} rounds, load average {min(loads):.2f}-{max(loads):.2f}")  # fmt: skip
    print(f"  concurrency {args.concurrency:>3}: " + ", ".join(f"{t:.2f}" for t in fast) + " s")
    print("  concurrency   1: " + ", ".join(f"{t:.2f}" for t in slow) + " s")
    ratios = [b / a for a, b in zip(fast, slow, strict=True)]
    print("  speed-up per round: " + ", ".join(f"{r:.1f}x" for r in ratios))


def _openai(url: str, concurrency: int) -> OpenAIModel:
    return OpenAIModel("test-model", base_url=url, max_in_flight=concurrency, max_retries=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, help="default 200 (--creation: 40)")
    parser.add_argument("--delay", type=float, default=0.2, help="server delay per request (s)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=None, help="sandbox workers")
    parser.add_argument("--level", default="auto")
    parser.add_argument("--methods", default="creator", help="comma-separated, for the cost")
    parser.add_argument("--rounds", type=int, help="turns (default 1; --creation: 3)")
    parser.add_argument("--cost-only", action="store_true", help="skip the concurrency runs")
    parser.add_argument("--creation", action="store_true", help="cold Creation Challenge runs")
    args = parser.parse_args()
    if args.creation:
        _creation(args)
        return
    args.problems = args.problems or 200
    args.rounds = args.rounds or 1
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if args.cost_only or methods != ["creator"]:
        _costs(args, methods)
        return

    sandbox = make_sandbox(args.level, workers=args.workers)
    sandbox.start()  # start and warm every worker before timing
    n = args.problems
    try:
        with _server(args.delay) as url:
            fast = _run(_openai(url, args.concurrency), sandbox, n, args.concurrency)
            slow = _run(_openai(url, 1), sandbox, n, 1)
        with _server(0.0) as url:
            http_cost = _run(_openai(url, 1), sandbox, n, 1)
        scripted = ScriptedModel(responder=lambda messages, settings, context: PROGRAM)
        local_cost = _run(scripted, sandbox, n, 1)
    finally:
        sandbox.close()

    calls = 2 * n
    print(f"{n} TabMWP problems, CREATOR method, {calls} model calls answered after "
          f"{args.delay * 1000:.0f} ms, sandbox {sandbox.isolation}")  # fmt: skip
    print(f"  concurrency {args.concurrency:>3}: {fast:7.2f} s")
    print(f"  concurrency   1: {slow:7.2f} s   (the original implementation is sequential)")
    print(f"  speed-up: {slow / fast:.1f}x")
    print("harness cost per problem, sequential (everything but waiting on the model):")
    print(f"  loopback server, no delay: {http_cost / n * 1000:6.1f} ms")
    print(f"  in-process scripted model: {local_cost / n * 1000:6.1f} ms")


def _costs(args: argparse.Namespace, methods: list[str]) -> None:
    """The harness cost per problem of each method, measured in turns."""
    sandbox = make_sandbox(args.level, workers=args.workers)
    sandbox.start()
    n = args.problems
    http: dict[str, list[float]] = {m: [] for m in methods}
    local: dict[str, list[float]] = {m: [] for m in methods}
    try:
        for _ in range(args.rounds):
            for method in methods:
                with _server(0.0, method) as url:
                    http[method].append(_run(_openai(url, 1), sandbox, n, 1, method) / n)

                def respond(messages: Any, settings: Any, context: Any, m: str = method) -> str:
                    return _reply(m, str(messages[-1].content))

                scripted = ScriptedModel(responder=respond)
                local[method].append(_run(scripted, sandbox, n, 1, method) / n)
    finally:
        sandbox.close()
    print(f"{n} TabMWP problems, sequential, sandbox {sandbox.isolation}, {args.rounds} round(s)")
    print("harness cost per problem (everything but waiting on the model), ms, each round:")
    for method in methods:
        scripted_ms = ", ".join(f"{t * 1000:.1f}" for t in local[method])
        http_ms = ", ".join(f"{t * 1000:.1f}" for t in http[method])
        print(f"  {method:>16}: scripted model {scripted_ms}; loopback HTTP {http_ms}")


if __name__ == "__main__":
    main()
