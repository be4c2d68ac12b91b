"""Execution: tool and decision code run together in the sandbox; the answer is read off.

The parts run in order in one namespace (tool first), so decision code may call the tool or
redefine a faulty function. Only the sandbox runs code; scoring the answer is not done here.
"""

from __future__ import annotations

from creator.answers import extract_answer
from creator.sandbox.base import CodePart, Sandbox
from creator.stages.common import StageOptions
from creator.trace import Step

__all__ = ["execute"]


async def execute(
    tool: str | None, code: str, *, sandbox: Sandbox, options: StageOptions, round: int = 0
) -> Step:
    """Run ``tool`` (if any) then ``code``; the step carries the ExecResult and the answer."""
    parts = [CodePart(name="tool", code=tool)] if tool else []
    parts.append(CodePart(name="decision", code=code))
    result = await sandbox.run(parts, limits=options.limits)
    answer = extract_answer(result.stdout) if result.ok else None
    return Step(
        stage="execution",
        round=round,
        code=code,
        execution=result,
        answer=answer,
        error=result.error,
    )
