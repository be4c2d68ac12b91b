"""The four stages end to end, with the scripted model and the real sandbox."""

from __future__ import annotations

import asyncio
import json
import re

from creator import Creator, Limits, Problem, Result, ScriptedModel, StageOptions
from creator.errors import ModelConnectionError
from creator.models.base import Completion
from creator.sandbox.base import ERROR_CAP
from creator.sandbox.runner import TRACEBACK_CAP

TOOL = '''```python
def rectangle_area(length: float, width: float) -> float:
    """Area of a rectangle."""
    return length * width
```'''
DECISION = "```python\nprint(f'Final Answer: {rectangle_area(3, 4.5)}')\n```"


def solve(
    model: ScriptedModel,
    sandbox,
    question: str = "What is the area of a 3 by 4.5 rectangle?",
    **options,
) -> Result:
    creator = Creator(model=model, sandbox=sandbox, options=StageOptions(**options))
    try:
        return creator.solve_sync(question)
    finally:
        creator.close()


def stages(result: Result) -> list[str]:
    return [step.stage for step in result.trace]


def test_happy_path_runs_all_stages(sandbox):
    model = ScriptedModel([TOOL, DECISION])
    result = solve(model, sandbox)
    assert result.status == "answered"
    assert result.answer == "13.5"
    assert stages(result) == ["creation", "decision", "execution"]
    assert result.one_time_pass and result.rectifications == 0
    assert result.trace[0].execution is not None and result.trace[0].execution.ok
    assert "rectangle_area" in (result.tool_code or "")
    # every call records its messages and the stage it was for
    assert [c.context.stage for c in model.calls if c.context] == ["creation", "decision"]
    assert "What is the area" in model.calls[0].messages[-1].content
    assert "def rectangle_area" in model.calls[1].messages[-1].content


def test_rectification_sees_trimmed_traceback_and_repairs(sandbox):
    broken = "```python\nx = rectangle_area(3, 4.5)\nprint('Final Answer:', x / 0)\n```"
    model = ScriptedModel([TOOL, broken, DECISION])
    result = solve(model, sandbox)
    assert stages(result) == ["creation", "decision", "execution", "rectification", "execution"]
    assert result.status == "answered" and result.answer == "13.5"
    assert result.rectifications == 1 and not result.one_time_pass
    prompt = model.calls[2].messages[-1].content
    assert "ZeroDivisionError" in prompt
    assert 'File "decision", line 2' in prompt
    assert "/work" not in prompt and "site-packages" not in prompt


CUT = re.compile(r"^\[\.\.\. ([\d,]+) characters cut \.\.\.\]$", re.MULTILINE)


def error_block(prompt: str, after: str) -> str:
    """The fenced block after the last line ``after`` in ``prompt`` (not a demonstration)."""
    rest = prompt.rsplit(after, 1)[1]
    return rest.split("```\n", 1)[1].split("\n```", 1)[0]


def test_rectification_prompt_is_bounded_when_code_raises_a_huge_message(sandbox):
    huge = "raise ValueError('start-of-message ' + 'x' * 10_000_000 + ' end-of-message')"
    model = ScriptedModel([TOOL, f"```python\n{huge}\n```", DECISION])
    result = solve(model, sandbox)
    assert stages(result) == ["creation", "decision", "execution", "rectification", "execution"]
    assert result.answer == "13.5"
    prompt = model.calls[2].messages[-1].content
    assert len(prompt) < 30_000
    shown = error_block(prompt, "What went wrong:")
    assert len(shown) <= ERROR_CAP
    assert 'File "decision", line 1' in shown
    assert "ValueError: start-of-message xxx" in shown and shown.endswith("xxx end-of-message")
    assert 9_990_000 < int(CUT.findall(shown)[0].replace(",", "")) < 10_000_000
    failed = result.trace[2]  # what the trace stores is bounded too
    assert failed.execution is not None and failed.execution.traceback is not None
    assert len(failed.execution.traceback) <= TRACEBACK_CAP
    assert failed.error is not None and len(failed.error) <= ERROR_CAP


def test_creation_retry_prompt_is_bounded_when_the_tool_floods_stderr(sandbox):
    noisy = (
        "```python\nimport sys\n"
        "sys.stderr.write('start-of-line ' + 'e' * 3_000_000 + ' end-of-line\\n')\n"
        "sys.exit(2)\n```"
    )
    model = ScriptedModel([noisy, TOOL, DECISION])
    result = solve(model, sandbox, limits=Limits(max_output_bytes=4_000_000))
    assert result.status == "answered"
    assert result.trace[0].execution is not None
    assert len(result.trace[0].execution.stderr) > 3_000_000  # kept whole in the trace
    prompt = model.calls[1].messages[-1].content
    assert len(prompt) < 30_000
    shown = error_block(prompt, "Running it alone gave this error:")
    assert len(shown) <= ERROR_CAP
    assert shown.startswith("start-of-line eee") and shown.endswith("eee end-of-line")
    assert CUT.search(shown)
    assert result.trace[0].error is not None and len(result.trace[0].error) <= ERROR_CAP


