"""Sampled runs under failure: errors that stop a run, failures of several kinds, repairs of
code that printed nothing, and a model failure's place in the vote over the first k."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from creator import ScriptedModel
from creator.errors import ModelContextError, ModelError, ModelTimeoutError, OutputError
from creator.eval import EvalConfig, ResultsFile, run_eval
from creator.eval.sampling import SAMPLE_STRIDE
from creator.eval.voting import vote_at
from creator.models.base import CallContext, Completion, GenerationSettings, Message, Usage
from creator.sandbox.base import Sandbox

TOOL = "```python\ndef same(x):\n    return x\n```"
RIGHT = "```python\nprint('Final Answer:', same(5000))\n```"
SILENT = "```python\nvalue = same(5000)\n```"


def evaluate(config: EvalConfig, out: Path, model: Any, sandbox: Sandbox) -> dict[str, Any]:
    return asyncio.run(
        run_eval(config, out_dir=out, model=model, sandbox=sandbox, check_endpoint=False)
    )


def config(**fields: Any) -> EvalConfig:
    return EvalConfig(dataset="creation", model="scripted", ids=("creation/0",), **fields)


def attempt_of(settings: GenerationSettings) -> int:
    return settings.sample_index // SAMPLE_STRIDE


def test_an_error_that_stops_a_run_stops_a_sampled_one_the_same_way(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    def respond(
        messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
    ) -> str:
        assert context is not None
        if context.stage == "decision":
            raise OutputError("cannot write the response cache: No space left on device")
        return TOOL

    for samples in (1, 3):
        out, model = tmp_path / str(samples), ScriptedModel(responder=respond)
        with pytest.raises(OutputError, match="No space left on device"):
            evaluate(config(samples=samples), out, model, sandbox)
        assert not ResultsFile(out / "results.jsonl").load()


class TwoFailures:
    """Attempt 0 fails at once with ``first``, attempt 1 a moment later with ``second``."""

    name = "scripted"

    def __init__(self, first: ModelError, second: ModelError) -> None:
        self.first, self.second = first, second

    async def generate(
        self,
        messages: Sequence[Message],
        *,
        settings: GenerationSettings,
        context: CallContext | None = None,
    ) -> Completion:
        assert context is not None
        if context.stage == "creation":
            return Completion(text=TOOL, usage=Usage(prompt_tokens=1, completion_tokens=1))
        if attempt_of(settings) == 0:
            raise self.first
        await asyncio.sleep(0.2)
        raise self.second

    async def aclose(self) -> None:
        return None


CONTEXT = ModelContextError("the prompt needs 9000 tokens, 8192 fit", needed=9000, available=8192)
TIMEOUT = ModelTimeoutError("the server took too long")


@pytest.mark.parametrize(("first", "second"), [(CONTEXT, TIMEOUT), (TIMEOUT, CONTEXT)])
def test_a_sampled_failure_s_kind_is_that_of_the_error_it_records(
    tmp_path: Path, sandbox: Sandbox, first: ModelError, second: ModelError
) -> None:
    evaluate(config(samples=2), tmp_path, TwoFailures(first, second), sandbox)
    (record,) = ResultsFile(tmp_path / "results.jsonl").load().values()
    assert record.status == "model_error" and record.error == str(second)  # the last told
    assert record.error_kind == ("context" if second is CONTEXT else "timeout")
    assert record.refused == (second is CONTEXT)


def test_no_answer_repairs_count_the_chosen_attempt_of_a_sampled_run(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    def respond(
        messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
    ) -> str:
        assert context is not None
        if context.stage == "creation":
            return TOOL
        return SILENT if attempt_of(settings) == 1 else RIGHT  # attempt 1 never answers

    summary = evaluate(
        config(samples=3, rectify_on="no-answer", rectify_rounds=1),
        tmp_path,
        ScriptedModel(responder=respond),
        sandbox,
    )
    (record,) = ResultsFile(tmp_path / "results.jsonl").load().values()
    assert record.correct and record.samples[1].status == "no_answer"
    assert record.samples[1].rectifications == 1
    assert summary["no_answer_repairs"]["sent_back"] == 0  # the chosen attempt needed none


def test_a_model_failure_is_wrong_at_every_k(tmp_path: Path, sandbox: Sandbox) -> None:
    def respond(
        messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
    ) -> str | Exception:
        assert context is not None
        if context.stage == "creation":
            return TOOL
        return CONTEXT if attempt_of(settings) == 1 else RIGHT

    summary = evaluate(config(samples=3), tmp_path, ScriptedModel(responder=respond), sandbox)
    (record,) = ResultsFile(tmp_path / "results.jsonl").load().values()
    assert record.status == "model_error" and not record.correct
    assert any(s.correct for s in record.samples)  # attempts that answered rightly were kept
    assert [vote_at(record, k)[0] for k in (1, 2, 3)] == [False, False, False]
    assert [row["accuracy"] for row in summary["sampling"]["by_k"]] == [0.0, 0.0, 0.0]
