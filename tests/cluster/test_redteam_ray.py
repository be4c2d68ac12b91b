"""Red team of evaluations on a real local Ray: what an actor's build fails with reaches the
user as one line naming it; hostile generated code on an actor (bubblewrap) sees nothing of
the run (no key, no answers, no Ray files, no network); an actor that stops answering is
given up instead of holding the run for ever."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from creator.cluster import RayBackend, SandboxSpec
from creator.errors import ClusterError, ConfigError
from creator.eval import EvalConfig, run_eval
from creator.models.loopback import LoopbackServer, ServerReply
from creator.sandbox.base import Sandbox
from tests.cluster.helpers import model_factory, ray_backend, records, respond

pytestmark = pytest.mark.usefixtures("ray_local")

OPTIONS = EvalConfig(dataset="tabmwp", model="m", limit=1).stage_options(service=None, prompts=None)


def refused() -> Any:
    raise ConfigError("--request-timeout must be above 0")


def broken() -> Any:
    raise RuntimeError("boom\nsecond line")


@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        (refused, "could not start: --request-timeout must be above 0"),
        (broken, "could not start: RuntimeError: boom"),
    ],
)
def test_what_an_actor_fails_to_build_is_one_line_naming_it(factory: Any, expected: str) -> None:
    backend = RayBackend(address="local", model_factory=factory, sandbox=SandboxSpec(), actors=1)

    async def main() -> None:
        try:
            await backend.open(method="pot", options=OPTIONS, note=lambda _: None)
        finally:
            await backend.aclose()

    with pytest.raises(ClusterError) as failed:
        asyncio.run(main())
    message = str(failed.value)
    # It was Ray's dead-actor report: colours, a pid, the message cut before the reason.
    assert message.startswith("Ray actor 1 on ") and expected in message
    assert "\n" not in message and "\x1b" not in message and "pid=" not in message


KEY = "sk-redteam-41d7c0e2b9"
SNOOP = r"""
import glob, json, os, socket
seen = {"env": "{KEY}" in repr(dict(os.environ))}
def read(path):
    try:
        with open(path, "rb") as f:
            return f.read(1 << 16).decode("latin-1")
    except OSError:
        return ""
seen["proc"] = [p for p in glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline")
                if "{KEY}" in read(p)]
seen["ray_files"] = glob.glob("/tmp/ray/*") + glob.glob("/dev/shm/*")
seen["run_dir"] = os.path.exists("{RUN}")
seen["answers"] = [p for p in glob.glob("{SRC}/**/*", recursive=True) if "datasets" in p]
def reach(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False
seen["network"] = [p for p in ({PORT}, 6379, 8265) if reach(p)]
print("SEEN", json.dumps(seen))
print("Final Answer:", 1)
"""


def test_hostile_code_on_an_actor_sees_nothing_of_the_run(tmp_path: Path, sandbox: Sandbox) -> None:
    if sandbox.isolation != "bwrap":
        pytest.skip("bubblewrap is not available here")
    import creator

    out = tmp_path / "run"
    out.mkdir()
    source = str(Path(creator.__file__).parent)
    code: dict[str, str] = {}
    with LoopbackServer(responder=lambda body: ServerReply(content=code["reply"]), api_key=KEY
                        ) as server:  # fmt: skip
        port = server.url.rsplit(":", 1)[1].split("/")[0]
        snoop = SNOOP.replace("{KEY}", KEY).replace("{RUN}", str(out)).replace("{SRC}", source)
        code["reply"] = "```python\n" + snoop.replace("{PORT}", port) + "\n```"
        factory = model_factory(server.url, key=KEY)

        async def main() -> dict[str, Any]:
            backend = ray_backend(factory, hide=(str(out),))
            try:
                return await run_eval(
                    EvalConfig(dataset="tabmwp", model="test-model", method="pot", limit=1),
                    out_dir=out, model=factory(), sandbox=sandbox, backend=backend,
                )  # fmt: skip
            finally:
                await backend.aclose()

        summary = asyncio.run(main())
    assert summary["sandbox"] == "bwrap" and summary["ray"]["actors"][0]["isolation"] == "bwrap"
    (record,) = records(out).values()
    text = json.dumps(record["trace"])
    found = json.loads(text[text.index("SEEN ") + 5 :].split("\\n")[0].replace('\\"', '"'))
    assert found == {
        "env": False, "proc": [], "ray_files": [], "run_dir": False, "answers": [],
        "network": [],
    }  # fmt: skip


def test_an_actor_that_stops_answering_is_given_up_and_the_run_finishes(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    """A stopped actor process (or one stuck in the kernel) is alive for Ray: its tasks used
    to be awaited for ever, and the run never ended."""
    import os
    import signal

    from creator.eval.records import ProblemRecord

    out = tmp_path / "run"
    notes: list[str] = []
    stopped: list[int] = []
    with LoopbackServer(responder=lambda body: respond(body, delay_s=0.2)) as server:
        factory = model_factory(server.url)
        backend = ray_backend(factory, actors=2, cpus_per_actor=1, watch_s=0.3,
                              ping_timeout_s=1.0)  # fmt: skip

        def on_record(record: ProblemRecord, progress: Any) -> None:
            if not stopped and progress.done >= 3:
                stopped.append(backend.actors[1]["pid"])
                os.kill(stopped[0], signal.SIGSTOP)

        async def main() -> dict[str, Any]:
            try:
                async with asyncio.timeout(120):
                    return await run_eval(
                        EvalConfig(dataset="tabmwp", model="test-model", limit=14),
                        out_dir=out, model=factory(), sandbox=sandbox, backend=backend,
                        concurrency=6, on_record=on_record, on_note=notes.append,
                    )  # fmt: skip
            finally:
                await backend.aclose()
                for pid in stopped:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGCONT)

        summary = asyncio.run(main())
    assert stopped
    found = records(out)  # each problem once
    assert len(found) == 14 and summary["n"] == 14
    assert all(r["status"] != "model_error" for r in found.values())
    (lost,) = [a for a in summary["ray"]["actors"] if a["lost"]]
    assert lost["pid"] == stopped[0] and "no answer to a ping in 1 s" in lost["lost"]
    assert any("answers nothing" in n and "go to the 1 actor(s) left" in n for n in notes)
