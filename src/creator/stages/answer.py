"""A direct answer in prose: the ``cot`` (reason, then answer) and ``standard`` baselines.

No code runs. The answer is read from the reply by the prose rule
(:func:`creator.answers.extract_prose_answer`): the last ``Final Answer:``, else the last
``\\boxed{}``, else the last "the answer is ..." - each read whole, never the last number of
the reply. A reply cut off before its end (the token limit, a full context; or an old record's
``finish_reason`` ``length``) has an answer only if it wrote a complete ``Final Answer:`` line
before the cut; otherwise the step's error says it was cut off.

When no answer is found, the error names the reply's last number, which only the paper's
lenient scoring (any number in the reply matches) can count.
"""

from __future__ import annotations

from typing import Literal

from creator.answers import extract_prose_answer, numbers_in
from creator.models.base import Completion, Model
from creator.problem import Problem
from creator.stages.common import StageOptions, ask, render_prompt
from creator.trace import Step

__all__ = ["answer_directly", "no_answer_error"]

NO_ANSWER = "the reply contained no answer"


async def answer_directly(
    problem: Problem, *, template: Literal["cot", "standard"], model: Model, options: StageOptions
) -> Step:
    """Ask for an answer; the step (stage ``answer``) carries it, or an error if none was found."""
    user = render_prompt(f"{template}/prompt", examples=template, problem=problem, options=options)
    call, _ = await ask(
        model, user, system=template, options=options, stage="answer", problem=problem, round=0
    )
    completion = call.completion
    found = extract_prose_answer(completion.text, cut_off=completion.cut_off_message() is not None)
    if found is None:
        return Step(stage="answer", call=call, error=no_answer_error(completion))
    return Step(stage="answer", call=call, answer=found.text)


def no_answer_error(completion: Completion) -> str:
    """Why no answer was read from a prose reply: it was cut off (and how), or it had no
    ``Final Answer:``, box or answer phrase (naming its last number, if any, which counts only
    under the paper's scoring)."""
    cut_off = completion.cut_off_message()
    if cut_off is not None:
        if completion.cut_off_in_reasoning:
            return cut_off
        return f"{cut_off}, before a complete Final Answer line"
    error = f'{NO_ANSWER} (no Final Answer line, \\boxed{{}} or "the answer is")'
    numbers = numbers_in(completion.text)
    if numbers:
        error += (
            f"; its last number, {numbers[-1]}, is not taken as the answer "
            "(only --scoring paper counts any number in the reply)"
        )
    return error
