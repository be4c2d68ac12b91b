"""The Ray backend of an evaluation: the driver's side of the actors that solve its problems.

:class:`RayBackend` is a :class:`creator.eval.work.Backend`. The run (and so the driver)
keeps everything that is written or decided: which problems to solve, the library tools
offered, the records, the summary, the lock. The actors (:mod:`creator.cluster.actor`, placed
by :mod:`creator.cluster.placement`) only perform tasks. Backpressure is the runner's: it
holds at most ``--concurrency`` tasks in flight, and each goes to the live actor with the
fewest in flight for its CPUs.

Faults: an actor that dies (its process killed, its node stopped) loses nothing finished,
since records are written by the driver as outcomes arrive; each of its tasks in flight is
sent to another actor, and the driver keeps one outcome per task, so every problem is
recorded once. When no actor is left, the run stops with a one-line :class:`ClusterError`
(finished records kept: the same command resumes). An actor that is only unreachable for a
moment keeps its place; its task goes elsewhere. When the run stops for a model failure, the
tasks in flight are cancelled on their actors.

Deliberately left out: starting replacement actors (a lost actor's share goes to the others),
moving the tool library to the actors (retrieval and writes stay with the driver, which puts
the retrieved tools in each task), and a separate limit per actor.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from creator.cluster.actor import SandboxSpec, Snapshot, Solver
from creator.cluster.connect import Connection, connect, import_ray
from creator.cluster.placement import Slot, nodes_of, plan
from creator.errors import ClusterError, CreatorError
from creator.eval.failures import RunStop
from creator.eval.work import DEFAULT_CONCURRENCY, Outcome, Task
from creator.models.base import Model
from creator.models.replicas import merge_endpoint_stats
from creator.stages.common import StageOptions

__all__ = ["RayBackend"]

READY_TIMEOUT_S = 180.0
"""How long the actors may take to start (a first import of Ray and of this package on a node)."""


@dataclass
class _Actor:
    number: int
    slot: Slot
    handle: Any
    where: dict[str, Any] = field(default_factory=dict)
    in_flight: int = 0
    solved: int = 0
    lost: str | None = None
    snapshot: Snapshot = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"actor {self.number} ({self.where.get('host') or self.slot.node.address})"


class RayBackend:
    """Tasks performed by Ray actors of the cluster at ``address`` (see the module docstring).

    ``model_factory`` is picklable and called on each actor; each actor builds ``sandbox``
    with ``workers`` workers (default: its CPUs).
    """

    def __init__(
        self,
        *,
        address: str,
        model_factory: Callable[[], Model],
        sandbox: SandboxSpec,
        actors: int | None = None,
        cpus_per_actor: float | None = None,
        workers: int | None = None,
        ready_timeout_s: float = READY_TIMEOUT_S,
    ) -> None:
        self._address = address
        self._model_factory = model_factory
        self._sandbox = sandbox
        self._count = actors
        self._cpus = cpus_per_actor
        self._workers = workers
        self._ready_timeout_s = ready_timeout_s
        self._connection: Connection | None = None
        self._actors: list[_Actor] = []
        self._isolation = ""
        self._note: Callable[[str], None] = lambda _: None
        self._resent = 0

    @property
    def isolation(self) -> str:
        return self._isolation

    @property
    def concurrency(self) -> int:
        """4 problems in flight per CPU of the actors (at least 8): a problem spends most of
        its time waiting on the model."""
        cpus = sum(a.slot.cpus for a in self._actors if a.lost is None)
        return max(DEFAULT_CONCURRENCY, int(4 * cpus))

    @property
    def actors(self) -> list[dict[str, Any]]:
        """Each actor: where it runs (node, host, pid), its CPUs, what it solved, whether lost."""
        return [
            {**a.where, "cpus": a.slot.cpus, "solved": a.solved, "lost": a.lost}
            for a in self._actors
        ]

    async def open(
        self, *, method: str, options: StageOptions, note: Callable[[str], None]
    ) -> None:
        """Connect, start the actors and wait until each is up (its sandbox warming)."""
        self._note = note
        ray = import_ray()
        self._connection = connect(self._address)  # in this thread: Ray sets signal handlers
        slots = plan(nodes_of(ray.nodes()), actors=self._count, cpus=self._cpus)
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        remote = ray.remote(Solver)
        for number, slot in enumerate(slots, start=1):
            workers = self._workers or max(1, int(slot.cpus))
            sandbox = dataclasses.replace(self._sandbox, workers=workers)
            handle = remote.options(
                num_cpus=slot.cpus,
                scheduling_strategy=NodeAffinitySchedulingStrategy(slot.node.id, soft=False),
                max_restarts=0,
                max_task_retries=0,
            ).remote(model_factory=self._model_factory, sandbox=sandbox, options=options)
            self._actors.append(_Actor(number=number, slot=slot, handle=handle))
        cpus = sum(s.cpus for s in slots)
        nodes = len({s.node.id for s in slots})
        note(f"Ray: starting {len(slots)} actor(s) on {nodes} node(s), {cpus:g} CPUs")
        await self._wait_ready(method)
        isolations = {a.where["isolation"] for a in self._actors}
        if len(isolations) > 1:
            shown = ", ".join(f"{a.label}: {a.where['isolation']}" for a in self._actors)
            raise ClusterError(
                f"the actors' sandboxes differ ({shown}): install bubblewrap on every node, or "
                "choose one level for all with --sandbox"
            )
        self._isolation = isolations.pop()

    async def _wait_ready(self, method: str) -> None:
        ray = import_ray()
        refs = [a.handle.ready.remote(method) for a in self._actors]
        try:
            async with asyncio.timeout(self._ready_timeout_s):
                found = await asyncio.gather(*refs)
        except TimeoutError:
            for ref in refs:
                ray.cancel(ref)
            raise ClusterError(
                f"the Ray actors were not all up after {self._ready_timeout_s:g} s: the cluster "
                "may lack free CPUs for them (see `ray status`)"
            ) from None
        except ray.exceptions.RayTaskError as exc:
            raise _cause(exc) from None
        except ray.exceptions.RayActorError as exc:
            raise ClusterError(
                f"a Ray actor could not start: {_reason(exc)} (every node needs this package, "
                "with its ray extra, in the environment Ray runs from)"
            ) from None
        for actor, where in zip(self._actors, found, strict=True):
            actor.where = where

    async def perform(self, task: Task, *, stop: RunStop) -> Outcome | None:
        ray = import_ray()
        while True:
            actor = self._pick()
            actor.in_flight += 1
            try:
                sent = await self._sent(actor, task, stop)
            except ray.exceptions.ActorDiedError as exc:
                self._lose(actor, exc)
                continue
            except ray.exceptions.RayActorError as exc:  # unreachable for now: not lost
                self._resent += 1
                self._note(f"Ray {actor.label} did not answer ({_reason(exc)}): solving again")
                continue
            finally:
                actor.in_flight -= 1
            if sent is None:
                return None
            outcome, actor.snapshot = sent
            actor.solved += 1
            return outcome

    async def _sent(
        self, actor: _Actor, task: Task, stop: RunStop
    ) -> tuple[Outcome, Snapshot] | None:
        """``task``'s outcome on ``actor``; None (the task cancelled there) if ``stop`` is set
        first."""
        ray = import_ray()
        ref = actor.handle.perform.remote(task)
        reply: asyncio.Future[Any] = asyncio.ensure_future(ref)
        halt = asyncio.ensure_future(stop.event.wait())
        try:
            await asyncio.wait({reply, halt}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            halt.cancel()
            if not reply.done():
                with contextlib.suppress(Exception):
                    ray.cancel(ref)
                reply.cancel()
        if not reply.done() or reply.cancelled():
            return None
        try:
            found: tuple[Outcome, Snapshot] = reply.result()
        except ray.exceptions.RayTaskError as exc:
            raise _cause(exc) from None
        return found

    def _pick(self) -> _Actor:
        live = [a for a in self._actors if a.lost is None]
        if not live:
            lost = self._actors[-1].lost if self._actors else None
            raise ClusterError(
                f"no Ray actor is left ({len(self._actors)} lost; last: {lost}): the finished "
                "problems are kept; run the same command again to resume"
            )
        return min(live, key=lambda a: (a.in_flight / a.slot.cpus, a.in_flight, a.number))

    def _lose(self, actor: _Actor, error: BaseException) -> None:
        self._resent += 1
        if actor.lost is not None:
            return
        actor.lost = _reason(error)
        left = sum(a.lost is None for a in self._actors)
        self._note(
            f"Ray {actor.label} is gone ({actor.lost}): its problems in flight go to the "
            f"{left} actor(s) left"
        )

    def facts(self) -> dict[str, Any]:
        endpoints: dict[str, dict[str, int]] = {}
        adaptations: dict[str, str] = {}
        for actor in self._actors:
            endpoints = merge_endpoint_stats(endpoints, actor.snapshot.get("endpoints")) or {}
            adaptations.update(actor.snapshot.get("adaptations") or {})
        found: dict[str, Any] = {
            "ray": {
                "address": self._address,
                "actors": self.actors,
                "actors_lost": sum(a.lost is not None for a in self._actors),
                "tasks_sent_again": self._resent,
            }
        }
        if endpoints:
            found["endpoints"] = endpoints
        if adaptations:
            found["request_adaptations"] = adaptations
        return found

    async def aclose(self) -> None:
        """Close the actors' models and sandboxes, end them, and leave the cluster (stopping
        it if this process started it)."""
        if self._connection is None:
            return
        ray = import_ray()
        live = [a for a in self._actors if a.lost is None]
        with contextlib.suppress(Exception):
            async with asyncio.timeout(10):
                await asyncio.gather(
                    *(a.handle.close.remote() for a in live), return_exceptions=True
                )
        for actor in self._actors:
            with contextlib.suppress(Exception):
                ray.kill(actor.handle)
        connection, self._connection = self._connection, None
        connection.close()


def _cause(error: Any) -> CreatorError:
    """The error an actor's task raised, as the run's own: a CreatorError as it is (one
    line), anything else as a ClusterError naming it."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, CreatorError):
        return cause
    return ClusterError(f"a Ray actor failed: {_reason(cause or error)}")


def _reason(error: BaseException) -> str:
    """One line about an error from Ray (whose messages run to many lines)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    return f"{type(error).__name__}: {text}"[:200]
