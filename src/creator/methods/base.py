"""What methods share: the protocol, the step log, the attempt record, execute-and-repair.

Execute-and-repair is the CREATOR loop after the code exists: run it; on an error, a timeout
or a reply without code, ask for a repair, up to ``rectify_rounds`` rounds (wrong answers are
not repaired, as in the paper; code that printed no answer is repaired only with
``rectify_on="no-answer"``). Methods that use it differ only in how the first code is made.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from creator.models.base import Model
from creator.problem import Problem
from creator.sandbox.base import Sandbox
from creator.stages import execute, rectify
from creator.stages.common import StageOptions
from creator.tools.records import ToolRecord
from creator.trace import Result, Status, Step

__all__ = [
    "Attempt",
    "GivenToolMethod",
    "Method",
    "OnStep",
    "ReusingMethod",
    "StepLog",
    "ToolVariants",
    "execute_with_repair",
]

OnStep = Callable[[Step], None]


class StepLog(list[Step]):
    """A list of steps that calls ``on_step`` for each one appended (for live display)."""

    def __init__(self, on_step: OnStep | None = None) -> None:
        super().__init__()
        self._on_step = on_step

    def append(self, step: Step) -> None:
        super().append(step)
        if self._on_step is not None:
            self._on_step(step)


class Method(Protocol):
    async def __call__(
        self,
        problem: Problem,
        *,
        model: Model,
        sandbox: Sandbox,
        options: StageOptions,
        on_step: OnStep | None = None,
    ) -> Result: ...


class ReusingMethod(Protocol):
    """A method that may be offered library tools to reuse at its Creation stage."""

    async def __call__(
        self,
        problem: Problem,
        *,
        model: Model,
        sandbox: Sandbox,
        options: StageOptions,
        on_step: OnStep | None = None,
        offered: Sequence[ToolRecord] = (),
    ) -> Result: ...


class GivenToolMethod(Protocol):
    """A method's variant with the tool given and no Creation stage (Tool Transfer)."""

    async def __call__(
        self,
        problem: Problem,
        *,
        tool: str,
        model: Model,
        sandbox: Sandbox,
        options: StageOptions,
        on_step: OnStep | None = None,
        tool_from: str | None = None,
    ) -> Result: ...


@dataclass(frozen=True, slots=True)
class ToolVariants:
    """What a method that creates a separate tool offers beyond :class:`Method`: the form that
    accepts offered library tools, and the form with a given tool."""

    reusing: ReusingMethod
    given_tool: GivenToolMethod


class Attempt:
    """The state of one attempt while it runs; :meth:`finish` turns it into a Result."""

    def __init__(
        self,
        problem: Problem,
        *,
        method: str,
        model: Model,
        sandbox: Sandbox,
        on_step: OnStep | None,
    ) -> None:
        self.problem = problem
        self.method = method
        self.model = model
        self.sandbox = sandbox
        self.steps = StepLog(on_step)
        self.tool: str | None = None
        self.reused_tool: str | None = None
        self.tool_from: str | None = None
        self.code: str | None = None
        self.rectifications = 0
        self._start = time.perf_counter()

    def finish(
        self, status: Status, *, answer: str | None = None, error: str | None = None
    ) -> Result:
        return Result(
            problem=self.problem,
            method=self.method,
            model=self.model.name,
            status=status,
            answer=answer,
            trace=list(self.steps),
            tool_code=self.tool,
            decision_code=self.code,
            reused_tool=self.reused_tool,
            tool_from=self.tool_from,
            error=error,
            rectifications=self.rectifications,
            one_time_pass=status in ("answered", "no_answer") and self.rectifications == 0,
            duration_s=time.perf_counter() - self._start,
            sandbox=self.sandbox.isolation,
        )


async def execute_with_repair(attempt: Attempt, first: Step, *, options: StageOptions) -> Result:
    """Run ``first.code`` after ``attempt.tool``; repair failures; return the finished Result.

    With ``options.rectify_on == "no-answer"``, code that ran without error and printed no
    answer is sent back too (with the ``creator/no_answer`` message); when the rounds run out
    on such code, the attempt ends ``no_answer``, as it would have without repairs.
    """
    attempt.code, error = first.code, first.error
    pending = attempt.code is not None
    exhausted: Status = "execution_error"
    for round in range(options.rectify_rounds + 1):
        if pending and attempt.code is not None:
            executed = await execute(
                attempt.tool, attempt.code, sandbox=attempt.sandbox, options=options, round=round
            )
            attempt.steps.append(executed)
            if executed.error is None and executed.answer is not None:
                return attempt.finish("answered", answer=executed.answer)
            if executed.error is None:
                if options.rectify_on != "no-answer" or round == options.rectify_rounds:
                    return attempt.finish("no_answer")
                exhausted, error = "no_answer", options.prompts.render("creator/no_answer")
            else:
                exhausted, error = "execution_error", executed.error
        if round == options.rectify_rounds:
            break
        repaired = await rectify(
            attempt.problem,
            tool=attempt.tool,
            code=attempt.code,
            error=error or "unknown error",
            model=attempt.model,
            options=options,
            round=round + 1,
        )
        attempt.steps.append(repaired)
        attempt.rectifications += 1
        pending = repaired.code is not None
        if repaired.code is not None:
            attempt.code = repaired.code
        else:
            error = repaired.error
    if exhausted == "no_answer":  # the last code that ran printed no answer: no error of its
        return attempt.finish("no_answer", error=error)
    return attempt.finish("execution_error", error=error)
