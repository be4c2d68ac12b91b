"""``--rectify-on no-answer``: code that ran and printed no answer goes back to Rectification."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from creator import ScriptedModel
from creator.eval import EvalConfig, ResultsFile, run_eval
from creator.models.base import CallContext, GenerationSettings, Message
from creator.prompts import PromptSet
from creator.sandbox.base import Sandbox

TOOL = "```python\ndef double(x):\n    return 2 * x\n```"
SILENT = "```python\nvalue = double(2500)\n```"
SPEAKS = "```python\nprint('Final Answer:', double(2500))\n```"


def model(*, repaired: bool = True) -> ScriptedModel:
    def respond(
        messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
    ) -> str:
        assert context is not None
        if context.stage == "creation":
            return TOOL
        if context.stage == "decision":
            return SILENT
        return SPEAKS if repaired else SILENT

    return ScriptedModel(responder=respond)


def evaluate(config: EvalConfig, out: Path, scripted: Any, sandbox: Sandbox) -> dict[str, Any]:
    return asyncio.run(run_eval(config, out_dir=out, model=scripted, sandbox=sandbox))


def config(**fields: Any) -> EvalConfig:
    return EvalConfig(dataset="creation", model="scripted", ids=("creation/0",), **fields)


def test_the_paper_setting_never_sends_code_without_an_answer_back(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    scripted = model()
    summary = evaluate(config(), tmp_path, scripted, sandbox)
    (record,) = ResultsFile(tmp_path / "results.jsonl").load().values()
    assert record.status == "no_answer" and record.rectifications == 0
    assert [c.context.stage for c in scripted.calls if c.context] == ["creation", "decision"]
    assert "no_answer_repairs" not in summary
    assert "creator/no_answer.md" not in (summary["settings"]["prompts"] or {})


def test_no_answer_goes_to_rectification_with_its_own_message(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    scripted = model()
    summary = evaluate(config(rectify_on="no-answer"), tmp_path, scripted, sandbox)
    (record,) = ResultsFile(tmp_path / "results.jsonl").load().values()
    assert record.status == "answered" and record.correct and record.rectifications == 1
    assert not record.one_time_pass
    asked = scripted.calls[-1]
    assert asked.context is not None and asked.context.stage == "rectification"
    message = PromptSet.builtin().render("creator/no_answer").strip()
    assert message in asked.messages[-1].content and "Final Answer:" in message
    assert summary["no_answer_repairs"] == {
        "sent_back": 1,
        "then_answered": 1,
        "then_correct": 1,
        "still_no_answer": 0,
    }
    assert "creator/no_answer.md" in summary["settings"]["prompts"]
    assert summary["settings"]["rectify_on"] == "no-answer"


def test_code_that_never_answers_ends_no_answer_after_the_rounds(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    scripted = model(repaired=False)
    summary = evaluate(
        config(rectify_on="no-answer", rectify_rounds=2), tmp_path, scripted, sandbox
    )
    (record,) = ResultsFile(tmp_path / "results.jsonl").load().values()
    assert record.status == "no_answer" and record.rectifications == 2
    stages = [s.stage for s in record.trace]
    assert stages == [
        "creation",
        "decision",
        "execution",
        "rectification",
        "execution",
        "rectification",
        "execution",
    ]
    assert summary["no_answer_repairs"]["still_no_answer"] == 1
    assert summary["status"] == {"no_answer": 1}
