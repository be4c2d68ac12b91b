"""`creator eval --ray ...` as a user runs it: a Ray of this machine started for the run, the
run directory as a local run leaves it (resumable without Ray), and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


def creator(*args: str, tmp_path: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAY_"))}
    env["CREATOR_CACHE_DIR"] = str(tmp_path / "cache")
    return subprocess.run(
        [sys.executable, "-m", "creator.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_eval_on_a_ray_started_for_the_run_then_resumed_without_ray(tmp_path):
    out = tmp_path / "run"
    run = ["eval", "--dataset", "creation", "--model", "reference", "--out", str(out)]
    done = creator(*run, "--limit", "6", "--ray", "local", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Ray: starting 1 actor(s) on 1 node(s)" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 6 and summary["ray"]["address"] == "local"
    assert summary["concurrency"] == 8  # 4 per actor CPU, at least 8
    assert summary["ray"]["actors"][0]["solved"] == 6
    first = (out / "results.jsonl").read_text()
    for command in (["report", str(out), "--out", str(tmp_path / "report")], ["view", str(out)]):
        shown = creator(*command, tmp_path=tmp_path)  # as after a local run
        assert shown.returncode == 0, shown.stderr
    more = creator(*run, "--limit", "8", tmp_path=tmp_path)  # the same directory, here
    assert more.returncode == 0, more.stderr
    assert (out / "results.jsonl").read_text().startswith(first)
    resumed = json.loads((out / "summary.json").read_text())
    assert resumed["n"] == 8 and resumed["resumed_from"] == 6 and "ray" not in resumed


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--ray", "127.0.0.1:1"], "no Ray cluster answers at 127.0.0.1:1"),
        (["--ray", "ray://127.0.0.1:1"], "no Ray cluster answers at ray://127.0.0.1:1"),
        (["--ray", "no-port"], "is not an address"),
        (["--ray-actors", "2"], "only apply with --ray"),
        (["--ray", "local", "--ray-actors", "0"], "--ray-actors must be at least 1"),
        (["--ray", "local", "--ray-cpus-per-actor", "512"], "no node has 512 CPUs"),
    ],
)
def test_unusable_ray_options_are_one_line_and_quick(tmp_path, options, expected):
    out = tmp_path / "run"
    started = time.monotonic()
    run = creator("eval", "--dataset", "creation", "--model", "reference", "--limit", "2",
                  "--out", str(out), *options, tmp_path=tmp_path)  # fmt: skip
    assert run.returncode == 2, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines and expected in lines[-1] and "Traceback" not in run.stderr
    assert time.monotonic() - started < 30
    assert not (out / "results.jsonl").exists()


def test_without_the_ray_extra_the_error_says_how_to_install_it(tmp_path):
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "from creator.cli.main import main\n"
        "sys.exit(main(['eval', '--dataset', 'creation', '--model', 'reference', "
        f"'--limit', '1', '--out', {str(tmp_path / 'run')!r}, '--ray', 'local']))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "pip install 'creator[ray]'" in run.stderr and "Traceback" not in run.stderr
