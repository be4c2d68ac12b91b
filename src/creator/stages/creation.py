"""Creation: the model writes a general, documented tool (or reuses one); the tool is test-run.

If the reply has no code, or the tool does not even define (syntax error, failing import,
an exception at import time), creation is asked again with the error shown, up to
``creation_retries`` more times. Whether the tool computes the right thing is not judged here.

With ``offered`` library tools (``--reuse-tools``) the prompt lists them and the model may
answer ``REUSE: <tool name>`` instead of writing code (see :mod:`creator.stages.reuse`). The
chosen tool's code goes through the same test-run in the sandbox as a new tool, and the step
records its name in ``reused_tool``. A marker naming a tool that was not offered is a failed
round with that error. Without offered tools the prompt is the normal creation prompt.
Retrieving tools and counting reuses are the caller's business.
"""

from __future__ import annotations

from collections.abc import Sequence

from creator.models.base import Model
from creator.problem import Problem
from creator.sandbox.base import CodePart, Sandbox
from creator.stages.common import StageOptions, ask, no_code_error, render_prompt
from creator.stages.reuse import offered_label, read_reuse, render_offered
from creator.tools.records import ToolRecord
from creator.trace import Step

__all__ = ["create_tool"]


async def create_tool(
    problem: Problem,
    *,
    model: Model,
    sandbox: Sandbox,
    options: StageOptions,
    steps: list[Step],
    offered: Sequence[ToolRecord] = (),
) -> str | None:
    """Create (or reuse) a tool, appending one creation step per attempt to ``steps``; the
    tool's code, or None. A reused tool's step has ``reused_tool`` set to its name."""
    if offered:
        base = render_prompt(
            "creator/creation_reuse",
            examples="creation",
            problem=problem,
            options=options,
            tools=render_offered(offered),
        )
    else:
        base = render_prompt(
            "creator/creation", examples="creation", problem=problem, options=options
        )
    labels = [offered_label(t) for t in offered]
    user = base
    for round in range(options.creation_retries + 1):
        call, code = await ask(
            model,
            user,
            system="creator",
            options=options,
            stage="creation",
            problem=problem,
            round=round,
        )
        choice = read_reuse(call.completion.text, offered)
        reused: str | None = None
        if choice is not None and choice.tool is None:
            failure = choice.error or "the reply's REUSE line names no offered tool"
            steps.append(
                Step(stage="creation", round=round, call=call, error=failure, offered_tools=labels)
            )
            user = base + "\n" + options.prompts.render("creator/reuse_unknown", error=failure)
            continue
        if choice is not None and choice.tool is not None:
            code, reused = choice.tool.code, choice.tool.name
        if code is None:
            failure = no_code_error(call.completion)
            steps.append(
                Step(stage="creation", round=round, call=call, error=failure, offered_tools=labels)
            )
            user = base + "\n" + options.prompts.render("creator/no_code")
            continue
        result = await sandbox.run([CodePart(name="tool", code=code)], limits=options.limits)
        error = result.error
        steps.append(
            Step(
                stage="creation",
                round=round,
                call=call,
                code=code,
                execution=result,
                error=error,
                offered_tools=labels,
                reused_tool=reused,
            )
        )
        if error is None:
            return code
        if reused is not None:
            retry = options.prompts.render("creator/reuse_failed", name=reused, error=error)
        else:
            retry = options.prompts.render("creator/creation_retry", code=code, error=error)
        user = base + "\n" + retry
    return None
