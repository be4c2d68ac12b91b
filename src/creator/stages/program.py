"""One reply holding a complete program: the baselines' single code-writing stage.

Template ``whole`` asks for a general tool and its use in one program ("tool create - whole"),
its step has stage ``whole``; ``pot`` asks for a plain program that computes the answer
(program of thought), its step has stage ``program`` (records written before that stage
existed label ``pot`` steps ``whole``). Running and repairing the program is the method's
business.
"""

from __future__ import annotations

from typing import Literal

from creator.models.base import Model
from creator.problem import Problem
from creator.stages.common import StageOptions, ask, no_code_error, render_prompt
from creator.trace import Step, StepStage

__all__ = ["write_program"]


async def write_program(
    problem: Problem, *, template: Literal["whole", "pot"], model: Model, options: StageOptions
) -> Step:
    """Ask for the program; the step (stage ``whole`` or ``program``, after the template) has
    ``code`` None if the reply had none."""
    stage: StepStage = "whole" if template == "whole" else "program"
    user = render_prompt(f"{template}/prompt", examples=template, problem=problem, options=options)
    call, code = await ask(
        model, user, system=template, options=options, stage=stage, problem=problem, round=0
    )
    error = None if code is not None else no_code_error(call.completion)
    return Step(stage=stage, call=call, code=code, error=error)
