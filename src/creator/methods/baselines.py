"""The paper's baselines, built from the same stage functions as CREATOR (no copies).

- ``toolcreate-whole``: tool and its use written in one reply, then execute-and-repair;
- ``pot``: a plain program that prints the answer, executed once (no rectification);
- ``cot``: step-by-step reasoning in prose ending with ``Final Answer:``;
- ``standard``: the answer alone.

Tool use through an external service (the paper's WolframAlpha) is not built.
"""

from __future__ import annotations

from dataclasses import replace

from creator.errors import ModelError
from creator.methods.base import Attempt, OnStep, execute_with_repair
from creator.models.base import Model
from creator.problem import Problem
from creator.sandbox.base import Sandbox
from creator.stages.answer import answer_directly
from creator.stages.common import StageOptions
from creator.stages.program import write_program
from creator.trace import Result

__all__ = ["solve_cot", "solve_pot", "solve_standard", "solve_whole"]


async def solve_whole(
    problem: Problem,
    *,
    model: Model,
    sandbox: Sandbox,
    options: StageOptions,
    on_step: OnStep | None = None,
) -> Result:
    """Tool creation and decision in one reply, then execution and rectification."""
    attempt = Attempt(
        problem, method="toolcreate-whole", model=model, sandbox=sandbox, on_step=on_step
    )
    try:
        first = await write_program(problem, template="whole", model=model, options=options)
        attempt.steps.append(first)
        return await execute_with_repair(attempt, first, options=options)
    except ModelError as exc:
        return attempt.finish("model_error", error=str(exc))


async def solve_pot(
    problem: Problem,
    *,
    model: Model,
    sandbox: Sandbox,
    options: StageOptions,
    on_step: OnStep | None = None,
) -> Result:
    """Program of thought: one program, executed once."""
    attempt = Attempt(problem, method="pot", model=model, sandbox=sandbox, on_step=on_step)
    try:
        first = await write_program(problem, template="pot", model=model, options=options)
        attempt.steps.append(first)
        return await execute_with_repair(attempt, first, options=replace(options, rectify_rounds=0))
    except ModelError as exc:
        return attempt.finish("model_error", error=str(exc))


async def _answer(
    problem: Problem,
    *,
    template: str,
    model: Model,
    sandbox: Sandbox,
    options: StageOptions,
    on_step: OnStep | None,
) -> Result:
    attempt = Attempt(problem, method=template, model=model, sandbox=sandbox, on_step=on_step)
    try:
        step = await answer_directly(
            problem,
            template="cot" if template == "cot" else "standard",
            model=model,
            options=options,
        )
    except ModelError as exc:
        return attempt.finish("model_error", error=str(exc))
    attempt.steps.append(step)
    if step.answer is None:
        return attempt.finish("no_answer", error=step.error)
    return attempt.finish("answered", answer=step.answer)


async def solve_cot(
    problem: Problem,
    *,
    model: Model,
    sandbox: Sandbox,
    options: StageOptions,
    on_step: OnStep | None = None,
) -> Result:
    """Chain of thought: reason in prose, then ``Final Answer:``."""
    return await _answer(
        problem, template="cot", model=model, sandbox=sandbox, options=options, on_step=on_step
    )


async def solve_standard(
    problem: Problem,
    *,
    model: Model,
    sandbox: Sandbox,
    options: StageOptions,
    on_step: OnStep | None = None,
) -> Result:
    """Standard prompting: the answer alone."""
    return await _answer(
        problem, template="standard", model=model, sandbox=sandbox, options=options, on_step=on_step
    )
