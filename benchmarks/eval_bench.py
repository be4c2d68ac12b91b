"""Evaluation throughput: the same 200-problem run at --concurrency 32 and at 1.

A loopback OpenAI-compatible server, in its own process as a remote endpoint would be,
answers every request after a fixed delay (default 200 ms) with a small program (a tool and its
use); the run is a real ``run_eval`` over TabMWP
with the CREATOR method (creation, tool test-run, decision, execution) through the OpenAI
client, the real sandbox and the checker, with the response cache off. It prints both wall
times and their ratio (the original implementation is strictly sequential), then the
harness's own cost per problem: the same run against a server with no delay, and against the
in-process scripted model (no HTTP at all). Not a timed test: figures depend on the machine.

    uv run python benchmarks/eval_bench.py [--problems 200] [--delay 0.2] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

from creator import ScriptedModel
from creator.eval import EvalConfig, run_eval
from creator.models.base import Model
from creator.models.loopback import LoopbackServer, ServerReply
from creator.models.openai import OpenAIModel
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


def _run(model: Model, sandbox: Sandbox, problems: int, concurrency: int) -> float:
    config = EvalConfig(dataset="tabmwp", model=model.name, limit=problems)
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


def _serve(delay_s: float, conn: Connection) -> None:
    reply = ServerReply(content=PROGRAM, delay_s=delay_s)
    with LoopbackServer(responder=lambda body: reply, keep_alive=True) as server:
        conn.send(server.url)
        conn.recv()  # until the parent says stop


@contextmanager
def _server(delay_s: float) -> Iterator[str]:
    """A loopback server in a child process; yields its URL."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(delay_s, child), daemon=True
    )
    process.start()
    try:
        yield str(parent.recv())
    finally:
        parent.send("stop")
        process.join(timeout=10)


def _openai(url: str, concurrency: int) -> OpenAIModel:
    return OpenAIModel("test-model", base_url=url, max_in_flight=concurrency, max_retries=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.2, help="server delay per request (s)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=None, help="sandbox workers")
    parser.add_argument("--level", default="auto")
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
