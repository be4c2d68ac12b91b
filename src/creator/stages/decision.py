"""Decision: given the tool, the model writes the code that calls it with the problem's values.

The decision code is expected to end by printing ``Final Answer: <value>``. Running it is the
execution stage's job; a reply without code is recorded as a failed step for rectification.
"""

from __future__ import annotations

from creator.models.base import Model
from creator.problem import Problem
from creator.stages.common import StageOptions, ask, no_code_error, render_prompt
from creator.trace import Step

__all__ = ["decide"]


async def decide(problem: Problem, tool: str, *, model: Model, options: StageOptions) -> Step:
    """Ask for the decision code; the step's ``code`` is None when the reply had none."""
    user = render_prompt(
        "creator/decision", examples="decision", problem=problem, options=options, tool=tool.strip()
    )
    call, code = await ask(
        model, user, system="creator", options=options, stage="decision", problem=problem, round=0
    )
    error = None if code is not None else no_code_error(call.completion)
    return Step(stage="decision", call=call, code=code, error=error)
