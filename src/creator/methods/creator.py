"""The CREATOR method: creation -> decision -> execution -> rectification.

Rectification runs on execution errors, timeouts and replies without code (not on wrong
answers, as in the paper), up to ``rectify_rounds`` rounds. A model failure (network, auth,
quota) ends the attempt as ``model_error`` with the trace so far; it is never counted as an
execution error. Scoring against a reference answer is left to the caller.

:func:`solve_creator` may be given library tools to offer at Creation (``offered``); the
result then names the tool reused, if any. :func:`solve_with_tool` is the variant with a given
tool and no Creation stage (the Tool Transfer experiment): decision, execution, rectification.
Retrieving tools, and where a given tool comes from, are the caller's business.
"""

from __future__ import annotations

from collections.abc import Sequence

from creator.errors import ModelError
from creator.methods.base import Attempt, OnStep, execute_with_repair
from creator.models.base import Model
from creator.problem import Problem
from creator.sandbox.base import Sandbox
from creator.stages import StageOptions, create_tool, decide
from creator.tools.records import ToolRecord
from creator.trace import Result

__all__ = ["solve_creator", "solve_with_tool"]


async def solve_creator(
    problem: Problem,
    *,
    model: Model,
    sandbox: Sandbox,
    options: StageOptions,
    on_step: OnStep | None = None,
    offered: Sequence[ToolRecord] = (),
) -> Result:
    """Solve ``problem`` with the four CREATOR stages and return the result with its trace.

    ``offered`` library tools are shown at Creation, where the model may reuse one of them.
    """
    attempt = Attempt(problem, method="creator", model=model, sandbox=sandbox, on_step=on_step)
    try:
        attempt.tool = await create_tool(
            problem,
            model=model,
            sandbox=sandbox,
            options=options,
            steps=attempt.steps,
            offered=offered,
        )
        if attempt.tool is None:
            last = attempt.steps[-1].error if attempt.steps else None
            return attempt.finish("creation_failed", error=last)
        attempt.reused_tool = attempt.steps[-1].reused_tool
        decision = await decide(problem, attempt.tool, model=model, options=options)
        attempt.steps.append(decision)
        return await execute_with_repair(attempt, decision, options=options)
    except ModelError as exc:
        return attempt.finish("model_error", error=str(exc))


async def solve_with_tool(
    problem: Problem,
    *,
    tool: str,
    model: Model,
    sandbox: Sandbox,
    options: StageOptions,
    on_step: OnStep | None = None,
    tool_from: str | None = None,
) -> Result:
    """Solve ``problem`` with ``tool`` given: no Creation stage; the decision stage sees the
    tool and this problem's own question. ``tool_from`` (the id of the problem the tool was
    made for) is recorded in the result."""
    attempt = Attempt(problem, method="creator", model=model, sandbox=sandbox, on_step=on_step)
    attempt.tool, attempt.tool_from = tool, tool_from
    try:
        decision = await decide(problem, tool, model=model, options=options)
        attempt.steps.append(decision)
        return await execute_with_repair(attempt, decision, options=options)
    except ModelError as exc:
        return attempt.finish("model_error", error=str(exc))
