"""The CREATOR method: creation -> decision -> execution -> rectification.

Rectification runs on execution errors, timeouts and replies without code (not on wrong
answers, as in the paper), up to ``rectify_rounds`` rounds. A model failure (network, auth,
quota) ends the attempt as ``model_error`` with the trace so far; it is never counted as an
execution error. Scoring against a reference answer is left to the caller.
"""

from __future__ import annotations

import time

from creator.errors import ModelError
from creator.methods.base import OnStep, StepLog
from creator.models.base import Model
from creator.problem import Problem
from creator.sandbox.base import Sandbox
from creator.stages import StageOptions, create_tool, decide, execute, rectify
from creator.trace import Result, Status

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
    steps = StepLog(on_step)
    start = time.perf_counter()
    tool: str | None = None
    code: str | None = None
    rectifications = 0

    def finish(status: Status, *, answer: str | None = None, error: str | None = None) -> Result:
        return Result(
            problem=problem,
            method="creator",
            model=model.name,
            status=status,
            answer=answer,
            trace=list(steps),
            tool_code=tool,
            decision_code=code,
            error=error,
            rectifications=rectifications,
            one_time_pass=status in ("answered", "no_answer") and rectifications == 0,
            duration_s=time.perf_counter() - start,
            sandbox=sandbox.isolation,
        )

    try:
        tool = await create_tool(
            problem, model=model, sandbox=sandbox, options=options, steps=steps
        )
        if tool is None:
            return finish("creation_failed", error=steps[-1].error if steps else None)
        decision = await decide(problem, tool, model=model, options=options)
        steps.append(decision)
        code, error = decision.code, decision.error
        pending = code is not None
        for round in range(options.rectify_rounds + 1):
            if pending and code is not None:
                executed = await execute(tool, code, sandbox=sandbox, options=options, round=round)
                steps.append(executed)
                if executed.error is None:
                    status: Status = "answered" if executed.answer is not None else "no_answer"
                    return finish(status, answer=executed.answer)
                error = executed.error
            if round == options.rectify_rounds:
                break
            repaired = await rectify(
                problem,
                tool=tool,
                code=code,
                error=error or "unknown error",
                model=model,
                options=options,
                round=round + 1,
            )
            steps.append(repaired)
            rectifications += 1
            pending = repaired.code is not None
            if repaired.code is not None:
                code = repaired.code
            else:
                error = repaired.error
        return finish("execution_error", error=error)
    except ModelError as exc:
        return finish("model_error", error=str(exc))
