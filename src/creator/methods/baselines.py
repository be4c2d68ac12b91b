"""The paper's baselines, built from the same stage functions as CREATOR (no copies).

- ``toolcreate-whole``: tool and its use written in one reply, then execute-and-repair;
- ``pot``: a plain program that prints the answer, executed once (no rectification);
- ``cot``: step-by-step reasoning in prose ending with ``Final Answer:``;
- ``standard``: the answer alone.

Statuses beyond CREATOR's: a program method whose replies never held code ends ``no_answer``
(nothing ran, so it is no execution error), with the last reply's reason in the error - for
``pot`` its one reply; for ``toolcreate-whole`` after the repair rounds, which ask again. A
prose reply without an answer (none written, or cut off before a complete ``Final Answer:``
line) is ``no_answer`` too (see :mod:`creator.stages.answer`).

Tool use through a computation service (the paper's WolframAlpha) is
:mod:`creator.methods.tooluse`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from creator.errors import ModelError
from creator.methods.base import Attempt, Method, OnStep, execute_with_repair
from creator.models.base import Model
from creator.problem import Problem
from creator.sandbox.base import Sandbox
from creator.stages.answer import answer_directly
from creator.stages.common import StageOptions
from creator.stages.program import write_program
from creator.trace import Result

__all__ = ["solve_cot", "solve_pot", "solve_standard", "solve_whole"]


def _program_method(name: str, template: Literal["whole", "pot"], *, repair: bool) -> Method:
    """A method that asks for one complete program, runs it and (if ``repair``) repairs it."""

    async def solve(
        problem: Problem,
        *,
        model: Model,
        sandbox: Sandbox,
        options: StageOptions,
        on_step: OnStep | None = None,
    ) -> Result:
        attempt = Attempt(problem, method=name, model=model, sandbox=sandbox, on_step=on_step)
        try:
            first = await write_program(problem, template=template, model=model, options=options)
            attempt.steps.append(first)
            if not repair:
                options = replace(options, rectify_rounds=0)
            result = await execute_with_repair(attempt, first, options=options)
        except ModelError as exc:
            return attempt.finish("model_error", error=str(exc))
        if result.status == "execution_error" and not _ran(attempt):
            # Nothing ran, so nothing passed either: one_time_pass stays False.
            return result.model_copy(update={"status": "no_answer"})
        return result

    return solve


def _ran(attempt: Attempt) -> bool:
    """Whether any code was executed (no reply held code if not)."""
    return any(step.stage == "execution" for step in attempt.steps)


def _answer_method(template: Literal["cot", "standard"]) -> Method:
    """A method that asks for the answer in prose; nothing runs."""

    async def solve(
        problem: Problem,
        *,
        model: Model,
        sandbox: Sandbox,
        options: StageOptions,
        on_step: OnStep | None = None,
    ) -> Result:
        attempt = Attempt(problem, method=template, model=model, sandbox=sandbox, on_step=on_step)
        try:
            step = await answer_directly(problem, template=template, model=model, options=options)
        except ModelError as exc:
            return attempt.finish("model_error", error=str(exc))
        attempt.steps.append(step)
        if step.answer is None:
            return attempt.finish("no_answer", error=step.error)
        return attempt.finish("answered", answer=step.answer)

    return solve


solve_whole = _program_method("toolcreate-whole", "whole", repair=True)
"""Tool creation and decision in one reply, then execution and rectification."""
solve_pot = _program_method("pot", "pot", repair=False)
"""Program of thought: one program, executed once."""
solve_cot = _answer_method("cot")
"""Chain of thought: reason in prose, then ``Final Answer:``."""
solve_standard = _answer_method("standard")
"""Standard prompting: the answer alone."""
