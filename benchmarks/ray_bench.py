"""Ray scale-out: the same 500-problem run locally and on a 2-node local Ray cluster.

A loopback OpenAI-compatible server, in its own process as a remote endpoint would be,
answers every request after a fixed delay (default 200 ms) with a scripted reply that depends
only on the request (a tool at Creation, a program using it at Decision), so every run gets
the same replies in any order. The run is a real ``run_eval`` over TabMWP with the CREATOR
method through the OpenAI client, the real sandbox and the checker, response cache off, at
the same ``--concurrency`` both ways and with the same sandbox workers in all: locally one
pool of 2 workers; on Ray a cluster of two nodes on this machine (a head of 1 CPU and a node
of 1 CPU, as ``ray start --head`` and ``ray start --address`` would make), started once
before any timing, where :class:`creator.cluster.RayBackend`'s default placement puts one
actor per node, each of 1 CPU with 1 sandbox worker. Each Ray run starts its actors: that is
part of its wall time, and the time from the first problem sent (the runner's ``on_start``)
to the last record (``on_record``) is reported apart as the steady state.

Rounds alternate which path runs first (``--rounds``, default 3), after one untimed problem
each way (the process's and the workers' one-time costs: the dataset's parse, first imports).
Printed: each run's wall time, start-up and steady state; the ratio; the overhead per problem
of the Ray path, (T_ray - T_local) / N, and the latency it adds to each problem,
concurrency x (T_ray - T_local) / N; each actor's throughput (its problems over the steady
state) and CPU per problem (its process and its sandbox workers, read from ``/proc``: the
actors run on this machine); the driver's CPU per problem (this process's, all its threads).
All CPU figures are over the steady state. Ctrl-C stops the actors, the cluster and the server.

Then the driver's ceiling: the same cluster, a server answering at once and the ``standard``
method (no sandbox: dispatch, one model round trip and the record), ``--ceiling-problems``
(default 2000) at ``--ceiling-concurrency`` (default 128), locally and on Ray. From both
parts it prints what the README needs: what one actor sustains at the given latency, the
driver's ceiling (measured, which on one machine is the machine's, and from the driver's CPU
per problem, as if it had a core of its own), and so how many such actors one driver can
feed. Not a timed test: figures depend on the machine and its load.

    uv run --all-extras python benchmarks/ray_bench.py [--problems 500] [--delay 0.2]
        [--concurrency 32] [--rounds 3] [--ceiling-problems 2000] [--ceiling-concurrency 128]
        [--ceiling-dataset tabmwp] [--ceiling-rounds 3] [--no-ceiling]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType
from typing import Any

from creator import datasets
from creator.cluster import RayBackend, SandboxSpec, import_ray
from creator.eval import EvalConfig, run_eval
from creator.eval.progress import Progress
from creator.eval.records import ProblemRecord
from creator.models.loopback import LoopbackServer, ServerReply
from creator.models.openai import OpenAIModel
from creator.sandbox import make_sandbox

LOCAL_WORKERS = 2
"""The local run's sandbox workers: as many as the two actors' (one each) together."""

TOOL = (
    "```python\n"
    "def total_cost(unit_price: float, quantity: float) -> float:\n"
    '    """Cost of `quantity` items at `unit_price` each."""\n'
    "    return unit_price * quantity\n"
    "```"
)


def _reply(body: dict[str, Any], method: str) -> str:
    """The scripted model: a reply that depends on the request alone (its last message)."""
    text = str(body["messages"][-1]["content"])
    number = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % 50
    if method != "creator":
        return f"The quantity times the price.\nFinal Answer: {number}"
    if text.startswith("# Stage 1"):
        return TOOL
    return f"```python\nprint('Final Answer:', total_cost({number}, 2))\n```"


def _serve(delay_s: float, method: str, conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # stopped by the parent, even on its Ctrl-C

    def reply(body: dict[str, Any]) -> ServerReply:
        return ServerReply(content=_reply(body, method), delay_s=delay_s)

    with LoopbackServer(responder=reply, keep_alive=True) as server:
        conn.send(server.url)
        with contextlib.suppress(EOFError, OSError):
            conn.recv()  # until the parent says stop (or is gone)


@contextmanager
def _server(delay_s: float, method: str) -> Iterator[str]:
    """A loopback server in a child process; yields its URL."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(delay_s, method, child), daemon=True
    )
    try:
        process.start()
        yield str(parent.recv())
    finally:
        with contextlib.suppress(OSError):
            parent.send("stop")
        if process.pid is not None:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)


