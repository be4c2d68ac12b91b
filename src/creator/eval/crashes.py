"""Unexpected exceptions inside an evaluation: what a problem's record says when its attempt
raised one (a bug of ours), and which single error a failed task group raises.

Model failures, which are expected, are :mod:`creator.eval.failures`'s; running is
:mod:`creator.eval.runner`'s.
"""

from __future__ import annotations

from creator.errors import CreatorError
from creator.eval.transfer import Job
from creator.trace import Result

__all__ = ["first_error", "internal_result"]


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to raise for a failed task group: the first typed one, else the first."""
    leaves: list[BaseException] = []

    def walk(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                walk(inner)
        else:
            leaves.append(error)

    walk(group)
    for kinds in (CreatorError, Exception):
        for error in leaves:
            if isinstance(error, kinds):
                return error
    return leaves[0]


def internal_result(job: Job, error: Exception, *, method: str, model: str, sandbox: str) -> Result:
    """The result of a problem whose attempt raised something unexpected (a bug of ours)."""
    detail = " ".join(str(error).split())[:300]
    return Result(
        problem=job.problem,
        method=method,
        model=model,
        status="model_error",
        error=f"internal error: {type(error).__name__}: {detail}",
        tool_from=job.tool_from,
        sandbox=sandbox,
    )
