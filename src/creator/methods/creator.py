"""The CREATOR method: creation -> decision -> execution -> rectification.

Rectification runs on execution errors, timeouts and replies without code (not on wrong
answers, as in the paper), up to ``rectify_rounds`` rounds. A model failure (network, auth,
quota) ends the attempt as ``model_error`` with the trace so far; it is never counted as an
execution error. Scoring against a reference answer is left to the caller.
"""

from __future__ import annotations

from creator.errors import ModelError
from creator.methods.base import Attempt, OnStep, execute_with_repair
from creator.models.base import Model
from creator.problem import Problem
from creator.sandbox.base import Sandbox
from creator.stages import StageOptions, create_tool, decide
from creator.trace import Result

__all__ = ["solve_creator"]


async def solve_creator(
    problem: Problem,
    *,
    model: Model,
    sandbox: Sandbox,
    options: StageOptions,
    on_step: OnStep | None = None,
) -> Result:
    """Solve ``problem`` with the four CREATOR stages and return the result with its trace."""
    attempt = Attempt(problem, method="creator", model=model, sandbox=sandbox, on_step=on_step)
    try:
        attempt.tool = await create_tool(
            problem, model=model, sandbox=sandbox, options=options, steps=attempt.steps
        )
        if attempt.tool is None:
            last = attempt.steps[-1].error if attempt.steps else None
            return attempt.finish("creation_failed", error=last)
        decision = await decide(problem, attempt.tool, model=model, options=options)
        attempt.steps.append(decision)
        return await execute_with_repair(attempt, decision, options=options)
    except ModelError as exc:
        return attempt.finish("model_error", error=str(exc))
