"""A two-node Ray cluster on this machine (a head and a second node, as `ray start --head` and
`ray start --address` would make), and a node stopped in the middle of a run."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from creator.cluster import import_ray
from creator.eval import EvalConfig, run_eval
from creator.eval.records import ProblemRecord
from creator.models.loopback import LoopbackServer
from tests.cluster.helpers import model_factory, ray_backend, records, respond


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[tuple[Any, Any]]:
    ray = import_ray()
    from ray.cluster_utils import Cluster

    quick = {"health_check_period_ms": 500, "health_check_failure_threshold": 3}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "_system_config": quick})
    try:
        second = cluster.add_node(num_cpus=1)
        ray.init(address=cluster.address, logging_level=logging.ERROR, log_to_driver=False)
        cluster.wait_for_nodes()
        yield cluster, second
    finally:
        ray.shutdown()
        cluster.shutdown()  # type: ignore[no-untyped-call]


def test_a_node_stopped_mid_run_loses_nothing_and_its_work_is_done_elsewhere(
    two_nodes, tmp_path, sandbox
):
    cluster, second = two_nodes
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
