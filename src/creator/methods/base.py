"""The method protocol and the step log that reports each step as it is recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from creator.models.base import Model
from creator.problem import Problem
from creator.sandbox.base import Sandbox
from creator.stages.common import StageOptions
from creator.trace import Result, Step

__all__ = ["Method", "OnStep", "StepLog"]

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