@contextmanager
def _cluster() -> Iterator[str]:
    """Two Ray nodes on this machine (head of 1 CPU, one more of 1 CPU), this process their
    driver; yields the cluster's address. Stopped on the way out, Ctrl-C included."""
    ray = import_ray()  # first: it keeps Ray's workers on this interpreter under `uv run`
    from ray.cluster_utils import Cluster

    cluster: Any = None
    try:
        with _deferred_interrupt():  # a head half started would be left running
            cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
        cluster.add_node(num_cpus=1)
        ray.init(address=cluster.address, logging_level=logging.ERROR, log_to_driver=False)
        cluster.wait_for_nodes()
        yield str(cluster.address)
    finally:
        with contextlib.suppress(Exception):
            ray.shutdown()
        if cluster is not None:
            cluster.shutdown()


def _interrupted(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C stops the benchmark once: a second one (``uv run`` passes it on too) must not
    cut short the cleanup on its way (the actors, the cluster, the server)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


@contextmanager
def _deferred_interrupt() -> Iterator[None]:
    """A Ctrl-C in the block is raised after it."""
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        _interrupted(signal.SIGINT, None)


@dataclass
class Run:
    """One timed run: wall time of ``run_eval``, its start-up (to the first problem sent)
    and steady state (to the last record), the driver's CPU, what each actor solved."""

    n: int
    wall: float
    start: float
    steady: float
    cpu: float
    answers: str
    """A digest of every record's id, status and prediction: equal runs, equal digests."""
    solved: list[int] = field(default_factory=list)
    actor_cpu: list[float] = field(default_factory=list)
    """Each actor's CPU in the steady state: its process and its sandbox workers'."""

    @property
    def rate(self) -> float:
        return self.n / self.steady

    def actor_rates(self) -> list[float]:
        return [s / self.steady for s in self.solved]


def _run(
    url: str,
    *,
    dataset: str,
    method: str,
    problems: int,
    concurrency: int,
    ray_address: str | None,
) -> Run:
    """One ``run_eval`` here (``ray_address`` None) or on the cluster's actors."""
    config = EvalConfig(dataset=dataset, model="test-model", limit=problems, method=method)
    factory = functools.partial(
        OpenAIModel,
        "test-model",
        base_url=url,
        api_key="benchmark",
        max_retries=0,
        max_in_flight=concurrency,  # per client, as `creator eval` sizes it (each actor's too)
    )
    backend = None
    if ray_address is not None:
        backend = RayBackend(
            address=ray_address, model_factory=factory, sandbox=SandboxSpec(level="auto")
        )
    # Locally, the pool that solves the problems (not started: its start is timed, as the
    # actors' is); on Ray, the driver's (for --examples only: never started here).
    sandbox = make_sandbox("auto", workers=LOCAL_WORKERS if backend is None else 1)
    model = factory()
    marks: list[float] = []  # run_eval called, returned
    begun: list[float] = []
    last: list[float] = [0.0]
    answers: list[tuple[str, str, str]] = []
    cpu: list[float] = []  # the driver's at the first problem sent, at the end
    actor_cpu: list[list[float]] = []  # each actor's (and its sandbox workers'), the same

    def on_start(progress: Progress) -> None:
        if backend is not None:
            actor_cpu.append(_tree_cpu([a["pid"] for a in backend.actors]))
        cpu.append(time.process_time())
        begun.append(time.perf_counter())

    def on_record(record: ProblemRecord, progress: Progress) -> None:
        last[0] = time.perf_counter()
        answers.append((record.key, record.status, record.prediction or ""))

    async def main(out: Path) -> dict[str, Any]:
        try:
            marks.append(time.perf_counter())
            summary = await run_eval(
                config,
                out_dir=out,
                model=model,
                sandbox=sandbox,
                concurrency=concurrency,
                backend=backend,
                on_start=on_start,
                on_record=on_record,
            )
            marks.append(time.perf_counter())
            cpu.append(time.process_time())
            if backend is not None:
                actor_cpu.append(_tree_cpu([a["pid"] for a in backend.actors]))
            return summary
        finally:
            if backend is not None:
                await backend.aclose()  # untimed: the actors' end
            await model.aclose()
            await sandbox.aclose()

    with tempfile.TemporaryDirectory() as out:
        summary = asyncio.run(main(Path(out)))
    assert summary["n"] == problems and summary["model_errors"] == 0, summary["status"]
    solved = [int(a["solved"]) for a in summary.get("ray", {}).get("actors", [])]
    if backend is not None:
        assert sum(solved) == problems and summary["ray"]["actors_lost"] == 0, summary["ray"]
    return Run(
        n=problems,
        wall=marks[1] - marks[0],
        start=begun[0] - marks[0],
        steady=last[0] - begun[0],
        cpu=cpu[1] - cpu[0],
        actor_cpu=[b - a for a, b in zip(*actor_cpu, strict=True)] if actor_cpu else [],
        answers=hashlib.sha256(repr(sorted(answers)).encode()).hexdigest()[:12],
        solved=solved,
    )


def _tree_cpu(pids: Sequence[int]) -> list[float]:
    """The CPU seconds so far of each process in ``pids`` and all its descendants (this
    machine's ``/proc``: the actors of a local cluster, their sandbox workers)."""
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    found = []
    for pid in pids:
        tree, todo = {pid}, [pid]
        while todo:
            parent = todo.pop()
            children = [p for p, pp in parents.items() if pp == parent and p not in tree]
            tree.update(children)
            todo.extend(children)
        found.append(sum(used.get(p, 0.0) for p in tree))
    return found


def _span(values: Sequence[float], unit: str = "", digits: int = 2) -> str:
    """``a-b unit`` (``a to b unit`` when ``a`` is negative; ``a unit`` for one value)."""
    low, high = min(values), max(values)
    if f"{low:.{digits}f}" == f"{high:.{digits}f}":
        return f"{low:.{digits}f}{unit}"
    dash = " to " if low < 0 else "-"
    return f"{low:.{digits}f}{dash}{high:.{digits}f}{unit}"


def _load() -> float:
    return os.getloadavg()[0]


def _pairs(
    address: str,
    *,
    delay: float,
    dataset: str,
    method: str,
    problems: int,
    concurrency: int,
    rounds: int,
    loads: list[float],
    show: str,
) -> tuple[list[Run], list[Run]]:
    """``rounds`` of one run each way, alternating which goes first; each printed."""
    here: list[Run] = []
    there: list[Run] = []
    with _server(delay, method) as url:
        run = functools.partial(_run, url, dataset=dataset, method=method, concurrency=concurrency)
        # Untimed: the process's one-time costs (the dataset's parse, first imports) and a
        # first Ray actor's (its worker's first imports) fall on no timed run.
        datasets.load(dataset)
        run(problems=1, ray_address=None)
        run(problems=1, ray_address=address)
        for number in range(1, rounds + 1):
            loads.append(_load())
            order = [None, address] if number % 2 else [address, None]
            for where in order:
                (here if where is None else there).append(run(problems=problems, ray_address=where))
            loads.append(_load())
            local, ray = here[-1], there[-1]
            print(
                f"  {show} round {number} ({'local' if number % 2 else 'Ray'} first): "
                f"local {local.wall:.2f} s (start {local.start:.2f}, steady {local.steady:.2f}); "
                f"Ray {ray.wall:.2f} s (start {ray.start:.2f}, steady {ray.steady:.2f}); "
                f"Ray/local {ray.wall / local.wall:.2f}x; actors solved "
                + ", ".join(str(s) for s in ray.solved),
                flush=True,
            )
    return here, there


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=500)
    parser.add_argument("--delay", type=float, default=0.2, help="server delay per request (s)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of one run each way")
    parser.add_argument("--ceiling-problems", type=int, default=2000)
    parser.add_argument("--ceiling-concurrency", type=int, default=128)
    parser.add_argument("--ceiling-dataset", default="tabmwp", help="tabmwp or math")
    parser.add_argument("--ceiling-rounds", type=int, default=3)
    parser.add_argument("--no-ceiling", action="store_true", help="skip the driver's ceiling")
    args = parser.parse_args()

    signal.signal(signal.SIGINT, _interrupted)
    n, c = args.problems, args.concurrency
    loads = [_load()]
    began = time.perf_counter()
    with _cluster() as address:
        print(f"cluster up in {time.perf_counter() - began:.1f} s (untimed), load {loads[0]:.2f}")
        print(
            f"{n} TabMWP problems, CREATOR method (2 model calls each, answered after "
            f"{args.delay * 1000:.0f} ms), --concurrency {c}; local: {LOCAL_WORKERS} sandbox "
            "workers; Ray: 2 nodes x 1 CPU, one actor each with 1 worker",
            flush=True,
        )
        local, ray = _pairs(
            address,
            delay=args.delay,
            dataset="tabmwp",
            method="creator",
            problems=n,
            concurrency=c,
            rounds=args.rounds,
            loads=loads,
            show="creator",
        )
        ceiling: tuple[list[Run], list[Run]] | None = None
        if not args.no_ceiling:
            print(
                f"driver's ceiling: {args.ceiling_problems} {args.ceiling_dataset} problems, "
                f"standard method (1 model call, no sandbox), answered at once, "
                f"--concurrency {args.ceiling_concurrency}",
                flush=True,
            )
            ceiling = _pairs(
                address,
                delay=0.0,
                dataset=args.ceiling_dataset,
                method="standard",
                problems=args.ceiling_problems,
                concurrency=args.ceiling_concurrency,
                rounds=args.ceiling_rounds,
                loads=loads,
                show="ceiling",
            )
    loads.append(_load())
    _report(args, local, ray, ceiling, loads)


