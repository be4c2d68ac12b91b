"""The Tool Transfer experiment: control and transfer arms, their order, resume and summary."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from creator import ReferenceModel, ScriptedModel
from creator.datasets import get
from creator.errors import InputError, ModelResponseError
from creator.eval import EvalConfig, ResultsFile, run_eval
from creator.models.base import CallContext, GenerationSettings, Message
from creator.sandbox.base import Sandbox

Reply = str | Exception
TOOL_NAME = re.compile(r"def (tool_\d+_\d)\(")


def tool_reply(problem_id: str) -> str:
    """A tool named after the problem it was made for: ``tool_<group>_<scenario>``."""
    group, scenario = problem_id.split("/")[1:]
    return (
        f"```python\ndef tool_{group}_{scenario}(x: float) -> float:\n"
        '    """Returns x unchanged."""\n    return x\n```'
    )


def decision_reply(answer: str, prompt: str, *, wrong: bool = False) -> str:
    """Code that calls the tool shown in ``prompt`` and prints ``answer`` (or a wrong value)."""
    match = TOOL_NAME.search(prompt)
    assert match is not None, "the decision prompt shows no tool"
    value = f"{answer} + 1" if wrong else answer
    return f"```python\nprint('Final Answer:', {match.group(1)}({value}))\n```"


Rule = Callable[[CallContext, str], Reply | None]


def scripted(
    rule: Rule | None = None, *, wrong_control: frozenset[int] = frozenset()
) -> ScriptedModel:
    """Tools per problem; decisions call the tool they are shown. ``rule`` may override a reply;
    control-arm decisions of the scenarios in ``wrong_control`` print a wrong answer."""

    def respond(
        messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
    ) -> Reply:
        assert context is not None
        prompt = messages[-1].content
        if rule is not None:
            override = rule(context, prompt)
            if override is not None:
                return override
        problem = context.problem
        if context.stage == "creation":
            return tool_reply(problem.id)
        scenario = problem.metadata["scenario"]
        own_tool = f"def tool_{problem.metadata['group']}_{scenario}(" in prompt
        assert problem.answer is not None
        return decision_reply(problem.answer, prompt, wrong=own_tool and scenario in wrong_control)

    return ScriptedModel(responder=respond)


def evaluate(config: EvalConfig, out: Path, model: Any, sandbox: Sandbox) -> dict[str, Any]:
    return asyncio.run(run_eval(config, out_dir=out, model=model, sandbox=sandbox, concurrency=3))


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (path / "results.jsonl").read_text().splitlines()]


def transfer_config(**fields: Any) -> EvalConfig:
    return EvalConfig(dataset="transfer", model="scripted", **({"limit": 6} | fields))


def decision_prompt(model: ScriptedModel, problem_id: str, tool: str) -> str:
    """The decision prompt for ``problem_id`` that showed ``tool``."""
    for call in model.calls:
        assert call.context is not None
        prompt = call.messages[-1].content
        context = call.context
        if context.stage == "decision" and context.problem.id == problem_id and tool in prompt:
            return prompt
    raise AssertionError(f"no decision for {problem_id} with {tool}")


def test_transfer_arm_gives_scenario_1s_tool_with_each_scenarios_own_question(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    model = scripted(wrong_control=frozenset({3}))
    summary = evaluate(transfer_config(), tmp_path, model, sandbox)
    records = ResultsFile(tmp_path / "results.jsonl").load()
    assert sorted(records) == sorted(
        [f"transfer/{g}/{s}@control" for g in (0, 1) for s in (1, 2, 3)]
        + [f"transfer/{g}/{s}@transfer" for g in (0, 1) for s in (2, 3)]
    )
    moved = records["transfer/0/2@transfer"]
    assert moved.arm == "transfer" and moved.tool_from == "transfer/0/1"
    assert [step.stage for step in moved.trace] == ["decision", "execution"]  # no Creation
    assert "def tool_0_1(" in (moved.tool_code or "")
    assert moved.status == "answered" and moved.correct

    prompt = decision_prompt(model, "transfer/0/2", "def tool_0_1(")
    assert get("transfer/0/2").question in prompt  # scenario 2's own question ...
    assert get("transfer/0/1").question not in prompt  # ... never scenario 1's
    assert "def tool_0_2(" not in prompt
    control = records["transfer/0/2@control"]
    assert control.arm == "control" and control.tool_from is None
    assert control.trace[0].stage == "creation" and "def tool_0_2(" in (control.tool_code or "")

    block = summary["transfer"]
    assert block["arms"] == ["control", "transfer"]
    assert block["scenarios_2_3"] == {
        "control": {"n": 4, "correct": 2, "accuracy": 0.5},
        "transfer": {"n": 4, "correct": 4, "accuracy": 1.0},
    }
    assert block["by_scenario"]["1"] == {"control": {"n": 2, "correct": 2, "accuracy": 1.0}}
    assert block["by_scenario"]["3"]["control"]["correct"] == 0
    assert block["by_scenario"]["3"]["transfer"]["correct"] == 2
    assert block["control_all"] == {"n": 6, "correct": 4, "accuracy": 0.6667}
    assert block["unpaired"] == 0 and block["no_tool_to_transfer"] == 0
    # the top-level figures are the control arm's, as in a run without arms
    assert summary["n"] == 6 and summary["selected"] == 6 and summary["correct"] == 4
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["transfer"] == block


def test_transfer_when_scenario_1_made_no_tool(tmp_path: Path, sandbox: Sandbox) -> None:
    def no_tool_for_group_0(context: CallContext, prompt: str) -> Reply | None:
        if context.stage == "creation" and context.problem.id == "transfer/0/1":
            return "I cannot write this tool."
        return None

    summary = evaluate(transfer_config(), tmp_path, scripted(no_tool_for_group_0), sandbox)
    records = ResultsFile(tmp_path / "results.jsonl").load()
    assert records["transfer/0/1@control"].status == "creation_failed"
    for key in ("transfer/0/2@transfer", "transfer/0/3@transfer"):
        record = records[key]
        assert record.status == "creation_failed" and not record.correct
        assert "transfer/0/1" in (record.error or "") and "no tool" in (record.error or "")
        assert record.trace == [] and record.tool_from == "transfer/0/1"
    assert records["transfer/1/2@transfer"].correct
    block = summary["transfer"]
    assert block["no_tool_to_transfer"] == 2
    assert block["scenarios_2_3"]["transfer"] == {"n": 4, "correct": 2, "accuracy": 0.5}


def test_both_arms_resume_and_a_failed_scenario_1_holds_its_transfers(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    def failures(context: CallContext, prompt: str) -> Reply | None:
        problem = context.problem.id
        if problem == "transfer/1/1":  # group 1's scenario 1 fails on the model side
            return ModelResponseError("http://127.0.0.1:9/v1 answered 503")
        if problem == "transfer/0/3" and "def tool_0_1(" in prompt:  # a transfer decision
            return ModelResponseError("http://127.0.0.1:9/v1 answered 503")
        return None

    summary = evaluate(transfer_config(), tmp_path, scripted(failures), sandbox)
    first = ResultsFile(tmp_path / "results.jsonl").load()
    assert first["transfer/1/1@control"].status == "model_error"
    assert first["transfer/0/3@transfer"].status == "model_error"
    assert "transfer/1/2@transfer" not in first and "transfer/1/3@transfer" not in first
    assert summary["model_errors"] == 2
    assert summary["transfer"]["unpaired"] == 2  # 1/2 and 1/3 wait for their tool

    model = scripted()
    summary = evaluate(transfer_config(), tmp_path, model, sandbox)
    retried = lines(tmp_path)[len(first) :]
    assert sorted(f"{r['id']}@{r['arm']}" for r in retried) == [
        "transfer/0/3@transfer",
        "transfer/1/1@control",
        "transfer/1/2@transfer",
        "transfer/1/3@transfer",
    ]
    assert summary["model_errors"] == 0 and summary["resumed_from"] == 6
    assert summary["transfer"]["scenarios_2_3"]["transfer"]["correct"] == 4
    # nothing finished was asked again: group 0's control arm made no new request
    assert not any(c.context and c.context.problem.id == "transfer/0/1" for c in model.calls)


def test_a_selected_scenario_brings_in_its_groups_scenario_1(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    config = transfer_config(limit=None, ids=("transfer/4/3",))
    summary = evaluate(config, tmp_path, scripted(), sandbox)
    keys = {f"{r['id']}@{r['arm']}" for r in lines(tmp_path)}
    assert keys == {"transfer/4/1@control", "transfer/4/3@control", "transfer/4/3@transfer"}
    assert summary["transfer"]["added_scenario1"] == 1


def test_methods_without_a_separate_tool_run_the_control_arm_only(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    program = "```python\nprint('Final Answer: 1')\n```"
    config = transfer_config(method="pot", limit=3)
    summary = evaluate(config, tmp_path, ScriptedModel(responder=lambda m, s, c: program), sandbox)
    assert {r["arm"] for r in lines(tmp_path)} == {"control"} and len(lines(tmp_path)) == 3
    block = summary["transfer"]
    assert block["arms"] == ["control"] and "only the control arm" in block["note"]
    assert block["scenarios_2_3"]["transfer"]["n"] == 0


def test_records_from_before_arms_are_read_as_control(tmp_path: Path, sandbox: Sandbox) -> None:
    evaluate(transfer_config(limit=3), tmp_path, scripted(), sandbox)
    path = tmp_path / "results.jsonl"
    old = [json.loads(line) | {"arm": None} for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(r) + "\n" for r in old if r["arm"] is None))
    model = scripted()
    evaluate(transfer_config(limit=3), tmp_path, model, sandbox)
    assert all(c.context and c.context.stage == "decision" for c in model.calls)
    assert len(model.calls) == 2  # only the transfer arm ran


def test_the_replay_runs_both_arms_and_says_they_run_the_same_code(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    config = EvalConfig(dataset="transfer", model="reference", limit=3)
    summary = evaluate(config, tmp_path, ReferenceModel(), sandbox)
    block = summary["transfer"]
    assert block["scenarios_2_3"]["transfer"]["n"] == 2
    assert block["scenarios_2_3"]["transfer"] == block["scenarios_2_3"]["control"]
    assert "same code" in block["replay_note"] and summary["replay"] is True
    records = ResultsFile(tmp_path / "results.jsonl").load()
    assert records["transfer/0/2@transfer"].replay


def test_the_replay_refuses_a_tool_it_did_not_record(tmp_path: Path, sandbox: Sandbox) -> None:
    def foreign(context: CallContext, prompt: str) -> Reply | None:
        if context.problem.id == "transfer/0/2":
            return ModelResponseError("http://127.0.0.1:9/v1 answered 503")
        return None

    config = EvalConfig(dataset="transfer", model="reference", limit=2)
    evaluate(config, tmp_path, scripted(foreign), sandbox)  # scenario 1's tool is not recorded
    with pytest.raises(InputError, match="only replays solutions written for the recorded tool"):
        evaluate(config, tmp_path, ReferenceModel(), sandbox)
