"""Rectification: the model sees its code and the trimmed error and returns corrected code.

Called after an execution error, a timeout, or a reply without code. The error text comes
from the sandbox, already trimmed to the generated code's own lines (no host paths). The loop
bounding the rounds lives in the method, not here.
"""

from __future__ import annotations

from creator.models.base import Model
from creator.problem import Problem
from creator.stages.common import StageOptions, ask, no_code_error, render_prompt
from creator.trace import Step

__all__ = ["rectify"]


async def rectify(
    problem: Problem,
    *,
    tool: str | None,
    code: str | None,
    error: str,
    model: Model,
    options: StageOptions,
    round: int,
) -> Step:
    """One repair round (``round`` from 1); the step's ``code`` is None if the reply had none."""
    user = render_prompt(
        "creator/rectification",
        examples="rectification",
        problem=problem,
        options=options,
        tool=(tool or "# (no separate tool: the code below is the whole program)").strip(),
        code=(code or "# (no code)").strip(),
        error=error.strip(),
    )
    call, new_code = await ask(
        model,
        user,
        system="creator",
        options=options,
        stage="rectification",
        problem=problem,
        round=round,
    )
    failure = None if new_code is not None else no_code_error(call.completion)
    return Step(stage="rectification", round=round, call=call, code=new_code, error=failure)
