"""The baselines share the stage code; each is checked for what makes it different."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from creator import Creator, Problem, Result, ScriptedModel, StageOptions
from creator.eval.records import ProblemRecord, ResultsFile
from creator.eval.runner import score
from creator.models.base import Completion, CutOff, Usage
from creator.sandbox.base import ERROR_CAP, Sandbox

PROGRAM = (
    "```python\ndef triple(x: float) -> float:\n"
    '    """Three times x."""\n    return 3 * x\n\n'
    "print('Final Answer:', triple(14))\n```"
)
BROKEN = "```python\nprint('Final Answer:', undefined_name)\n```"
HUGE = "```python\nraise KeyError('start ' + 'k' * 10_000_000 + ' end')\n```"


def run(
    method: str,
    model: ScriptedModel,
    sandbox: Sandbox,
    *,
    rounds: int = 3,
    problem: Problem | str = "What is three times 14?",
) -> Result:
    options = StageOptions(rectify_rounds=rounds)
    with Creator(model=model, sandbox=sandbox, method=method, options=options) as creator:
        return creator.solve_sync(problem)


def cut_off(
    text: str, *, why: CutOff | None = "max_tokens", reasoning: str | None = None
) -> Completion:
    """A reply that stopped early (``why`` None: an old record, ``finish_reason`` only)."""
    return Completion(
        text=text,
        reasoning=reasoning,
        finish_reason="length",
        cut_off=why,
        usage=Usage(prompt_tokens=10, completion_tokens=1024),
    )


def test_toolcreate_whole_writes_tool_and_use_in_one_reply_and_is_repaired(sandbox):
    model = ScriptedModel([BROKEN, PROGRAM])
    result = run("toolcreate-whole", model, sandbox)
    assert [s.stage for s in result.trace] == ["whole", "execution", "rectification", "execution"]
    assert result.answer == "42" and result.method == "toolcreate-whole"
    assert "NameError" in model.calls[1].messages[-1].content
    assert "general tool" in model.calls[0].messages[-1].content


def test_toolcreate_whole_repair_prompt_and_errors_are_bounded(sandbox):
    model = ScriptedModel([HUGE, PROGRAM])
    result = run("toolcreate-whole", model, sandbox)
    assert result.answer == "42"
    prompt = model.calls[1].messages[-1].content
    assert len(prompt) < 30_000
    assert "KeyError: 'start kkk" in prompt and "characters cut ...]" in prompt
    assert all(len(step.error or "") <= ERROR_CAP for step in result.trace)


def test_pot_error_is_bounded(sandbox):
    result = run("pot", ScriptedModel([HUGE]), sandbox)
    assert result.status == "execution_error"
    assert result.error is not None and len(result.error) <= ERROR_CAP
    assert "KeyError: 'start kkk" in result.error and result.error.rstrip().endswith("kkk end'")


def test_pot_runs_once_without_rectification(sandbox):
    model = ScriptedModel([BROKEN])
    result = run("pot", model, sandbox, rounds=3)
    assert result.status == "execution_error" and result.rectifications == 0
    assert len(model.calls) == 1
    assert "NameError" in (result.error or "")


def test_cot_reads_the_final_answer_from_prose(sandbox):
    model = ScriptedModel(["14 times 3 is 42, minus nothing.\nFinal Answer: 42"])
    result = run("cot", model, sandbox)
    assert result.status == "answered" and result.answer == "42"
    assert [s.stage for s in result.trace] == ["answer"]
    assert "step by step" in model.calls[0].messages[-1].content


def test_standard_without_an_answer_is_no_answer(sandbox):
    model = ScriptedModel(["I cannot say."])
    result = run("standard", model, sandbox)
    assert result.status == "no_answer" and result.answer is None
    assert result.trace[0].error is not None
    assert result.trace[0].error.startswith("the reply contained no answer (no Final Answer")
    assert "last number" not in result.trace[0].error  # there is none


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        ("2 + 3 = 5\n**Final Answer:** $\\boxed{5}$", "5"),
        ("Final Answer: The final answer is $\\boxed{5}$. I hope it is correct.", "5"),
        ("I have 3 bags of 4 apples. Therefore, the answer is 12 apples.", "12 apples"),
        ("From 2x = 6: the answer is: $x = 3$", "x = 3"),
        ("Take 1 from both sides. The answer is $1-a$.", "1-a"),
        ("Half of 1 is $\\boxed{\\frac{1}{2}}$, so 2 halves make 1.", "\\frac{1}{2}"),
    ],
)
def test_cot_reads_real_model_endings_whole(sandbox, reply, answer):
    result = run("cot", ScriptedModel([reply]), sandbox)
    assert result.status == "answered" and result.answer == answer


def test_cot_without_an_answer_does_not_take_the_last_number(sandbox):
    problem = Problem(question="What is 3 times 14?", answer="42")
    result = run(
        "cot",
        ScriptedModel(["3 times 14: 3 times 10 is 30, and 12 more is 42."]),
        sandbox,
        problem=problem,
    )
    assert result.status == "no_answer" and result.answer is None
    error = result.trace[0].error or ""
    assert "its last number, 42, is not taken" in error and "--scoring paper" in error
    assert score(result) == (False, True)  # only the paper's lenient rule counts it


def test_cot_answer_from_thinking_is_ignored(sandbox):
    model = ScriptedModel(["<think>Maybe... Final Answer: 7 ... no.</think>\nFinal Answer: 9"])
    result = run("cot", model, sandbox)
    assert result.answer == "9" and result.trace[0].call is not None
    assert "Final Answer: 7" in (result.trace[0].call.completion.reasoning or "")


@pytest.mark.parametrize("why", ["max_tokens", None])
def test_a_cut_off_prose_reply_is_no_answer(sandbox, why):
    problem = Problem(question="What is 3 times 14?", answer="42")
    reply = cut_off("3 times 14 is 42. Let me check: 3 times 4 is 12, and 3 times 10 is", why=why)
    result = run("cot", ScriptedModel([reply]), sandbox, problem=problem)
    assert result.status == "no_answer" and result.answer is None
    assert result.error == result.trace[0].error
    assert result.error is not None and result.error.startswith(
        "the reply was cut off at the token limit"
    )
    assert result.error.endswith(", before a complete Final Answer line")
    assert score(result) == (False, True)  # the paper's rule reads any number, cut off or not


def test_a_cut_off_reply_keeps_a_complete_final_answer_line(sandbox):
    model = ScriptedModel([cut_off("14 * 3 = 42\nFinal Answer: 42\nTo double-check, 3 * 14 = 4")])
    result = run("cot", model, sandbox)
    assert result.status == "answered" and result.answer == "42"
    unfinished = ScriptedModel([cut_off("14 * 3 = 42\nFinal Answer: 4")])
    assert run("standard", unfinished, sandbox).status == "no_answer"


def test_a_cut_off_reply_says_why(sandbox):
    result = run("cot", ScriptedModel([cut_off("Step 1: 14", why="context")]), sandbox)
    assert result.status == "no_answer" and "the server's context filled up" in (result.error or "")
    thinking = cut_off("", reasoning="Final Answer: 42 ... hmm, wait")
    result = run("cot", ScriptedModel([thinking]), sandbox)
    assert result.status == "no_answer"
    assert result.error is not None and result.error == thinking.cut_off_message()
    assert "still reasoning" in result.error


def test_pot_steps_are_program_steps(sandbox):
    model = ScriptedModel([PROGRAM])
    result = run("pot", model, sandbox)
    assert result.status == "answered" and result.answer == "42"
    assert [s.stage for s in result.trace] == ["program", "execution"]
    assert model.calls[0].context is not None and model.calls[0].context.stage == "program"


def test_pot_without_code_is_no_answer(sandbox):
    model = ScriptedModel(["Three times 14 is 42."])
    result = run("pot", model, sandbox)
    assert result.status == "no_answer" and result.answer is None and not result.one_time_pass
    assert result.error == "the reply contained no Python code" == result.trace[0].error
    assert [s.stage for s in result.trace] == ["program"] and len(model.calls) == 1
    cut = run("pot", ScriptedModel([cut_off("Let me think. 14 * 3")]), sandbox)
    assert cut.status == "no_answer"
    assert cut.error == "the reply was cut off at the token limit (1,024 tokens), before any code"


def test_toolcreate_whole_without_code_in_any_round_is_no_answer(sandbox):
    model = ScriptedModel(["No code, sorry."] * 3)
    result = run("toolcreate-whole", model, sandbox, rounds=2)
    assert result.status == "no_answer" and result.rectifications == 2
    assert [s.stage for s in result.trace] == ["whole", "rectification", "rectification"]
    assert result.error == "the reply contained no Python code"
    repaired = run("toolcreate-whole", ScriptedModel(["No code, sorry.", PROGRAM]), sandbox)
    assert repaired.status == "answered" and repaired.answer == "42"
    failed = run("toolcreate-whole", ScriptedModel([BROKEN, "No code."]), sandbox, rounds=1)
    assert failed.status == "execution_error"  # code ran and failed: not a no_answer


def test_records_with_pot_steps_labelled_whole_still_load(tmp_path: Path, sandbox):
    problem = Problem(question="What is three times 14?", answer="42", id="adhoc/1")
    result = run("pot", ScriptedModel([PROGRAM]), sandbox, problem=problem)
    record = ProblemRecord.of(result, dataset="adhoc", correct=True, strict=True, paper=True)
    old = json.loads(record.model_dump_json())
    assert old["trace"][0]["stage"] == "program"
    old["trace"][0]["stage"] = "whole"  # as written before pot steps had their own stage
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(old) + "\n")
    loaded = ResultsFile(path).load()["adhoc/1"]
    assert [s.stage for s in loaded.trace] == ["whole", "execution"]
    assert (
        Result.model_validate_json(
            result.model_dump_json().replace('"stage":"program"', '"stage":"whole"')
        )
        .trace[0]
        .stage
        == "whole"
    )
