"""The offline ``reference`` model: a REPLAY of a dataset's recorded tool and solution.

It is not a language model and its results are never LLM accuracy. It exists so the whole
pipeline (prompts, stages, sandbox, answer checking) runs with no model and no network. For
the creation stage it replies with the problem's recorded tool; for decision and rectification
with the recorded solution code (it cannot repair anything, so a rectification round repeats
the recorded code). Only Creation Challenge and Tool Transfer problems have recorded solutions;
a problem is recognised from its reference or, for a free-text question, by looking the
question up in those datasets. Anything else is a :class:`ReferenceUnavailableError`.
"""

from __future__ import annotations

from collections.abc import Sequence

from creator.errors import ReferenceUnavailableError
from creator.models.base import CallContext, Completion, GenerationSettings, Message
from creator.problem import Reference

__all__ = ["REFERENCE_LABEL", "ReferenceModel"]

REFERENCE_LABEL = "reference (replay of recorded dataset solutions, not an LLM)"


def _fenced(code: str) -> str:
    return f"```python\n{code.strip()}\n```\n"


class ReferenceModel:
    """Replays recorded solutions; see the module docstring for what it does and does not do."""

    replay = True

    @property
    def name(self) -> str:
        return "reference"

    async def generate(
        self,
        messages: Sequence[Message],
        *,
        settings: GenerationSettings,
        context: CallContext | None = None,
    ) -> Completion:
        if context is None:
            raise ReferenceUnavailableError(
                "the reference replay needs to know which problem a request is for"
            )
        if context.stage == "query":
            raise ReferenceUnavailableError(
                "the reference replay has nothing recorded for the Tool Use baseline's queries"
            )
        reference = self._reference(context)
        if context.stage == "creation":
            text = _fenced(reference.tool or "")
        elif context.stage in ("whole", "program"):
            text = _fenced(f"{reference.tool or ''}\n\n{reference.solution or ''}")
        elif context.stage == "answer":
            text = f"Final Answer: {reference.answer}\n"
        else:
            text = _fenced(reference.solution or "")
        return Completion(text=text, finish_reason="stop", model=self.name)

    @staticmethod
    def _reference(context: CallContext) -> Reference:
        reference = context.problem.reference
        if reference is None:
            from creator.datasets import find_by_question

            match = find_by_question(context.problem.question)
            reference = match.reference if match is not None else None
        if reference is None or not reference.solution:
            raise ReferenceUnavailableError(
                f"the reference replay has no recorded solution for problem "
                f"{context.problem.id!r}: it only replays Creation Challenge and Tool Transfer "
                f"solutions (try --problem creation/0)"
            )
        return reference

    async def aclose(self) -> None:
        return None