def test_rectification_stops_after_the_configured_rounds(sandbox):
    broken = "```python\nraise ValueError('nope')\n```"
    model = ScriptedModel([TOOL, broken, broken, broken])
    result = solve(model, sandbox, rectify_rounds=2)
    assert result.status == "execution_error"
    assert result.rectifications == 2
    assert stages(result).count("execution") == 3
    assert "ValueError: nope" in (result.error or "")
    assert model.pending == 0


def test_creation_retries_show_the_error(sandbox):
    model = ScriptedModel(
        ["```python\ndef f(:\n```", "```python\nimport no_such_module_xyz\n```", TOOL, DECISION]
    )
    result = solve(model, sandbox)
    assert result.status == "answered"
    creation = [s for s in result.trace if s.stage == "creation"]
    assert [s.round for s in creation] == [0, 1, 2]
    assert "SyntaxError" in (creation[0].error or "")
    assert "SyntaxError" in model.calls[1].messages[-1].content
    assert "ModuleNotFoundError" in model.calls[2].messages[-1].content
    # retries are distinct requests, so a cache can never replay the failed reply
    assert [c.settings.sample_index for c in model.calls[:3]] == [0, 1, 2]


def test_creation_gives_up_after_retries(sandbox):
    model = ScriptedModel(["no code here"] * 3)
    result = solve(model, sandbox, creation_retries=2)
    assert result.status == "creation_failed"
    assert all(s.error == "the reply contained no Python code" for s in result.trace)
    assert len(result.trace) == 3


def test_decision_without_code_is_a_failed_round_and_asked_again(sandbox):
    model = ScriptedModel([TOOL, "I would call the tool with 3 and 4.5.", DECISION])
    result = solve(model, sandbox)
    assert stages(result) == ["creation", "decision", "rectification", "execution"]
    assert result.trace[1].error == "the reply contained no Python code"
    assert "no Python code" in model.calls[2].messages[-1].content
    assert result.answer == "13.5"


def test_truncated_reply_is_named_as_such(sandbox):
    cut = Completion(text="Let me write the tool step by step. First", finish_reason="length")
    model = ScriptedModel([cut, TOOL, DECISION])
    result = solve(model, sandbox)
    assert "cut off" in (result.trace[0].error or "")
    assert result.status == "answered"


def test_timeout_is_an_execution_error_that_gets_rectified(sandbox):
    slow = "```python\nwhile True:\n    pass\n```"
    model = ScriptedModel([TOOL, slow, DECISION])
    result = solve(model, sandbox, limits=Limits(timeout_s=1.0))
    first_exec = result.trace[2]
    assert first_exec.execution is not None and first_exec.execution.timed_out
    assert "time limit" in model.calls[2].messages[-1].content
    assert result.answer == "13.5"


def test_model_failure_is_not_an_execution_error(sandbox):
    model = ScriptedModel([TOOL, ModelConnectionError("cannot reach http://127.0.0.1:9/v1")])
    result = solve(model, sandbox)
    assert result.status == "model_error"
    assert "cannot reach" in (result.error or "")
    assert stages(result) == ["creation"]


def test_context_reaches_the_model(sandbox):
    model = ScriptedModel([TOOL, DECISION])
    creator = Creator(model=model, sandbox=sandbox)
    result = creator.solve_sync("How many apples?", context="Name | Count\napples | 4")
    creator.close()
    assert result.problem.context is not None
    assert "apples | 4" in model.calls[0].messages[-1].content


def test_trace_round_trips_through_json(sandbox):
    result = solve(ScriptedModel([TOOL, DECISION]), sandbox)
    data = json.loads(result.model_dump_json())
    assert data["answer"] == "13.5"
    assert [s["stage"] for s in data["trace"]] == ["creation", "decision", "execution"]
    assert data["trace"][1]["call"]["completion"]["usage"]["completion_tokens"] > 0
    assert Result.model_validate_json(result.model_dump_json()) == result


def test_async_api_solves_concurrently(sandbox):
    async def main() -> list[Result]:
        async with Creator(
            model=ScriptedModel(
                responder=lambda m, s, c: TOOL if c and c.stage == "creation" else DECISION
            ),
            sandbox=sandbox,
        ) as creator:
            return await asyncio.gather(
                *(creator.solve(Problem(question=f"rectangle {i}")) for i in range(4))
            )

    results = asyncio.run(main())
    assert [r.answer for r in results] == ["13.5"] * 4
