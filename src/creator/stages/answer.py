"""A direct answer in prose: the ``cot`` (reason, then answer) and ``standard`` baselines.

No code runs; the answer is read from the reply by the same rule as from program output (the
last ``Final Answer:``, else the last number).
"""

from __future__ import annotations

from typing import Literal

from creator.answers import extract_answer
from creator.models.base import Model
from creator.problem import Problem
from creator.stages.common import StageOptions, ask, render_prompt
from creator.trace import Step

__all__ = ["answer_directly"]


async def answer_directly(
    problem: Problem, *, template: Literal["cot", "standard"], model: Model, options: StageOptions
) -> Step:
    """Ask for an answer; the step (stage ``answer``) carries it, or an error if none was found."""
    user = render_prompt(f"{template}/prompt", examples=template, problem=problem, options=options)
    call, _ = await ask(
        model, user, system=template, options=options, stage="answer", problem=problem, round=0
    )
    answer = extract_answer(call.completion.text)
    error = None if answer is not None else "the reply contained no answer"
    return Step(stage="answer", call=call, answer=answer, error=error)
