"""What the stages share: options, how a problem is shown to the model, one model request.

Deliberately absent: retries of failed HTTP calls (the model backend does those) and any
parsing of answers (see :mod:`creator.answers`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from creator import prompts
from creator.code import extract_code
from creator.models.base import CallContext, GenerationSettings, Message, Model
from creator.problem import Problem
from creator.sandbox.base import Limits
from creator.trace import ModelCall, StepStage

__all__ = ["StageOptions", "ask", "describe_problem", "no_code_error", "system_message"]


@dataclass(frozen=True, kw_only=True)
class StageOptions:
    """Settings for the whole attempt. Defaults follow the paper (3 retries, 3 rounds)."""

    settings: GenerationSettings = field(default_factory=GenerationSettings)
    limits: Limits = field(default_factory=Limits)
    creation_retries: int = 3
    rectify_rounds: int = 3
    prompt_set: str = "creator"

    def __post_init__(self) -> None:
        if self.creation_retries < 0 or self.rectify_rounds < 0:
            raise ValueError("retries and rounds must be >= 0")


def describe_problem(problem: Problem) -> str:
    """The problem as the model sees it: the question, then its context (e.g. a table)."""
    if problem.context:
        return f"{problem.question}\n\nContext:\n{problem.context.strip()}"
    return problem.question


def system_message(options: StageOptions) -> Message:
    return Message(role="system", content=prompts.render(f"{options.prompt_set}/system"))


async def ask(
    model: Model,
    user: str,
    *,
    options: StageOptions,
    stage: StepStage,
    problem: Problem,
    round: int,
) -> tuple[ModelCall, str | None]:
    """One request (system + user message); returns the call record and the code in the reply.

    Retries of a stage are distinct requests (``sample_index`` grows with ``round``), so a
    cached reply is never replayed for a retry that asks the same thing again.
    """
    messages = [system_message(options), Message(role="user", content=user)]
    settings = options.settings
    if round:
        settings = settings.model_copy(update={"sample_index": settings.sample_index + round})
    completion = await model.generate(
        messages,
        settings=settings,
        context=CallContext(stage=stage, problem=problem, attempt=round),
    )
    return ModelCall(messages=messages, completion=completion), extract_code(completion.text)


def no_code_error(finish_reason: str | None) -> str:
    """The error recorded (and shown to the model) when a reply holds no code."""
    if finish_reason == "length":
        return "the reply was cut off at the token limit before any complete code"
    return "the reply contained no Python code"
