"""Evaluations on a real local Ray: the same records as a local run, actors killed mid-run,
no actor left, the tool library and Tool Transfer, model failures and the API key."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from creator import ReferenceModel
from creator.cluster import RayBackend
from creator.errors import ClusterError, ModelAuthError
from creator.eval import EvalConfig, run_eval
from creator.eval.records import ProblemRecord
from creator.models.loopback import LoopbackServer, ServerReply
from creator.sandbox.base import Sandbox
from creator.tools import ToolLibrary
from tests.cluster.helpers import comparable, model_factory, ray_backend, records, respond

pytestmark = pytest.mark.usefixtures("ray_local")


def evaluate(
    config: EvalConfig,
    out: Path,
    *,
    model: Any,
    sandbox: Sandbox,
    backend: RayBackend | None = None,
    concurrency: int = 6,
    **options: Any,
) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        try:
            return await run_eval(
                config,
                out_dir=out,
                model=model,
                sandbox=sandbox,
                concurrency=concurrency,
                backend=backend,
                **options,
            )
        finally:
            if backend is not None:
                await backend.aclose()

    return asyncio.run(main())


def test_the_reference_replay_on_ray_records_what_a_local_run_records(tmp_path, sandbox):
    config = EvalConfig(dataset="creation", model="reference", limit=12)
    local = evaluate(config, tmp_path / "local", model=ReferenceModel(), sandbox=sandbox)
    backend = ray_backend(ReferenceModel, hide=(str(tmp_path),))
    remote = evaluate(
        config, tmp_path / "ray", model=ReferenceModel(), sandbox=sandbox, backend=backend
    )
    here, there = records(tmp_path / "local"), records(tmp_path / "ray")
    assert len(there) == 12
    assert {k: comparable(v) for k, v in there.items()} == {
        k: comparable(v) for k, v in here.items()
    }
    assert remote["accuracy"] == local["accuracy"] and remote["n"] == 12
    assert remote["sandbox"] == local["sandbox"]
    (actor,) = remote["ray"]["actors"]
    assert actor["solved"] == 12 and actor["cpus"] == 2 and actor["pid"] != os.getpid()
    assert remote["ray"]["actors_lost"] == 0


def test_a_scripted_model_on_ray_gives_the_local_records_and_tokens(tmp_path, sandbox):
    config = EvalConfig(dataset="tabmwp", model="test-model", limit=10)
    with LoopbackServer(responder=respond) as server:
        factory = model_factory(server.url)
        local = evaluate(config, tmp_path / "local", model=factory(), sandbox=sandbox)
        sent_locally = server.request_count
        backend = ray_backend(factory, actors=2, cpus_per_actor=1)
        remote = evaluate(
            config, tmp_path / "ray", model=factory(), sandbox=sandbox, backend=backend
        )
        assert server.request_count - sent_locally == sent_locally  # the probe included
    here, there = records(tmp_path / "local"), records(tmp_path / "ray")
    assert {k: comparable(v) for k, v in there.items()} == {
        k: comparable(v) for k, v in here.items()
    }
    assert sum(r["rectifications"] for r in there.values()) > 0  # repairs happened too
    assert remote["tokens"] == local["tokens"] and remote["tokens"]["total"] > 0
    solved = [a["solved"] for a in remote["ray"]["actors"]]
    assert sum(solved) == 10 and all(n > 0 for n in solved)  # both actors took work


def test_several_attempts_on_ray_give_the_local_records(tmp_path, sandbox):
    config = EvalConfig(dataset="tabmwp", model="test-model", limit=6, samples=3, vote_early=True)
    with LoopbackServer(responder=respond) as server:
        factory = model_factory(server.url)
        local = evaluate(config, tmp_path / "local", model=factory(), sandbox=sandbox)
        backend = ray_backend(factory, actors=2, cpus_per_actor=1)
        remote = evaluate(
            config, tmp_path / "ray", model=factory(), sandbox=sandbox, backend=backend
        )
    here, there = records(tmp_path / "local"), records(tmp_path / "ray")
    assert {k: comparable(v) for k, v in there.items()} == {
        k: comparable(v) for k, v in here.items()
    }
    assert all(len(r["samples"]) >= 2 and r["vote"]["k"] == 3 for r in there.values())
    assert remote["sampling"] == local["sampling"] and remote["tokens"] == local["tokens"]


def _slow(server_delay_s: float) -> Any:
    return functools.partial(respond, delay_s=server_delay_s)


def test_an_actor_killed_mid_run_loses_nothing_and_records_each_problem_once(tmp_path, sandbox):
    config = EvalConfig(dataset="tabmwp", model="test-model", limit=24)
    out = tmp_path / "run"
    with LoopbackServer(responder=_slow(0.25)) as server:
        factory = model_factory(server.url)
        backend = ray_backend(factory, actors=2, cpus_per_actor=1)
        killed: list[int] = []

        def on_record(record: ProblemRecord, progress: Any) -> None:
            if not killed and progress.done >= 4:
                victim = backend.actors[1]
                killed.append(victim["pid"])
                os.kill(victim["pid"], signal.SIGKILL)

        notes: list[str] = []
        summary = evaluate(
            config,
            out,
            model=factory(),
            sandbox=sandbox,
            backend=backend,
            on_record=on_record,
            on_note=notes.append,
        )
    assert killed
    found = records(out)  # raises if any problem is recorded twice
    assert len(found) == 24 and all(r["status"] != "model_error" for r in found.values())
    assert summary["n"] == 24
    ray_facts = summary["ray"]
    assert ray_facts["actors_lost"] == 1 and ray_facts["tasks_sent_again"] >= 1
    lost = [a for a in ray_facts["actors"] if a["lost"]]
    assert [a["pid"] for a in lost] == killed
    assert any("is gone" in n and "go to the 1 actor(s) left" in n for n in notes)


def test_with_no_actor_left_the_run_stops_in_one_line_and_resumes(tmp_path, sandbox):
    config = EvalConfig(dataset="tabmwp", model="test-model", limit=16)
    out = tmp_path / "run"
    with LoopbackServer(responder=_slow(0.25)) as server:
        factory = model_factory(server.url)
        backend = ray_backend(factory, actors=1, cpus_per_actor=1)

        def on_record(record: ProblemRecord, progress: Any) -> None:
            if progress.done == 3:
                os.kill(backend.actors[0]["pid"], signal.SIGKILL)

        with pytest.raises(ClusterError) as failed:
            evaluate(config, out, model=factory(), sandbox=sandbox, backend=backend,
                     on_record=on_record)  # fmt: skip
        message = str(failed.value)
        assert "\n" not in message and "no Ray actor is left" in message
        assert "run the same command again to resume" in message
        kept = records(out)
        assert 3 <= len(kept) < 16
        summary = json.loads((out / "summary.json").read_text())
        assert summary["n"] == len(kept) and summary["ray"]["actors_lost"] == 1
        again = ray_backend(factory)
        resumed = evaluate(config, out, model=factory(), sandbox=sandbox, backend=again)
    assert resumed["n"] == 16 and resumed["resumed_from"] == len(kept)
    assert len(records(out)) == 16


def test_a_rejected_key_stops_the_run_on_ray_as_it_does_here(tmp_path, sandbox):
    config = EvalConfig(dataset="tabmwp", model="test-model", limit=6)
    with LoopbackServer(responder=respond, api_key="right") as server:
        backend = ray_backend(model_factory(server.url, key="wrong"))
        with pytest.raises(ModelAuthError):
            evaluate(
                config,
                tmp_path / "run",
                model=model_factory(server.url, key="right")(),  # the probe goes through
                sandbox=sandbox,
                backend=backend,
            )
    assert not (tmp_path / "run" / "results.jsonl").exists() or not records(tmp_path / "run")


def test_the_tool_library_is_written_and_offered_by_the_driver(tmp_path, sandbox):
    config = EvalConfig(dataset="tabmwp", model="test-model", limit=6, reuse_tools=True)
    library = ToolLibrary(tmp_path / "tools.sqlite")
    try:
        with LoopbackServer(responder=respond) as server:
            factory = model_factory(server.url)
            summary = evaluate(
                config.model_copy(update={"reuse_tools": False}),
                tmp_path / "first",
                model=factory(),
                sandbox=sandbox,
                backend=ray_backend(factory),
                library=library,
                save_tools=True,
            )
            saved = library.count()
            assert saved >= 1 and summary["tools"]["created"] == 6
            again = evaluate(
                config.model_copy(update={"limit": 8, "offer_unverified": True}),
                tmp_path / "second",
                model=factory(),
                sandbox=sandbox,
                backend=ray_backend(factory),
                library=library,
                save_tools=True,
            )
    finally:
        library.close()
    offered = [
        step
        for record in records(tmp_path / "second").values()
        for step in record["trace"]
        if step.get("offered_tools")
    ]
    assert offered, "the driver retrieved library tools and the actors offered them"
    assert again["tools"]["reuse"] is True


def test_tool_transfer_on_ray_matches_the_local_run(tmp_path, sandbox):
    config = EvalConfig(dataset="transfer", model="reference", limit=4)
    local = evaluate(config, tmp_path / "local", model=ReferenceModel(), sandbox=sandbox)
    remote = evaluate(
        config,
        tmp_path / "ray",
        model=ReferenceModel(),
        sandbox=sandbox,
        backend=ray_backend(ReferenceModel),
    )
    here, there = records(tmp_path / "local"), records(tmp_path / "ray")
    assert any(k.endswith("@transfer") for k in there)
    assert {k: comparable(v) for k, v in there.items()} == {
        k: comparable(v) for k, v in here.items()
    }
    assert remote["transfer"] == local["transfer"]


def test_the_api_key_reaches_the_actors_but_never_their_sandboxes(tmp_path, sandbox):
    key = "sk-test-5e3b1d9c0a7f"
    probe = (
        "```python\nimport os, glob\nseen = repr(dict(os.environ))\n"
        "for path in glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline'):\n"
        "    try:\n        seen += open(path, 'rb').read().decode('latin-1')\n"
        "    except OSError:\n        pass\n"
        f"print('Final Answer:', 1 if {key[:8]!r} + {key[8:]!r} in seen else 0)\n```"
    )
    with LoopbackServer(responder=lambda body: ServerReply(content=probe), api_key=key) as server:
        factory = model_factory(server.url, key=key)
        summary = evaluate(
            EvalConfig(dataset="tabmwp", model="test-model", method="pot", limit=3),
            tmp_path / "run",
            model=factory(),
            sandbox=sandbox,
            backend=ray_backend(factory),
        )
        assert server.request_count >= 4  # the key was accepted: the actors called the server
    found = records(tmp_path / "run")
    assert summary["status"] == {"answered": 3}
    assert [r["prediction"] for r in found.values()] == ["0", "0", "0"]
    assert key not in (tmp_path / "run" / "results.jsonl").read_text()
