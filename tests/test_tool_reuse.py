"""Tool reuse in the pipeline: offering library tools at Creation, and writing back to the
library what happened (scripted model, real sandbox, real library file)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from creator import Creator, Problem, Result, ScriptedModel, StageOptions
from creator.errors import ConfigError
from creator.models.base import CallContext, GenerationSettings, Message
from creator.tools import ToolLibrary, ToolRecord, ToolReuse
from tests.tools.conftest import CIRCLE, INTEREST, SPEED

QUESTION = "A round pond has a radius of 7 m. What is its area in square metres?"
AREA = "153.93804002589985"
CALL_CIRCLE = "```python\nprint(f'Final Answer: {circle_area(7)}')\n```"
NEW_TOOL = '''```python
import math

def disc_area(r: float) -> float:
    """Area of a disc of radius r."""
    return math.pi * r * r
```'''
CALL_DISC = "```python\nprint(f'Final Answer: {disc_area(7)}')\n```"

Reply = Callable[[str], str]


def by_stage(creation: Reply, decision: str) -> ScriptedModel:
    """A model replying ``creation(prompt)`` at Creation and ``decision`` otherwise."""

    def respond(
        messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
    ) -> str:
        assert context is not None
        if context.stage == "creation":
            return creation(messages[-1].content)
        return decision

    return ScriptedModel(responder=respond)


@pytest.fixture
def library(tmp_path: Path) -> Iterator[ToolLibrary]:
    with ToolLibrary(tmp_path / "tools.sqlite") as lib:
        for code, verified in ((INTEREST, True), (CIRCLE, True), (SPEED, True)):
            lib.add(code, problem="earlier problem", ran=True, verified=verified)
        yield lib


def solve(
    model: ScriptedModel, sandbox, tools: ToolReuse, problem: Problem | str = QUESTION
) -> tuple[Result, list[ToolRecord]]:
    written: list[ToolRecord] = []
    with Creator(model=model, sandbox=sandbox, tools=tools) as creator:
        result = creator.solve_sync(problem, on_tool=written.append)
    return result, written


def creation_prompts(model: ScriptedModel) -> list[str]:
    return [
        c.messages[-1].content for c in model.calls if c.context and c.context.stage == "creation"
    ]


def test_offered_tool_chosen_is_test_run_traced_and_counted(sandbox, library: ToolLibrary) -> None:
    model = by_stage(lambda prompt: "REUSE: circle_area", CALL_CIRCLE)
    problem = Problem(question=QUESTION, answer=AREA, id="pond/1")
    result, written = solve(model, sandbox, ToolReuse(library, reuse=True), problem)

    prompt = creation_prompts(model)[0]
    assert "Library tools" in prompt and "REUSE: <tool name>" in prompt
    assert "def circle_area(radius: float) -> float:" in prompt
    creation = result.trace[0]
    assert creation.stage == "creation" and creation.reused_tool == "circle_area"
    circle = library.get("circle_area")
    assert f"circle_area ({circle.ref})" in creation.offered_tools
    assert creation.execution is not None and creation.execution.ok  # the same test-run
    assert result.status == "answered" and result.answer == AREA
    assert result.reused_tool == "circle_area" and result.tool_code == circle.code
    assert "def circle_area" in model.calls[1].messages[-1].content  # the decision saw it
    assert circle.offered == 1 and circle.reused == 1 and circle.correct == 1
    assert [t.id for t in written] == [circle.id]  # on_tool names the tool reused
    assert library.count() == 3  # nothing new was added


def test_offered_tools_declined_a_new_tool_is_saved_and_offers_counted(
    sandbox, library: ToolLibrary
) -> None:
    model = by_stage(lambda prompt: NEW_TOOL, CALL_DISC)
    result, written = solve(model, sandbox, ToolReuse(library, reuse=True))
    assert "Library tools" in creation_prompts(model)[0]
    assert result.status == "answered" and result.reused_tool is None
    assert result.trace[0].reused_tool is None and result.trace[0].offered_tools
    disc = library.get("disc_area")
    assert written and written[0].id == disc.id
    assert disc.ran and not disc.verified  # the answer was not known: never verified
    assert disc.problem == QUESTION and disc.offered == 0
    offered = {name.split(" (")[0] for name in result.trace[0].offered_tools}
    for tool in library.list():
        assert tool.offered == (1 if tool.name in offered else 0)
        assert tool.reused == 0


def test_unverified_tools_are_not_offered_unless_asked(sandbox, tmp_path: Path) -> None:
    with ToolLibrary(tmp_path / "tools.sqlite") as library:
        library.add(CIRCLE, problem="earlier", ran=True, verified=False)
        model = by_stage(lambda prompt: NEW_TOOL, CALL_DISC)
        result, _ = solve(model, sandbox, ToolReuse(library, reuse=True))
        prompt = creation_prompts(model)[0]
        assert "Library tools" not in prompt and "def circle_area" not in prompt
        assert "Stage 1 of 3: create a tool" in prompt  # the normal creation prompt
        assert result.trace[0].offered_tools == []
        assert library.get("circle_area").offered == 0

        model = by_stage(lambda prompt: "REUSE: circle_area", CALL_CIRCLE)
        tools = ToolReuse(library, reuse=True, offer_unverified=True)
        result, _ = solve(model, sandbox, tools)
        assert "def circle_area" in creation_prompts(model)[0]
        assert result.reused_tool == "circle_area"
        assert library.get("circle_area").offered == 1


def test_unknown_tool_in_the_marker_is_a_failed_round_then_a_new_tool(
    sandbox, library: ToolLibrary
) -> None:
    replies = iter(["REUSE: ellipse_area", NEW_TOOL])
    model = by_stage(lambda prompt: next(replies), CALL_DISC)
    result, _ = solve(model, sandbox, ToolReuse(library, reuse=True))
    first, second = result.trace[0], result.trace[1]
    assert first.stage == second.stage == "creation"
    assert first.error is not None and "'ellipse_area'" in first.error
    assert "not one of the offered tools" in first.error and first.code is None
    retry = creation_prompts(model)[1]
    assert "'ellipse_area'" in retry and "Library tools" in retry
    assert second.error is None and second.reused_tool is None
    assert result.status == "answered" and library.get("disc_area").variants == 1


def test_no_matching_tool_gives_the_normal_creation_prompt(sandbox, library: ToolLibrary) -> None:
    model = by_stage(lambda prompt: NEW_TOOL, CALL_DISC)
    solve(model, sandbox, ToolReuse(library, reuse=True), "Zorblax quuxes?")
    prompt = creation_prompts(model)[0]
    assert "Library tools" not in prompt and "REUSE" not in prompt


@pytest.mark.parametrize(
    ("decision", "answer", "ran", "verified"),
    [
        (CALL_DISC, AREA, True, True),  # ran and right
        ("```python\nprint('Final Answer: 12')\n```", AREA, True, False),  # ran, wrong
        ("```python\nraise ValueError('broken')\n```", AREA, False, False),  # never ran
    ],
)
def test_save_tools_records_ran_and_verified(
    sandbox, tmp_path: Path, decision: str, answer: str, ran: bool, verified: bool
) -> None:
    with ToolLibrary(tmp_path / "tools.sqlite") as library:
        model = by_stage(lambda prompt: NEW_TOOL, decision)
        problem = Problem(question=QUESTION, answer=answer, id="pond/2")
        with Creator(
            model=model,
            sandbox=sandbox,
            tools=ToolReuse(library, save=True),
            options=StageOptions(rectify_rounds=0),
        ) as creator:
            creator.solve_sync(problem)
        assert "Library tools" not in creation_prompts(model)[0]  # saving alone offers nothing
        (tool,) = library.list()
        assert (tool.name, tool.ran, tool.verified) == ("disc_area", ran, verified)
        assert tool.problem_id == "pond/2"


def test_a_library_needs_a_method_that_creates_a_separate_tool(library: ToolLibrary) -> None:
    with pytest.raises(ConfigError, match="creator"):
        Creator(model=ScriptedModel(), method="pot", tools=ToolReuse(library, reuse=True))


def test_a_reused_tool_that_does_not_define_is_a_failed_round(sandbox, tmp_path: Path) -> None:
    broken = 'import no_such_module_xyz\n\ndef circle_area(r: float) -> float:\n    """Area."""\n'
    with ToolLibrary(tmp_path / "tools.sqlite") as library:
        library.add(broken + "    return r\n", problem=QUESTION, ran=True, verified=True)
        replies = iter(["REUSE: circle_area", NEW_TOOL])
        model = by_stage(lambda prompt: next(replies), CALL_DISC)
        result, _ = solve(model, sandbox, ToolReuse(library, reuse=True))
        first = result.trace[0]
        assert first.reused_tool == "circle_area" and "ModuleNotFoundError" in (first.error or "")
        retry = creation_prompts(model)[1]
        assert "`circle_area` that you chose could not be defined" in retry
        assert result.status == "answered" and result.reused_tool is None
        assert library.get("circle_area").reused == 0  # a reuse that never ran is not counted