def _report(
    args: argparse.Namespace,
    local: list[Run],
    ray: list[Run],
    ceiling: tuple[list[Run], list[Run]] | None,
    loads: list[float],
) -> None:
    n, c = args.problems, args.concurrency
    pairs = list(zip(local, ray, strict=True))
    print()
    print(
        f"{n} TabMWP problems, CREATOR, {args.delay * 1000:.0f} ms per request, --concurrency "
        f"{c}, {len(pairs)} rounds, load average {min(loads):.2f}-{max(loads):.2f}"
    )
    same = len({r.answers for r in local + ray}) == 1
    print(f"  same records (id, status, prediction) in every run: {'yes' if same else 'NO'}")
    for name, runs in (("local", local), ("Ray", ray)):
        print(
            f"  {name + ':':<6} wall {_span([r.wall for r in runs], ' s')}, start-up "
            f"{_span([r.start for r in runs], ' s')}, steady "
            f"{_span([r.steady for r in runs], ' s')} "
            f"({_span([r.rate for r in runs], ' problems/s', 1)})"
        )
    print(
        f"  Ray/local: wall {_span([b.wall / a.wall for a, b in pairs], 'x')}, steady "
        f"{_span([b.steady / a.steady for a, b in pairs], 'x')}"
    )
    wall_ms = [(b.wall - a.wall) / n * 1000 for a, b in pairs]
    steady_ms = [(b.steady - a.steady) / n * 1000 for a, b in pairs]
    print(
        f"  overhead per problem of the Ray path, (T_ray - T_local)/N: wall "
        f"{_span(wall_ms, ' ms', 1)}, steady {_span(steady_ms, ' ms', 1)}"
    )
    print(
        f"  added latency per problem, concurrency x (T_ray - T_local)/N: wall "
        f"{_span([c * x for x in wall_ms], ' ms', 0)}, steady "
        f"{_span([c * x for x in steady_ms], ' ms', 0)}"
    )
    print(
        "  time per problem in steady state, concurrency x steady / N: local "
        f"{_span([c * r.steady / n * 1000 for r in local], ' ms', 0)}, Ray "
        f"{_span([c * r.steady / n * 1000 for r in ray], ' ms', 0)}"
    )
    actors = len(ray[0].solved)
    for i in range(actors):
        print(
            f"  actor {i + 1}: {_span([r.actor_rates()[i] for r in ray], ' problems/s', 1)} "
            f"(solved {_span([float(r.solved[i]) for r in ray], '', 0)} of {n}); CPU per "
            f"problem, its process and sandbox workers: {_span(_actor_ms(ray, i), ' ms', 1)}"
        )
    print(
        f"  driver CPU per problem, steady: local {_span([r.cpu / n * 1000 for r in local], ' ms')}"
        f", Ray {_span([r.cpu / n * 1000 for r in ray], ' ms')}"
    )
    if ceiling is None:
        return
    here, there = ceiling
    m, cc = args.ceiling_problems, args.ceiling_concurrency
    print()
    print(
        f"driver's ceiling: {m} {args.ceiling_dataset} problems, standard, no delay, "
        f"--concurrency {cc}, {len(there)} round(s)"
    )
    for name, runs in (("local", here), ("Ray", there)):
        print(
            f"  {name + ':':<6} wall {_span([r.wall for r in runs], ' s')}, steady "
            f"{_span([r.steady for r in runs], ' s')}: "
            f"{_span([r.rate for r in runs], ' problems/s', 0)}; driver CPU per problem "
            f"{_span([r.cpu / m * 1000 for r in runs], ' ms')}"
        )
    print(
        "  Ray actors: solved "
        + "; ".join(", ".join(str(s) for s in r.solved) for r in there)
        + "; CPU per problem "
        + ", ".join(_span(_actor_ms(there, i), " ms") for i in range(len(there[0].solved)))
    )

    one = [r.actor_rates()[i] for r in ray for i in range(actors)]
    actor_ms = [x for i in range(actors) for x in _actor_ms(ray, i)]
    full = [1000 / x for x in actor_ms]
    measured = [r.rate for r in there]
    dispatch = [m / r.cpu for r in there]  # the driver's CPU-bound rate, dispatch only
    creator = [n / r.cpu for r in ray]  # the same, for the CREATOR problems above
    print()
    print("derived (for the README):")
    print(
        f"  one actor at {args.delay * 1000:.0f} ms per request: {_span(one, ' problems/s', 1)} "
        f"with {c / actors:g} problems in flight (--concurrency {c} over {actors} actors); "
        f"its CPU per problem ({_span(actor_ms, ' ms', 1)}) sets its own limit near "
        f"{_span(full, ' problems/s', 0)} per CPU, given enough problems in flight"
    )
    print(
        f"  the driver's ceiling: {_span(measured, ' problems/s', 0)} measured (driver, actors, "
        f"server and Ray sharing {os.cpu_count()} cores: this machine's ceiling); from the "
        f"driver's CPU per problem, with a core of its own: {_span(dispatch, ' problems/s', 0)} "
        f"dispatching only, {_span(creator, ' problems/s', 0)} for CREATOR problems"
    )
    print(
        f"  actors one driver can feed, ceiling / one actor's throughput at {c / actors:g} in "
        f"flight each: {_quot(measured, one)} (measured ceiling), {_quot(dispatch, one)} "
        f"(dispatch CPU), {_quot(creator, one)} (CREATOR CPU); actors' CPUs kept busy: "
        f"{_quot(creator, full, 1)}"
    )


def _quot(top: Sequence[float], bottom: Sequence[float], digits: int = 0) -> str:
    """The range of ``top / bottom`` over both ranges: ``min/max - max/min``."""
    return _span([min(top) / max(bottom), max(top) / min(bottom)], "", digits)


def _actor_ms(runs: Sequence[Run], i: int) -> list[float]:
    """Actor ``i``'s CPU per problem it solved in each of ``runs``, in ms."""
    return [r.actor_cpu[i] / r.solved[i] * 1000 for r in runs if r.solved[i]]


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted: the actors, the cluster and the server are stopped", file=sys.stderr)
        raise SystemExit(130) from None
