"""Red team of `creator eval --ray local` as a user runs it: a Ray started for the run inherits
no secret of the shell, an actor killed mid-run leaves ``--json-progress``'s stdout pure JSON,
and SIGTERM ends the command as one (exit 143: the summary written, Ray stopped, no C stack
dump), after which the run is finished with each problem once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from creator.models.loopback import LoopbackServer
from tests.cluster.helpers import records, respond

KEY = "sk-redteam-cli-9f2a61"


def descendants(pid: int) -> list[tuple[int, str]]:
    """The processes under ``pid`` (pid, command line), at any depth."""
    table = subprocess.run(
        ["ps", "-e", "-o", "pid=,ppid=,args="], capture_output=True, text=True, check=True
    ).stdout
    children: dict[int, list[tuple[int, str]]] = {}
    for line in table.splitlines():
        fields = line.split(None, 2)
        if len(fields) >= 2:
            children.setdefault(int(fields[1]), []).append((int(fields[0]), "".join(fields[2:])))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def environ(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().decode("latin-1")
    except OSError:
        return ""


def wait_for(predicate: Callable[[], bool], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_killed_actor_and_sigterm_under_ray_local(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAY_"))}
    env |= {"CREATOR_CACHE_DIR": str(tmp_path / "cache"), "OPENAI_API_KEY": KEY}
    with LoopbackServer(responder=lambda body: respond(body, delay_s=0.3), api_key=KEY) as server:
        command = [sys.executable, "-m", "creator.cli.main", "eval", "--dataset", "tabmwp",
                   "--model", "test-model", "--base-url", server.url, "--limit", "20",
                   "--concurrency", "4", "--no-cache", "--out", str(out), "--ray", "local",
                   "--ray-actors", "2", "--ray-cpus-per-actor", "1"]  # fmt: skip
        driver = subprocess.Popen(
            [*command, "--json-progress", "--progress-every", "0"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            results = out / "results.jsonl"
            wait_for(lambda: results.exists() and results.read_text().count("\n") >= 2)
            solvers = [p for p, args in descendants(driver.pid) if args.startswith("ray::Solver")]
            assert len(solvers) == 2
            # The actors have the key (in memory, from the driver), not in their environment.
            assert not [p for p, _ in descendants(driver.pid) if KEY in environ(p)]
            os.kill(solvers[0], signal.SIGKILL)
            done = results.read_text().count("\n")
            wait_for(lambda: results.read_text().count("\n") >= done + 3)
            ray_processes = [p for p, _ in descendants(driver.pid)]
            driver.send_signal(signal.SIGTERM)
            stdout, stderr = driver.communicate(timeout=120)
        finally:
            if driver.poll() is None:
                driver.kill()
        assert driver.returncode == 143, stderr.decode()
        assert b"SIGTERM received" not in stderr and b"Traceback" not in stderr
        lines = [line for line in stdout.decode().splitlines() if line.strip()]
        assert lines and all(line.startswith("{") for line in lines), lines  # pure JSON
        for line in lines:
            json.loads(line)
        kept = records(out)  # each once
        summary = json.loads((out / "summary.json").read_text())
        assert summary["n"] == len(kept) < 20 and summary["ray"]["actors_lost"] == 1
        time.sleep(1)
        assert not [p for p in ray_processes if Path(f"/proc/{p}").exists()]  # Ray stopped
        here = command[: command.index("--ray")]  # resumed here: Ray is tested above
        again = subprocess.run(here, env=env, capture_output=True, timeout=300)
    assert again.returncode == 0, again.stderr.decode()
    assert len(records(out)) == 20


@pytest.mark.parametrize(
    ("options", "ray_address", "expected"),
    [
        # A stale $RAY_ADDRESS (or record of the last cluster) made `auto` wait for minutes.
        (["--ray", "auto"], "127.0.0.1:1", "at 127.0.0.1:1 (what --ray auto found: $RAY_ADDRESS)"),
        (["--ray", "127.0.0.1:99999"], None, "is not an address"),  # was "Connection refused"
        (["--ray", "local", "--ray-cpus-per-actor", "0.00001"], None, "must be at least 0.25"),
    ],
)  # fmt: skip
def test_unusable_ray_addresses_are_one_line_in_seconds(
    tmp_path: Path, options: list[str], ray_address: str | None, expected: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAY_"))}
    env["CREATOR_CACHE_DIR"] = str(tmp_path / "cache")
    if ray_address is not None:
        env["RAY_ADDRESS"] = ray_address
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "creator.cli.main", "eval", "--dataset", "creation", "--model",
         "reference", "--limit", "1", "--out", str(tmp_path / "run"), *options],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("creator: error: ") and expected in lines[-1], run.stderr
    assert "Traceback" not in run.stderr and time.monotonic() - started < 30
