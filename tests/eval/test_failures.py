"""Model failures in the evaluation runner: runs that stop, calls cut short, kinds recorded,
refused requests kept and re-checked once, and exceptions that cannot end a run."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from creator import ScriptedModel
from creator.errors import (
    ModelAuthError,
    ModelConnectionError,
    ModelContextError,
    ModelRateLimitError,
)
from creator.eval import EvalConfig, ProblemRecord, ResultsFile, run_eval
from creator.eval.failures import ModelWatch, RunStop, Stopped, kind_of
from creator.models.base import CallContext, GenerationSettings, Message
from creator.models.scripted import Reply
from creator.sandbox.base import Sandbox
from tests.eval.test_transfer import scripted, transfer_config

PROGRAM = "```python\nprint('Final Answer:', 1)\n```"
CONFIG = EvalConfig(dataset="tabmwp", method="pot", model="scripted", limit=6)


def evaluate(
    out: Path, model: Any, sandbox: Sandbox, *, concurrency: int = 1, **kw: Any
) -> dict[str, Any]:
    config = kw.pop("config", CONFIG)
    return asyncio.run(
        run_eval(config, out_dir=out, model=model, sandbox=sandbox, concurrency=concurrency, **kw)
    )


def by_problem(replies: dict[str, str | Exception]) -> ScriptedModel:
    """A PROGRAM for every problem but those in ``replies``."""

    def respond(
        messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
    ) -> str | Exception:
        assert context is not None
        return replies.get(context.problem.id, PROGRAM)

    return ScriptedModel(responder=respond)


def test_a_dead_endpoint_mid_run_stops_it_and_keeps_what_finished(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    dead = ModelConnectionError("cannot reach http://127.0.0.1:9/v1: connection refused")
    model = by_problem({"tabmwp/2": dead, "tabmwp/3": dead, "tabmwp/4": dead})
    with pytest.raises(ModelConnectionError) as failed:
        evaluate(tmp_path, model, sandbox)
    assert "connection refused" in str(failed.value)
    assert "2 of 6 problems finished and kept" in str(failed.value)
    assert len(model.calls) == 3  # nothing was dispatched after the failure
    kept = ResultsFile(tmp_path / "results.jsonl").load()
    assert sorted(kept) == ["tabmwp/0", "tabmwp/1"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n"] == 2 and summary["model_errors"] == 0
    summary = evaluate(tmp_path, by_problem({}), sandbox)
    assert summary["n"] == 6 and summary["resumed_from"] == 2


def slow_model(errors: dict[str, Exception], delay_s: float) -> ScriptedModel:
    """Answers after ``delay_s``; raises ``errors[problem id]`` at once."""

    def reply(messages: object, settings: object, context: CallContext | None) -> Reply:
        error = errors.get(context.problem.id) if context is not None else None
        return error if error is not None else PROGRAM

    return ScriptedModel(responder=reply, name="slow", delay_s=delay_s)


def test_calls_in_flight_are_cut_short_and_not_recorded(tmp_path: Path, sandbox: Sandbox) -> None:
    model = slow_model({"tabmwp/1": ModelAuthError("rejected the API key (401)")}, delay_s=30)
    began = time.monotonic()
    with pytest.raises(ModelAuthError, match=r"401.*0 of 6 problems finished"):
        evaluate(tmp_path, model, sandbox, concurrency=3)
    assert time.monotonic() - began < 10
    assert model.cancelled == 2
    assert ResultsFile(tmp_path / "results.jsonl").load() == {}
    assert json.loads((tmp_path / "summary.json").read_text())["n"] == 0


def test_an_unexpected_exception_in_one_problem_is_recorded_not_fatal(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    model = by_problem({"tabmwp/3": RuntimeError("a bug\nin two lines")})
    summary = evaluate(tmp_path, model, sandbox, concurrency=3)
    kept = ResultsFile(tmp_path / "results.jsonl").load()
    assert len(kept) == 6
    broken = kept["tabmwp/3"]
    assert broken.status == "model_error" and broken.error_kind == "internal"
    assert broken.error == "internal error: RuntimeError: a bug in two lines"
    assert not broken.finished and not broken.correct
    assert all(r.status == "answered" for k, r in kept.items() if k != "tabmwp/3")
    assert summary["model_errors"] == 1
    assert summary["model_error_cause"]["kind"] == "internal"


def test_transient_failures_are_counted_by_kind(tmp_path: Path, sandbox: Sandbox) -> None:
    limited = ModelRateLimitError("still rate limiting (429)")
    model = by_problem({"tabmwp/0": limited, "tabmwp/4": limited})
    summary = evaluate(tmp_path, model, sandbox)
    assert summary["model_errors"] == 2 and summary["model_error_kinds"] == {"rate_limit": 2}
    assert summary["model_error_cause"] == {
        "kind": "rate_limit",
        "count": 2,
        "error": "still rate limiting (429)",
    }


def overflow(needed: int) -> ModelContextError:
    return ModelContextError(
        f"the prompt needs {needed:,} tokens but the server's context holds 2,048",
        needed=needed,
        available=2048,
    )


def test_refused_requests_are_final_and_the_largest_is_summarised(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    model = by_problem({"tabmwp/1": overflow(2600), "tabmwp/5": overflow(3100)})
    summary = evaluate(tmp_path, model, sandbox)
    assert summary["request_errors"] == 2 and summary["model_errors"] == 0
    assert summary["context"] == {"needed": 3100, "available": 2048}
    assert "3,100" in summary["request_error"]
    kept = ResultsFile(tmp_path / "results.jsonl").load()
    assert kept["tabmwp/5"].refused and kept["tabmwp/5"].finished
    assert (kept["tabmwp/5"].context_needed, kept["tabmwp/5"].context_available) == (3100, 2048)


def test_a_recheck_that_fails_transiently_keeps_the_others_and_is_not_resent(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    evaluate(
        tmp_path, by_problem({"tabmwp/1": overflow(2600), "tabmwp/2": overflow(2600)}), sandbox
    )
    notes: list[str] = []
    model = by_problem({"tabmwp/1": ModelRateLimitError("429")})
    summary = evaluate(tmp_path, model, sandbox, on_note=notes.append)
    assert len(model.calls) == 1  # only the recheck: nothing else was left to do
    assert summary["recheck"] == {"problem": "tabmwp/1", "outcome": "failed"}
    assert summary["model_errors"] == 1 and summary["request_errors"] == 1
    assert "the other one kept as they were" in notes[-1]


def test_a_fatal_failure_of_the_recheck_stops_before_anything_else(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    config = CONFIG.model_copy(update={"limit": 3})
    evaluate(tmp_path, by_problem({"tabmwp/0": overflow(2600)}), sandbox, config=config)
    model = by_problem({"tabmwp/0": ModelAuthError("rejected the API key (401)")})
    bigger = CONFIG.model_copy(update={"limit": 6})
    with pytest.raises(ModelAuthError, match="3 of 6 problems finished"):
        evaluate(tmp_path, model, sandbox, config=bigger)
    assert len(model.calls) == 1


def test_a_refused_scenario_1_holds_its_transfers(tmp_path: Path, sandbox: Sandbox) -> None:
    def refuse(context: CallContext, prompt: str) -> Exception | None:
        return overflow(5000) if context.problem.id == "transfer/0/1" else None

    model = scripted(refuse)
    summary = asyncio.run(
        run_eval(transfer_config(), out_dir=tmp_path, model=model, sandbox=sandbox)
    )
    kept = ResultsFile(tmp_path / "results.jsonl").load()
    assert kept["transfer/0/1@control"].refused
    assert "transfer/0/2@transfer" not in kept and "transfer/0/3@transfer" not in kept
    assert summary["request_errors"] == 1


def test_records_without_an_error_kind_are_retried() -> None:
    old = {
        "id": "tabmwp/0", "dataset": "tabmwp", "method": "pot", "model": "m",
        "status": "model_error", "prediction": None, "target": "1", "correct": False,
        "correct_strict": False, "correct_paper": False,
    }  # fmt: skip
    record = ProblemRecord.model_validate(old)
    assert record.error_kind is None and not record.finished and not record.refused
    refused = ProblemRecord.model_validate(old | {"error_kind": "context"})
    assert refused.finished and refused.refused
    answered = ProblemRecord.model_validate(old | {"status": "answered"})
    assert answered.finished and not answered.refused


def test_kinds_of_failures() -> None:
    assert kind_of(overflow(1)) == "context"
    assert kind_of(ModelAuthError("x")) == "auth"
    assert kind_of(ValueError("x")) == "model" and kind_of(None) == "model"


def test_the_watch_cuts_calls_short_once_the_run_stops() -> None:
    async def scenario() -> None:
        stop = RunStop()
        slow = slow_model({}, delay_s=30)
        watch = ModelWatch(slow, stop)
        call = asyncio.ensure_future(watch.generate([], settings=GenerationSettings()))
        await asyncio.sleep(0.05)
        stop.stop(ModelAuthError("401"))
        with pytest.raises(Stopped):
            await call
        assert slow.cancelled == 1 and watch.cut_short
        with pytest.raises(Stopped):
            await watch.generate([], settings=GenerationSettings())

    asyncio.run(scenario())
