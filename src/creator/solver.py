"""The library's front door: :class:`Creator` solves problems with a model and a sandbox.

    from creator import Creator, OpenAIModel

    with Creator(model=OpenAIModel("gpt-4o-mini")) as creator:
        result = creator.solve_sync("What is the 20th Fibonacci number?")
        print(result.answer)

``await creator.solve(...)`` is the async form. The Creator owns the sandbox it creates (and
closes it); the model is closed too, unless ``close_model=False``. A solve starts the
sandbox's workers (in the background) when it begins, so that they start and warm up while
the model writes the tool. Evaluation over datasets is the evaluation harness's job, not this
class's.

With ``tools=ToolReuse(ToolLibrary(path), reuse=True)`` the Creation stage is offered tools
from the library, and each created tool is saved to it (``verified`` only when the problem
carries its answer and the result matches it); the library is the caller's to close.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any

from creator.answers import is_equivalent
from creator.errors import ConfigError
from creator.methods import CODELESS_METHODS, METHODS, TOOL_METHODS, check_replay
from creator.methods.base import OnStep
from creator.models.base import Model
from creator.problem import Problem
from creator.sandbox import start_early
from creator.sandbox.base import Sandbox
from creator.stages.common import StageOptions
from creator.tools.records import ToolRecord
from creator.tools.reuse import ToolReuse
from creator.trace import Result

__all__ = ["Creator"]


def _verified(result: Result) -> bool:
    """Whether the answer matches the problem's known answer (False when none is known)."""
    target = result.problem.answer
    if target is None or result.answer is None:
        return False
    return is_equivalent(result.answer, target, result.problem.answer_kind)


class Creator:
    """Solves problems with ``method`` (default ``"creator"``), ``model`` and a sandbox.

    ``sandbox`` is a Sandbox to use (the caller closes it), or an isolation level name
    (``"auto"``, ``"bwrap"``, ...) for a sandbox this Creator makes and closes. ``tools``
    connects a tool library (only for methods that create a separate tool: ``creator``).
    """

    def __init__(
        self,
        *,
        model: Model,
        sandbox: Sandbox | str | None = None,
        options: StageOptions | None = None,
        method: str = "creator",
        close_model: bool = True,
        tools: ToolReuse | None = None,
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}: choose from {', '.join(METHODS)}")
        if tools is not None and method not in TOOL_METHODS:
            raise ConfigError(
                f"a tool library works with the methods that create a separate tool "
                f"({', '.join(TOOL_METHODS)}), not {method!r}"
            )
        check_replay(method, model)
        self.model = model
        self.tools = tools
        self.options = options or StageOptions()
        self.method = method
        self._sandbox = sandbox if not isinstance(sandbox, str) else None
        self._sandbox_level = sandbox if isinstance(sandbox, str) else "auto"
        self._owns_sandbox = self._sandbox is None
        self._close_model = close_model
        self._runner: asyncio.Runner | None = None

    @property
    def sandbox(self) -> Sandbox:
        """The sandbox in use, created on first use when none was given."""
        if self._sandbox is None:
            from creator.sandbox import make_sandbox

            self._sandbox = make_sandbox(self._sandbox_level)
        return self._sandbox

    async def solve(
        self,
        problem: Problem | str,
        *,
        context: str | None = None,
        on_step: OnStep | None = None,
        on_tool: Callable[[ToolRecord], None] | None = None,
    ) -> Result:
        """Solve ``problem`` (a Problem, or a question with optional ``context``).

        With a tool library, ``on_tool`` is called with the library record of the tool that
        was saved or reused (not called when nothing was written).
        """
        if isinstance(problem, str):
            problem = Problem(question=problem, context=context)
        if self.method not in CODELESS_METHODS:
            start_early(self.sandbox)  # warming up while the model answers the first request
        offered: tuple[ToolRecord, ...] = ()
        if self.tools is None:
            result = await METHODS[self.method](
                problem,
                model=self.model,
                sandbox=self.sandbox,
                options=self.options,
                on_step=on_step,
            )
        else:
            offered = await self.tools.offer(problem)
            result = await TOOL_METHODS[self.method].reusing(
                problem,
                model=self.model,
                sandbox=self.sandbox,
                options=self.options,
                on_step=on_step,
                offered=offered,
            )
        if getattr(self.model, "replay", False):
            result = result.model_copy(update={"replay": True})
        if self.tools is not None:
            verified = await asyncio.to_thread(_verified, result)
            record = await self.tools.settle(result, offered=offered, correct=verified)
            if record is not None and on_tool is not None:
                on_tool(record)
        return result

    def solve_sync(self, problem: Problem | str, **kwargs: Any) -> Result:
        """Blocking :meth:`solve`; all sync calls share one event loop until :meth:`close`."""
        if self._runner is None:
            self._runner = asyncio.Runner()
        return self._runner.run(self.solve(problem, **kwargs))

    async def aclose(self) -> None:
        """Close the sandbox (if created here) and the model (unless ``close_model=False``)."""
        if self._owns_sandbox and self._sandbox is not None:
            await self._sandbox.aclose()
            self._sandbox = None
        if self._close_model:
            await self.model.aclose()

    def close(self) -> None:
        """Blocking :meth:`aclose`, also ending the event loop used by :meth:`solve_sync`."""
        runner, self._runner = self._runner, None
        if runner is None:
            asyncio.run(self.aclose())
            return
        try:
            runner.run(self.aclose())
        finally:
            runner.close()

    def __enter__(self) -> Creator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Creator:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
