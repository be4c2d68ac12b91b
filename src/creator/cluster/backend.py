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
moment keeps its place, but rests: its task goes elsewhere, and it gets no other until its
rest is over (``REST_BASE_S``, doubling while it stays unreachable, up to ``REST_MAX_S``), then
one task on trial, whose answer ends the rest (one note when it stops answering, one when it
answers again). Without that it would draw every task (it has none in flight) and send each
back, in a loop as fast as Ray says so. A reply lost on the way (its node gone after the task
was done, Ray's own failure) is solved again, up to ``LOST_REPLIES`` times per task, then the
run stops in one line. An actor that is alive for Ray but answers nothing (its process
stopped, stuck in the kernel, its event loop blocked) would hold its tasks for ever, and the
run with them: every ``WATCH_S`` the actors with tasks out are pinged, and one that does not
answer within ``PING_TIMEOUT_S`` is given up (ended, its tasks solved elsewhere; a reply it
sends later is dropped). When the run stops for a model failure, the tasks in flight are
cancelled on their actors.

Deliberately left out: starting replacement actors (a lost actor's share goes to the others),
moving the tool library to the actors (retrieval and writes stay with the driver, which puts
the retrieved tools in each task), and a separate limit per actor.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable
from typing import Any

from creator.cluster.actor import SandboxSpec, Snapshot, Solver
from creator.cluster.connect import Connection, connect, import_ray
from creator.cluster.handles import ActorState, not_started, reason, task_error
from creator.cluster.placement import check, nodes_of, plan
from creator.errors import ClusterError
from creator.eval.failures import RunStop
from creator.eval.work import DEFAULT_CONCURRENCY, Outcome, Task
from creator.models.base import Model
from creator.models.replicas import merge_endpoint_stats
from creator.stages.common import StageOptions

__all__ = ["RayBackend"]

READY_TIMEOUT_S = 180.0
"""How long the actors may take to start (a first import of Ray and of this package on a node)."""

REST_BASE_S = 1.0
REST_MAX_S = 30.0
"""How long an actor that did not answer is left alone: ``REST_BASE_S``, doubling each time
it fails again, up to ``REST_MAX_S`` (see the module docstring)."""

LOST_REPLIES = 3
"""How many times one task may lose its reply to Ray before the run stops."""

WATCH_S = 30.0
PING_TIMEOUT_S = 60.0
"""Every ``WATCH_S``, each actor with tasks out must answer a ping within ``PING_TIMEOUT_S``
(it answers at once when well: the tasks wait on the model and the sandbox, not on it)."""


class _GivenUp(Exception):
    """The actor a task was sent to was given up (see the module docstring)."""


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
        watch_s: float = WATCH_S,
        ping_timeout_s: float = PING_TIMEOUT_S,
    ) -> None:
        check(actors=actors, cpus=cpus_per_actor)  # before any cluster is started or joined
        self._address = address
        self._model_factory = model_factory
        self._sandbox = sandbox
        self._count = actors
        self._cpus = cpus_per_actor
        self._workers = workers
        self._ready_timeout_s = ready_timeout_s
        self._watch_s = watch_s
        self._ping_timeout_s = ping_timeout_s
        self._watch: asyncio.Task[None] | None = None
        self._connection: Connection | None = None
        self._actors: list[ActorState] = []
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
            self._actors.append(ActorState(number=number, slot=slot, handle=handle))
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
        self._watch = asyncio.create_task(self._watched())

    async def _wait_ready(self, method: str) -> None:
        """Every actor up, or the first failure as one line naming the node (what failed
        while an actor was built is its own error, raised by its ``ready``)."""
        ray = import_ray()
        waiting = {asyncio.ensure_future(a.handle.ready.remote(method)): a for a in self._actors}
        pending = set(waiting)
        try:
            async with asyncio.timeout(self._ready_timeout_s):
                while pending:
                    done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
                    for future in done:
                        actor = waiting[future]
                        failure = future.exception()
                        if failure is not None:
                            raise not_started(actor, failure, ray) from None
                        actor.where = future.result()
        except TimeoutError:
            raise ClusterError(
                f"the Ray actors were not all up after {self._ready_timeout_s:g} s: the cluster "
                "may lack free CPUs for them (see `ray status`)"
            ) from None
        finally:
            for future in pending:
                future.cancel()

    async def perform(self, task: Task, *, stop: RunStop) -> Outcome | None:
        ray = import_ray()
        lost_replies = 0
        while True:
            actor = await self._pick(stop)
            if actor is None:
                return None  # the run stopped while every actor rested
            actor.in_flight += 1
            try:
                sent = await self._sent(actor, task, stop)
            except ray.exceptions.ActorDiedError as exc:
                self._lose(actor, exc)
                continue
            except _GivenUp:
                self._resent += 1
                continue
            except ray.exceptions.RayActorError as exc:  # unreachable for now: not lost
                self._rest(actor, exc)
                continue
            except ray.exceptions.RayError as exc:  # the reply lost on its way here
                lost_replies += 1
                self._resent += 1
                if lost_replies > LOST_REPLIES:
                    raise ClusterError(
                        f"Ray lost the reply of {task.job.key} {lost_replies} times (last: "
                        f"{reason(exc)}): the finished problems are kept; run the same "
                        "command again to resume"
                    ) from None
                continue
            finally:
                actor.in_flight -= 1
            if sent is None:
                return None
            if actor.strikes:
                actor.strikes, actor.resting_until = 0, 0.0
                self._note(f"Ray {actor.label} answers again")
            outcome, actor.snapshot = sent
            actor.solved += 1
            return outcome

    async def _sent(
        self, actor: ActorState, task: Task, stop: RunStop
    ) -> tuple[Outcome, Snapshot] | None:
        """``task``'s outcome on ``actor``; None (the task cancelled there) if ``stop`` is set
        first."""
        ray = import_ray()
        ref = actor.handle.perform.remote(task)
        reply: asyncio.Future[Any] = asyncio.ensure_future(ref)
        halt = asyncio.ensure_future(stop.event.wait())
        given_up = asyncio.ensure_future(actor.given_up.wait())
        try:
            await asyncio.wait({reply, halt, given_up}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            halt.cancel()
            given_up.cancel()
            if not reply.done():
                with contextlib.suppress(Exception):
                    ray.cancel(ref)
                reply.cancel()
        if not reply.done() or reply.cancelled():
            if actor.given_up.is_set() and not stop.stopped:
                raise _GivenUp
            return None
        try:
            found: tuple[Outcome, Snapshot] = reply.result()
        except ray.exceptions.RayTaskError as exc:
            raise task_error(exc) from None
        return found

    async def _pick(self, stop: RunStop) -> ActorState | None:
        """The ready actor with the fewest tasks in flight for its CPUs, waiting while every
        live one rests (None if ``stop`` is set meanwhile)."""
        while True:
            live = [a for a in self._actors if a.lost is None]
            if not live:
                lost = self._actors[-1].lost if self._actors else None
                raise ClusterError(
                    f"no Ray actor is left ({len(self._actors)} lost; last: {lost}): the "
                    "finished problems are kept; run the same command again to resume"
                )
            now = time.monotonic()
            ready = [a for a in live if a.ready(now)]
            if ready:
                return min(ready, key=lambda a: (a.in_flight / a.slot.cpus, a.in_flight, a.number))
            ends = [a.resting_until - now for a in live if a.resting_until > now]
            try:  # until a rest ends (or a trial task comes back: checked again soon)
                async with asyncio.timeout(min([*ends, REST_BASE_S])):
                    await stop.event.wait()
                return None
            except TimeoutError:
                continue

    def _rest(self, actor: ActorState, error: BaseException) -> None:
        """``actor`` did not answer: its task goes elsewhere and it rests (see the module)."""
        self._resent += 1
        now = time.monotonic()
        if actor.resting_until > now:
            return  # a task sent before its rest began
        actor.strikes += 1
        actor.resting_until = now + min(REST_BASE_S * 2 ** (actor.strikes - 1), REST_MAX_S)
        if actor.strikes == 1:
            self._note(
                f"Ray {actor.label} does not answer ({reason(error)}): its problems go to the "
                "other actors until it does"
            )

    async def _watched(self) -> None:
        """Ping the actors with tasks out, for ever (see the module docstring)."""
        while True:
            await asyncio.sleep(self._watch_s)
            busy = [a for a in self._actors if a.lost is None and a.in_flight > 0]
            await asyncio.gather(*(self._ping(a) for a in busy))

    async def _ping(self, actor: ActorState) -> None:
        ray = import_ray()
        try:
            async with asyncio.timeout(self._ping_timeout_s):
                await actor.handle.ping.remote()
        except TimeoutError:
            self._give_up(actor, f"no answer to a ping in {self._ping_timeout_s:g} s")
        except ray.exceptions.RayError:
            pass  # dead or unreachable: its tasks' own errors say so

    def _give_up(self, actor: ActorState, why: str) -> None:
        if self._retire(actor, why, state="answers nothing", fate="it is ended and its"):
            actor.given_up.set()
            with contextlib.suppress(Exception):
                import_ray().kill(actor.handle)

    def _lose(self, actor: ActorState, error: BaseException) -> None:
        self._resent += 1
        self._retire(actor, reason(error), state="is gone", fate="its")

    def _retire(self, actor: ActorState, why: str, *, state: str, fate: str) -> bool:
        """Mark ``actor`` lost for ``why`` and say so, once; whether it was live until now."""
        if actor.lost is not None:
            return False
        actor.lost = why
        left = sum(a.lost is None for a in self._actors)
        self._note(
            f"Ray {actor.label} {state} ({why}): {fate} problems in flight go to the {left} "
            "actor(s) left"
        )
        return True

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
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
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
