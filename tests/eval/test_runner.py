"""The evaluation harness: records, summary, resume, refusal, model failures, torn lines."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from creator import ReferenceModel, ScriptedModel
from creator.errors import InputError, ModelTimeoutError
from creator.eval import EvalConfig, ResultsFile, run_eval
from creator.models.base import CallContext, GenerationSettings, Message
from creator.models.loopback import LoopbackServer, ServerReply
from creator.sandbox.base import Sandbox


def evaluate(config: EvalConfig, out: Path, model, sandbox: Sandbox, concurrency: int = 4):
    return asyncio.run(
        run_eval(config, out_dir=out, model=model, sandbox=sandbox, concurrency=concurrency)
    )


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_reference_replay_over_creation_challenge(tmp_path, sandbox):
    config = EvalConfig(dataset="creation", model="reference", limit=12)
    summary = evaluate(config, tmp_path, ReferenceModel(), sandbox)
    records = lines(tmp_path / "results.jsonl")
    assert len(records) == 12 and len({r["id"] for r in records}) == 12
    for key in ("id", "prediction", "target", "correct", "rectifications", "tokens", "trace"):
        assert key in records[0]
    assert summary["n"] == 12 and summary["replay"] is True
    assert "replay" in summary["model_label"]
    assert summary["accuracy"] >= 0.9
    assert summary["sandbox"] == sandbox.isolation
    assert summary["settings"]["method"] == "creator"
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["accuracy"] == summary["accuracy"]


def test_resume_skips_finished_problems_and_extends_with_a_larger_limit(tmp_path, sandbox):
    model = ReferenceModel()
    evaluate(EvalConfig(dataset="creation", model="reference", limit=3), tmp_path, model, sandbox)
    first = (tmp_path / "results.jsonl").read_text()
    summary = evaluate(
        EvalConfig(dataset="creation", model="reference", limit=3), tmp_path, model, sandbox
    )
    assert (tmp_path / "results.jsonl").read_text() == first
    assert summary["resumed_from"] == 3 and summary["n"] == 3
    summary = evaluate(
        EvalConfig(dataset="creation", model="reference", limit=5), tmp_path, model, sandbox
    )
    assert len(lines(tmp_path / "results.jsonl")) == 5 and summary["n"] == 5


def test_a_directory_made_with_other_settings_is_refused(tmp_path, sandbox):
    evaluate(
        EvalConfig(dataset="creation", model="reference", limit=1),
        tmp_path,
        ReferenceModel(),
        sandbox,
    )
    other = EvalConfig(dataset="creation", model="reference", limit=1, rectify_rounds=1)
    with pytest.raises(InputError, match=r"different settings.*rectify_rounds"):
        evaluate(other, tmp_path, ReferenceModel(), sandbox)


def test_model_failure_is_recorded_as_such_and_retried_on_resume(tmp_path, sandbox):
    def flaky(
        messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
    ) -> str | Exception:
        assert context is not None
        if context.problem.id == "creation/1":
            return ModelTimeoutError("http://127.0.0.1:1/v1 did not answer within 60 s")
        reference = context.problem.reference
        assert reference is not None
        code = reference.tool if context.stage == "creation" else reference.solution
        return f"```python\n{code}\n```"

    config = EvalConfig(dataset="creation", model="reference", limit=3)
    summary = evaluate(config, tmp_path, ScriptedModel(responder=flaky), sandbox, concurrency=1)
    records = {r["id"]: r for r in lines(tmp_path / "results.jsonl")}
    assert records["creation/1"]["status"] == "model_error"
    assert records["creation/1"]["error_kind"] == "timeout"
    assert records["creation/1"]["correct"] is False
    assert summary["model_errors"] == 1 and summary["request_errors"] == 0
    assert summary["model_error_cause"]["kind"] == "timeout"
    assert summary["status"].get("execution_error", 0) == 0
    summary = evaluate(config, tmp_path, ReferenceModel(), sandbox)
    assert summary["model_errors"] == 0 and summary["resumed_from"] == 2
    assert len(lines(tmp_path / "results.jsonl")) == 4  # the retry is appended; latest wins


def test_torn_last_line_is_cut_and_a_corrupt_middle_line_is_an_error(tmp_path, sandbox):
    evaluate(
        EvalConfig(dataset="creation", model="reference", limit=2),
        tmp_path,
        ReferenceModel(),
        sandbox,
    )
    path = tmp_path / "results.jsonl"
    good = path.read_bytes()
    path.write_bytes(good + b'{"id": "creation/2", "datas')
    assert len(ResultsFile(path).load()) == 2
    assert path.read_bytes() == good
    path.write_bytes(b"not json\n" + good)
    with pytest.raises(InputError, match="corrupt line"):
        ResultsFile(path).load()


def test_filters_reach_the_selection(tmp_path, sandbox):
    config = EvalConfig(
        dataset="creation", model="reference", ids=("creation/7", "creation/3"), limit=None
    )
    evaluate(config, tmp_path, ReferenceModel(), sandbox)
    assert [r["id"] for r in lines(tmp_path / "results.jsonl")] != []
    assert {r["id"] for r in lines(tmp_path / "results.jsonl")} == {"creation/7", "creation/3"}
    with pytest.raises(InputError, match="unknown subject"):
        evaluate(
            EvalConfig(dataset="math", model="reference", subjects=("alegbra",)),
            tmp_path / "x",
            ReferenceModel(),
            sandbox,
        )


PROGRAM = (
    '```python\ndef add(a: float, b: float) -> float:\n    """Sum."""\n    return a + b\n\n'
    "print('Final Answer:', add(2, 3))\n```"
)


def test_kill_9_mid_run_loses_nothing_finished(tmp_path):
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["CREATOR_CACHE_DIR"] = str(tmp_path / "cache")
    with LoopbackServer(
        responder=lambda body: ServerReply(content=PROGRAM, delay_s=0.15)
    ) as server:
        args = [sys.executable, "-m", "creator.cli.main", "eval", "--dataset", "tabmwp",
                "--model", "test-model", "--base-url", server.url, "--limit", "40",
                "--concurrency", "2", "--workers", "1", "--out", str(out),
                "--no-cache"]  # fmt: skip
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        results = out / "results.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if results.exists() and results.read_text().count("\n") >= 3:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        kept = ResultsFile(results).load()
        assert len(kept) >= 3
        for line in results.read_text().splitlines():
            json.loads(line)
        resumed = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        assert "resuming" in resumed.stdout
    final = ResultsFile(results).load()
    assert len(final) == 40
    assert all(r.prediction == "5" for r in final.values())
    assert len(results.read_text().splitlines()) == 40  # nothing finished was redone


def test_reference_replay_refuses_a_dataset_without_recorded_solutions(tmp_path, sandbox):
    config = EvalConfig(dataset="math", model="reference", limit=2)
    with pytest.raises(InputError, match="no recorded solutions for math"):
        evaluate(config, tmp_path, ReferenceModel(), sandbox)
    assert not (tmp_path / "results.jsonl").exists()


def test_fingerprint_ignores_where_the_model_is_served_and_names_nested_changes() -> None:
    base = EvalConfig(dataset="tabmwp", model="m", base_url="http://127.0.0.1:8000/v1")
    moved = base.model_copy(update={"base_url": "http://10.0.0.7:9001/v1"})
    assert base.fingerprint() == moved.fingerprint() and not base.differences(moved)
    hotter = base.model_copy(
        update={"settings": base.settings.model_copy(update={"temperature": 0.7})}
    )
    assert base.changes(hotter) == [("settings.temperature", 0.3, 0.7)]
    renamed = hotter.model_copy(update={"model": "other", "rectify_rounds": 1})
    assert base.differences(renamed) == ["model", "rectify_rounds", "settings.temperature"]
    with_body = base.model_copy(
        update={"settings": base.settings.model_copy(update={"extra_body": {"a": {"b": 1}}})}
    )
    assert base.changes(with_body) == [("settings.extra_body.a.b", "(unset)", 1)]
