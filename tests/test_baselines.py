"""The baselines share the stage code; each is checked for what makes it different."""

from __future__ import annotations

from creator import Creator, Result, ScriptedModel, StageOptions
from creator.sandbox.base import ERROR_CAP, Sandbox

PROGRAM = (
    "```python\ndef triple(x: float) -> float:\n"
    '    """Three times x."""\n    return 3 * x\n\n'
    "print('Final Answer:', triple(14))\n```"
)
BROKEN = "```python\nprint('Final Answer:', undefined_name)\n```"
HUGE = "```python\nraise KeyError('start ' + 'k' * 10_000_000 + ' end')\n```"


def run(method: str, model: ScriptedModel, sandbox: Sandbox, *, rounds: int = 3) -> Result:
    options = StageOptions(rectify_rounds=rounds)
    with Creator(model=model, sandbox=sandbox, method=method, options=options) as creator:
        return creator.solve_sync("What is three times 14?")


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
    assert result.trace[0].error == "the reply contained no answer"
