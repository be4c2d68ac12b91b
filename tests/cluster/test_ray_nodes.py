"""A two-node Ray cluster on this machine (a head and a second node, as `ray start --head` and
`ray start --address` would make), and a node stopped in the middle of a run."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from creator.cluster import import_ray
from creator.eval import EvalConfig, run_eval
from creator.eval.records import ProblemRecord
from creator.models.loopback import LoopbackServer
from tests.cluster.helpers import model_factory, ray_backend, records, respond


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[tuple[Any, Any, int]]:
    ray = import_ray()
    from ray.cluster_utils import Cluster

    quick = {"health_check_period_ms": 500, "health_check_failure_threshold": 3}
    client_port = _free_port()
    head = {"num_cpus": 1, "_system_config": quick, "ray_client_server_port": client_port}
    cluster = Cluster(initialize_head=True, head_node_args=head)
    try:
        second = cluster.add_node(num_cpus=1)
        ray.init(address=cluster.address, logging_level=logging.ERROR, log_to_driver=False)
        cluster.wait_for_nodes()
        yield cluster, second, client_port
    finally:
        ray.shutdown()
        cluster.shutdown()  # type: ignore[no-untyped-call]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.parametrize("form", ["ray://", "auto", "HOST:PORT"])
def test_eval_joins_an_existing_cluster_and_runs_an_actor_on_each_node(two_nodes, tmp_path, form):
    cluster, _, client_port = two_nodes
    out = tmp_path / "run"
    # This machine's environment, as on a node of the cluster: RAY_AUTH_MODE=token when Ray
    # turned its token authentication on in this process (the token is in ~/.ray/auth_token).
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.pop("RAY_ADDRESS", None)
    env["CREATOR_CACHE_DIR"] = str(tmp_path / "cache")
    address = {"ray://": f"ray://127.0.0.1:{client_port}", "HOST:PORT": cluster.address}.get(
        form, "auto"
    )
    if form == "auto":  # as on a machine where `ray start` ran, or in a Ray job
        env["RAY_ADDRESS"] = cluster.address
    command = [
        sys.executable,
        "-m",
        "creator.cli.main",
        "eval",
        "--dataset",
        "creation",
        "--model",
        "reference",
        "--limit",
        "6",
        "--out",
        str(out),
        "--ray",
        address,
    ]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if form == "ray://" and "Initialization failure from server" in run.stderr:
        # Ray Client's proxy failed to start its per-client server (it exits at once, with an
        # empty log: seen 2 times in about 10 suite runs on a loaded 2-core machine). Once more,
        # as a user would; nothing was written (the run stops before its first problem).
        assert not (out / "results.jsonl").exists()
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    summary = json.loads((out / "summary.json").read_text())
    actors = summary["ray"]["actors"]
    assert len({a["node"] for a in actors}) == 2 and sum(a["solved"] for a in actors) == 6
    assert summary["n"] == 6 and summary["accuracy"] == 1.0
    alive = [n for n in import_ray().nodes() if n["Alive"]]
    assert len(alive) == 2  # joined, not started or stopped: the cluster is as it was


def test_a_node_stopped_mid_run_loses_nothing_and_its_work_is_done_elsewhere(
    two_nodes, tmp_path, sandbox
):
    cluster, second, _ = two_nodes
    config = EvalConfig(dataset="tabmwp", model="test-model", limit=20)
    out = tmp_path / "run"
    notes: list[str] = []
    with LoopbackServer(responder=lambda body: respond(body, delay_s=0.3)) as server:
        factory = model_factory(server.url)
        backend = ray_backend(factory)  # one actor per node, sized to it
        stopped: list[str] = []

        def on_record(record: ProblemRecord, progress: Any) -> None:
            if not stopped and progress.done >= 4:
                stopped.append(second.node_id)
                cluster.remove_node(second, allow_graceful=False)

        async def main() -> dict[str, Any]:
            try:
                return await run_eval(
                    config,
                    out_dir=out,
                    model=factory(),
                    sandbox=sandbox,
                    concurrency=6,
                    backend=backend,
                    on_record=on_record,
                    on_note=notes.append,
                )
            finally:
                await backend.aclose()

        summary = asyncio.run(main())
    actors = summary["ray"]["actors"]
    assert len(actors) == 2 and len({a["node"] for a in actors}) == 2
    assert stopped
    (lost,) = [a for a in actors if a["lost"]]
    assert lost["node"] == stopped[0]
    assert summary["ray"]["tasks_sent_again"] >= 1
    found = records(out)  # each problem once
    assert len(found) == 20 and summary["n"] == 20
    assert all(r["status"] != "model_error" for r in found.values())
    assert any("is gone" in n for n in notes)
