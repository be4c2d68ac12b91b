"""What the stages share: options, how a problem is shown to the model, one model request.

Deliberately absent: retries of failed HTTP calls (the model backend does those) and any
parsing of answers (see :mod:`creator.answers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from creator.code import extract_code
from creator.models.base import CallContext, Completion, GenerationSettings, Message, Model
from creator.problem import Problem
from creator.prompts import PromptSet
from creator.sandbox.base import Limits
from creator.services.base import ToolService
from creator.trace import ModelCall, StepStage

__all__ = [
    "ROUNDS_BOUND",
    "Hint",
    "RectifyOn",
    "StageOptions",
    "ask",
    "describe_problem",
    "hint_text",
    "no_code_error",
    "render_prompt",
]

Hint = Literal["none", "utility", "all"]
RectifyOn = Literal["error", "no-answer"]
"""What Rectification repairs: ``error`` (the paper's: execution errors, timeouts, replies
without code) or ``no-answer`` (also code that ran without error and printed no answer)."""


ROUNDS_BOUND = 1000
"""Retries and rounds of a stage stay below this, so that the ``sample_index`` of a retry
(the attempt's plus its round) never reaches the next attempt's (see
:mod:`creator.eval.sampling`)."""


@dataclass(frozen=True, kw_only=True)
class StageOptions:
    """Settings for the whole attempt. Defaults follow the paper (3 retries, 3 rounds)."""

    settings: GenerationSettings = field(default_factory=GenerationSettings)
    limits: Limits = field(default_factory=Limits)
    creation_retries: int = 3
    rectify_rounds: int = 3
    rectify_on: RectifyOn = "error"
    hint: Hint = "none"
    """Creation Challenge hints: ``utility`` shows the tool's purpose, ``all`` adds its
    arguments and return value. The recorded tool code is never shown."""
    service: ToolService | None = None
    """The computation service of the ``tooluse`` baseline (None: the offline sympy one)."""
    prompts: PromptSet = field(default_factory=PromptSet.builtin)
    """The templates and demonstrations every stage renders (default: the built-in ones)."""

    def __post_init__(self) -> None:
        if not 0 <= self.creation_retries < ROUNDS_BOUND or not (
            0 <= self.rectify_rounds < ROUNDS_BOUND
        ):
            raise ValueError(f"retries and rounds must be >= 0 and < {ROUNDS_BOUND}")


def describe_problem(problem: Problem) -> str:
    """The problem as the model sees it: the question, then its context (e.g. a table)."""
    if problem.context:
        label = str(problem.metadata.get("context_label", "Context"))
        return f"{problem.question}\n\n{label}:\n{problem.context.strip()}"
    return problem.question


def hint_text(problem: Problem, hint: Hint) -> str:
    """The hint lines for ``hint`` mode ("" when off or when the problem has no such fields)."""
    if hint == "none":
        return ""
    fields = [("utility", "What the tool should do")]
    if hint == "all":
        fields += [("args", "Its arguments"), ("return", "What it returns")]
    lines = [
        f"{title}:\n{problem.metadata[key].strip()}"
        for key, title in fields
        if problem.metadata.get(key)
    ]
    return ("\nHint.\n" + "\n".join(lines) + "\n") if lines else ""


def render_prompt(
    template: str, *, examples: str, problem: Problem, options: StageOptions, **values: str
) -> str:
    """Fill ``template`` of ``options.prompts`` with the problem, its hint, and the dataset's
    demonstrations."""
    dataset = problem.metadata.get("dataset")
    dataset = dataset if isinstance(dataset, str) else None
    prompts = options.prompts
    return prompts.render(
        template,
        examples=prompts.examples(dataset, examples),
        answer_format=prompts.examples(dataset, "answer_format"),
        problem=describe_problem(problem),
        hint=hint_text(problem, options.hint),
        **values,
    )


async def ask(
    model: Model,
    user: str,
    *,
    system: str,
    options: StageOptions,
    stage: StepStage,
    problem: Problem,
    round: int,
    history: Sequence[Message] = (),
) -> tuple[ModelCall, str | None]:
    """One request: the system prompt of method ``system``, the earlier turns ``history`` (user
    and assistant messages) and ``user``; returns the call record and the code in the reply
    (None if there is none).

    Retries of a stage are distinct requests (``sample_index`` grows with ``round``), so a
    cached reply is never replayed for a retry that asks the same thing again.
    """
    messages = [
        Message(role="system", content=options.prompts.render(f"{system}/system")),
        *history,
        Message(role="user", content=user),
    ]
    settings = options.settings
    if round:
        settings = settings.model_copy(update={"sample_index": settings.sample_index + round})
    completion = await model.generate(
        messages,
        settings=settings,
        context=CallContext(stage=stage, problem=problem, attempt=round),
    )
    return ModelCall(messages=messages, completion=completion), extract_code(completion.text)


def no_code_error(completion: Completion) -> str:
    """The error recorded (and shown to the model) when a reply holds no code: why the reply
    stopped early (the token limit, mid-reasoning, or the server's context) when it did."""
    cut_off = completion.cut_off_message()
    if cut_off is not None:
        return cut_off if completion.cut_off_in_reasoning else f"{cut_off}, before any code"
    return "the reply contained no Python code"
