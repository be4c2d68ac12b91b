"""Creation: the model writes a general, documented tool; the tool alone is test-run.

If the reply has no code, or the tool does not even define (syntax error, failing import,
an exception at import time), creation is asked again with the error shown, up to
``creation_retries`` more times. Whether the tool computes the right thing is not judged here.
"""

from __future__ import annotations

from creator import prompts
from creator.models.base import Model
from creator.problem import Problem
from creator.sandbox.base import CodePart, Sandbox
from creator.stages.common import StageOptions, ask, no_code_error, render_prompt
from creator.trace import Step

__all__ = ["create_tool"]


async def create_tool(
    problem: Problem,
    *,
    model: Model,
    sandbox: Sandbox,
    options: StageOptions,
    steps: list[Step],
) -> str | None:
    """Create a tool, appending one creation step per attempt to ``steps``; the tool or None."""
    base = render_prompt("creator/creation", examples="creation", problem=problem, options=options)
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
        if code is None:
            failure = no_code_error(call.completion.finish_reason)
            steps.append(Step(stage="creation", round=round, call=call, error=failure))
            user = base + "\n" + prompts.render("creator/no_code")
            continue
        result = await sandbox.run([CodePart(name="tool", code=code)], limits=options.limits)
        error = result.error
        steps.append(
            Step(stage="creation", round=round, call=call, code=code, execution=result, error=error)
        )
        if error is None:
            return code
        retry = prompts.render("creator/creation_retry", code=code, error=error)
        user = base + "\n" + retry
    return None
