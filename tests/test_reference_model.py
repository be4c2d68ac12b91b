import asyncio

import pytest

from creator import Creator, GenerationSettings, Problem, ReferenceModel
from creator.datasets import get
from creator.errors import ReferenceUnavailableError
from creator.models.base import CallContext


def test_replays_tool_then_solution():
    problem = get("creation/0")
    model = ReferenceModel()

    def reply(stage: str) -> str:
        ctx = CallContext.model_validate({"stage": stage, "problem": problem})
        return asyncio.run(model.generate([], settings=GenerationSettings(), context=ctx)).text

    assert "def polygon_perimeter" in reply("creation")
    assert "polygon_perimeter(sides, length)" in reply("decision")
    assert "def polygon_perimeter" not in reply("decision")


def test_free_text_question_is_found_in_the_datasets():
    problem = Problem(question=get("transfer/4/2").question)
    ctx = CallContext(stage="decision", problem=problem)
    text = asyncio.run(
        ReferenceModel().generate([], settings=GenerationSettings(), context=ctx)
    ).text
    assert text.startswith("```python")


def test_unknown_problem_is_a_clear_error():
    ctx = CallContext(stage="creation", problem=Problem(question="What is 2 + 2?"))
    with pytest.raises(ReferenceUnavailableError, match="no recorded solution"):
        asyncio.run(ReferenceModel().generate([], settings=GenerationSettings(), context=ctx))


def test_replay_through_the_pipeline_reproduces_the_recorded_answer(sandbox):
    creator = Creator(model=ReferenceModel(), sandbox=sandbox)
    results = [creator.solve_sync(get(pid)) for pid in ("creation/0", "creation/1", "transfer/0/1")]
    creator.close()
    for result in results:
        assert result.answer is not None and result.problem.answer is not None
        assert result.replay and result.model == "reference"
        assert result.status == "answered", result.error
        assert float(result.answer.replace(",", "").lstrip("$")) == pytest.approx(
            float(result.problem.answer), abs=1e-2
        )
