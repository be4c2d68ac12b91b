"""Red team of the Ray backend's dispatch, with stand-ins for the actors (Ray's own error types,
no cluster): an actor that does not answer rests instead of drawing every task back to it, a
reply Ray loses is solved again, a bounded number of times."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from creator import ScriptedModel
from creator.cluster import RayBackend, SandboxSpec, import_ray
from creator.cluster.handles import ActorState
from creator.cluster.placement import Node, Slot
from creator.datasets import get
from creator.errors import ClusterError
from creator.eval.failures import RunStop
from creator.eval.transfer import Job
from creator.eval.work import Task

ray = import_ray()
TASK = Task(job=Job(get("tabmwp/0")), method="pot")


class Handle:
    """A stand-in for an actor handle: ``handle.perform.remote(task)`` is awaitable."""

    def __init__(self, reply: Any) -> None:
        self.calls = 0
        self.perform = self
        self._reply = reply

    def remote(self, task: Task) -> Any:
        self.calls += 1
        return self._reply(self.calls)


def backend_of(*handles: Handle) -> tuple[RayBackend, list[str]]:
    backend = RayBackend(address="local", model_factory=ScriptedModel, sandbox=SandboxSpec())
    node = Node(id="n", address="10.0.0.1", cpus=4)
    backend._actors = [
        ActorState(number=n, slot=Slot(node=node, cpus=1), handle=h, where={"host": f"h{n}"})
        for n, h in enumerate(handles, start=1)
    ]
    notes: list[str] = []
    backend._note = notes.append
    return backend, notes


async def unavailable(call: int) -> Any:
    raise ray.exceptions.ActorUnavailableError("the node does not answer", None)


async def answers(call: int) -> Any:
    await asyncio.sleep(0.01)
    return f"outcome {call}", {}


def test_an_actor_that_does_not_answer_rests_instead_of_drawing_every_task() -> None:
    silent, working = Handle(unavailable), Handle(answers)
    backend, notes = backend_of(silent, working)

    async def main() -> list[Any]:
        stop = RunStop()
        async with asyncio.timeout(10):  # it used to spin on the silent actor for ever
            return await asyncio.gather(*(backend.perform(TASK, stop=stop) for _ in range(20)))

    found = asyncio.run(main())
    assert all(isinstance(o, str) and o.startswith("outcome") for o in found)
    assert working.calls == 20
    assert silent.calls == 10  # half of the first round came back from it; none after
    silent_notes = [n for n in notes if "actor 1" in n]
    assert len(silent_notes) == 1 and "does not answer" in silent_notes[0]
    assert "\n" not in silent_notes[0]
    assert backend.facts()["ray"]["actors_lost"] == 0


def test_a_resting_actor_gets_one_task_on_trial_and_answering_ends_its_rest(monkeypatch) -> None:
    monkeypatch.setattr("creator.cluster.backend.REST_BASE_S", 0.05)

    async def flaky(call: int) -> Any:
        if call == 1:
            raise ray.exceptions.ActorUnavailableError("a blip", None)
        return await answers(call)

    only = Handle(flaky)
    backend, notes = backend_of(only)

    async def main() -> list[Any]:
        async with asyncio.timeout(10):
            return await asyncio.gather(*(backend.perform(TASK, stop=RunStop()) for _ in range(4)))

    found = asyncio.run(main())
    assert len(found) == 4 and only.calls >= 5  # the first was sent again
    assert any("does not answer" in n for n in notes)
    assert any(n.endswith("answers again") for n in notes)


def test_a_stop_while_every_actor_rests_returns_no_outcome() -> None:
    backend, _ = backend_of(Handle(unavailable))

    async def main() -> Any:
        stop = RunStop()
        first = asyncio.ensure_future(backend.perform(TASK, stop=stop))
        await asyncio.sleep(0.2)  # failed once, now resting
        stop.event.set()
        async with asyncio.timeout(5):
            return await first

    assert asyncio.run(main()) is None


def test_a_reply_lost_by_ray_is_solved_again_then_the_run_stops_in_one_line() -> None:
    def lost(times: int) -> Any:
        async def reply(call: int) -> Any:
            if call <= times:
                raise ray.exceptions.ObjectLostError("ab" * 14, None, "")
            return await answers(call)

        return reply

    once = Handle(lost(1))
    backend, _ = backend_of(once)
    found: Any = asyncio.run(backend.perform(TASK, stop=RunStop()))
    assert found == "outcome 2"
    assert backend.facts()["ray"]["tasks_sent_again"] == 1

    always = Handle(lost(100))
    backend, _ = backend_of(always)
    with pytest.raises(ClusterError) as stopped:
        asyncio.run(backend.perform(TASK, stop=RunStop()))
    message = str(stopped.value)
    assert "\n" not in message and "lost the reply of tabmwp/0 4 times" in message
    assert "run the same command again to resume" in message


def test_the_paths_hidden_from_the_actors_jobs_are_absolute_where_the_driver_is(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = SandboxSpec(hide=("runs/first", str(tmp_path / "data.jsonl")))
    # An actor's working directory is where its node's Ray started: "runs/first" is another
    # path there, and the run directory would not be hidden.
    assert spec.hide == (str(tmp_path / "runs" / "first"), str(tmp_path / "data.jsonl"))
    import dataclasses

    assert dataclasses.replace(spec, workers=3).hide == spec.hide
