"""A run directory holds one run at a time; selections that name nothing are errors."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from creator.errors import InputError
from creator.eval.rundir import run_lock
from creator.models.loopback import LoopbackServer, ServerReply
from tests.cli.test_solve import creator, one_line_error


def test_a_locked_directory_is_refused_and_free_again_after(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with run_lock(out):
        (out / "results.jsonl").write_text("")
        with (
            pytest.raises(
                InputError, match=rf"in use by another creator eval \(pid {os.getpid()}\)"
            ),
            run_lock(out),
        ):
            pass
    with run_lock(out):  # released
        pass
    assert (out / ".lock").exists()


def test_a_refused_run_leaves_no_directory_behind(tmp_path: Path) -> None:
    out = tmp_path / "never"
    with run_lock(out):
        pass
    assert not out.exists()


def test_a_second_eval_on_the_same_out_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with LoopbackServer(lambda body: ServerReply(content="Final Answer: 1", delay_s=0.5),
                        models=["tiny"]) as server:  # fmt: skip
        args = (
            "eval", "--dataset", "tabmwp", "--method", "cot", "--limit", "20", "--concurrency",
            "1", "--model", "tiny", "--base-url", server.url, "--no-cache", "--out", str(out),
        )  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        first = subprocess.Popen(
            [sys.executable, "-m", "creator.cli.main", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while server.request_count < 2 and time.monotonic() < deadline:
                time.sleep(0.05)  # the probe, then the first problem: the run holds the lock
            second = creator(*args)
            error = one_line_error(second)
            assert f"in use by another creator eval (pid {first.pid})" in error
        finally:
            _, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
    assert len((out / "results.jsonl").read_text().splitlines()) == 20  # each solved once
    assert server.request_count == 21


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--ids", ""), "--ids names no problem"),
        (("--ids", " , "), "--ids names no problem"),
        (("--workers", "0"), "--workers must be at least 1"),
        (("--hint", "utility", "--dataset", "tabmwp"), "tabmwp has no hints"),
    ],
)
def test_selections_that_name_nothing_are_errors(
    tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    dataset = () if "--dataset" in extra else ("--dataset", "creation")
    proc = creator("eval", *dataset, *extra, "--model", "reference", "--out", str(tmp_path / "run"))
    assert message in one_line_error(proc)
    assert not (tmp_path / "run").exists()
