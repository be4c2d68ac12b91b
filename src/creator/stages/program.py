"""One reply holding a complete program: the baselines' single code-writing stage.

Template ``whole`` asks for a general tool and its use in one program ("tool create - whole"),
``pot`` for a plain program that computes the answer (program of thought). Running and
repairing the program is the method's business.
"""

from __future__ import annotations

from typing import Literal

from creator.models.base import Model
from creator.problem import Problem
from creator.stages.common import StageOptions, ask, no_code_error, render_prompt
from creator.trace import Step

__all__ = ["write_program"]


async def write_program(
    problem: Problem, *, template: Literal["whole", "pot"], model: Model, options: StageOptions
) -> Step:
    """Ask for the program; the step (stage ``whole``) has ``code`` None if the reply had none."""
    user = render_prompt(f"{template}/prompt", examples=template, problem=problem, options=options)
    call, code = await ask(
        model, user, system=template, options=options, stage="whole", problem=problem, round=0
    )
    error = None if code is not None else no_code_error(call.completion)
    return Step(stage="whole", call=call, code=code, error=error)
