"""Two replicas of one model behind two `--base-url`s, one of them dying mid-run: the run goes
on with the other, here and on Ray, and the summary counts the requests per endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from creator.models.loopback import LoopbackServer
from tests.cluster.helpers import records, respond


@pytest.mark.parametrize("ray", [False, True], ids=["here", "on-ray"])
def test_a_dying_endpoint_is_rested_while_the_other_carries_the_run(tmp_path, ray):
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAY_"))}
    env["CREATOR_CACHE_DIR"] = str(tmp_path / "cache")
    slow = lambda body: respond(body, delay_s=0.2)  # noqa: E731
    with LoopbackServer(responder=slow) as first, LoopbackServer(responder=slow) as second:
        args = [sys.executable, "-m", "creator.cli.main", "eval", "--dataset", "tabmwp",
                "--model", "test-model", "--base-url", first.url, "--base-url", second.url,
                "--limit", "16", "--concurrency", "4", "--workers", "1", "--no-cache",
                "--out", str(out), *(["--ray", "local"] if ray else [])]  # fmt: skip
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        results = out / "results.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if results.exists() and results.read_text().count("\n") >= 3:
                break
            time.sleep(0.05)
        first.close()  # connection refused from now on
        dead_after = first.request_count
        _, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, stderr.decode()
    found = records(out)
    assert len(found) == 16 and all(r["status"] != "model_error" for r in found.values())
    summary = json.loads((out / "summary.json").read_text())
    endpoints = summary["endpoints"]
    assert set(endpoints) == {first.url, second.url}
    assert endpoints[first.url]["requests"] >= dead_after - 1 > 0  # the probe is not counted
    assert endpoints[second.url]["requests"] > endpoints[first.url]["requests"]
    dead = endpoints[first.url]
    assert dead["failed"] >= 1 and dead["rested"] >= 1
    assert dead["failed"] <= 4 + 4  # those in flight when it died, then a trial per rest
    assert ("ray" in summary) is ray
    config = json.loads((out / "config.json").read_text())
    assert config["base_urls"] == [first.url, second.url]
