"""How a solving run uses the tool library: which tools to offer, and what to write back.

:class:`ToolReuse` wraps a :class:`~creator.tools.ToolLibrary` with a run's choices.
Before Creation, :meth:`ToolReuse.offer` retrieves the ``k`` tools best matching the problem's
question (verified ones only, unless ``offer_unverified``) and counts one offer for each.
After the problem is scored, :meth:`ToolReuse.settle` writes back what happened: a reused tool
gets one reuse (and one correct reuse if the answer was right, which also marks it verified);
a newly created tool is added (deduplicated) with ``ran`` (the final execution ran without
error), ``verified`` (the answer was scored correct) and the run's ``maker`` (the model of its
Creation stage). Library calls are short SQLite
transactions; they run in a worker thread so that a concurrent evaluation never blocks its
event loop on another process's write.

Deliberately left out: showing tools to the model and reading its choice (the Creation stage,
:mod:`creator.stages.reuse`), scoring answers (the caller's), and running any tool code: code
from the library is only ever run by the sandbox, as part of a stage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from creator.errors import InputError
from creator.problem import Problem
from creator.tools.records import ToolRecord
from creator.tools.store import ToolLibrary
from creator.trace import Result

__all__ = ["DEFAULT_REUSE_K", "ToolReuse", "tool_ran"]

DEFAULT_REUSE_K = 3


def tool_ran(result: Result) -> bool:
    """Whether the result's final execution (tool and decision code) ran without error."""
    for step in reversed(result.trace):
        if step.stage == "execution":
            return step.error is None
    return False


class ToolReuse:
    """A tool library as one run uses it.

    ``save``: add each created tool after its problem. ``reuse``: offer the ``k`` best matching
    tools at Creation (implies ``save``); only verified tools unless ``offer_unverified``.
    ``maker``: the model that creates the run's tools, recorded with each new one (None: not
    recorded). The library is the caller's to close.
    """

    def __init__(
        self,
        library: ToolLibrary,
        *,
        save: bool = True,
        reuse: bool = False,
        k: int = DEFAULT_REUSE_K,
        offer_unverified: bool = False,
        maker: str | None = None,
    ) -> None:
        if k < 1:
            raise ValueError("k (tools offered) must be at least 1")
        self.library = library
        self.reuse = reuse
        self.save = save or reuse
        self.k = k
        self.offer_unverified = offer_unverified
        self.maker = maker

    def __repr__(self) -> str:
        return (
            f"ToolReuse({self.library!r}, save={self.save}, reuse={self.reuse}, k={self.k}, "
            f"offer_unverified={self.offer_unverified}, maker={self.maker!r})"
        )

    async def offer(self, problem: Problem) -> tuple[ToolRecord, ...]:
        """The tools to show at Creation for ``problem`` (none unless ``reuse``), counted as
        offered."""
        if not self.reuse:
            return ()
        found = await asyncio.to_thread(
            self.library.search,
            problem.question,
            k=self.k,
            verified_only=not self.offer_unverified,
        )
        if found:
            await asyncio.to_thread(self.library.record_offered, [t.id for t in found])
        return tuple(found)

    async def settle(
        self, result: Result, *, offered: Sequence[ToolRecord], correct: bool
    ) -> ToolRecord | None:
        """Write back what ``result`` did with its tool; the library record reused or saved.

        Nothing is written for a model failure (the problem is not finished), for a result
        whose tool was given rather than created, or when the tool defines no function.
        """
        if result.status == "model_error" or result.tool_code is None or result.tool_from:
            return None
        if result.reused_tool is not None:
            chosen = next(
                (t for t in offered if t.name == result.reused_tool and t.code == result.tool_code),
                None,
            )
            if chosen is None:
                return None
            await asyncio.to_thread(self.library.record_reused, chosen.id, correct=correct)
            return chosen
        if not self.save:
            return None
        dataset = result.problem.metadata.get("dataset")
        try:
            return await asyncio.to_thread(
                self.library.add,
                result.tool_code,
                problem=result.problem.question,
                problem_id=None if result.problem.id == "adhoc" else result.problem.id,
                dataset=dataset if isinstance(dataset, str) else None,
                ran=tool_ran(result),
                verified=correct,
                maker=self.maker,
            )
        except InputError:
            return None  # a tool that parses but defines no function is not worth keeping
