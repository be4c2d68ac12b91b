"""The Tool Use baseline: the model may call an existing computation service, not create a tool.

As in the paper (which used WolframAlpha): the model reasons and ends its reply with one query
line; the service answers it; a second request shows the model the problem, its first reply
and the result (or says that none is available: no query line, or the service failed) and
reads ``Final Answer:`` from the reply (stages in :mod:`creator.stages.query`). Nothing the
model writes is run as a program; the offline ``sympy`` service reads the query inside the
sandbox.

Statuses: ``answered`` or ``no_answer`` (the final reply held no answer), ``model_error``. A
missing query line or a service error is not a status of its own: it is the error of its step
in the trace, and the model still gets its second request. A failure of the service that
every later query would meet too (:class:`~creator.services.base.ServiceError`, a rejected
key) is raised, not recorded.
"""

from __future__ import annotations

from creator.errors import ModelError
from creator.methods.base import Attempt, OnStep
from creator.models.base import Model
from creator.problem import Problem
from creator.sandbox.base import Sandbox
from creator.services import default_service
from creator.services.base import ServiceReply
from creator.stages.common import StageOptions
from creator.stages.query import consult, finish_with_result, write_query
from creator.trace import Result

__all__ = ["solve_tooluse"]


async def solve_tooluse(
    problem: Problem,
    *,
    model: Model,
    sandbox: Sandbox,
    options: StageOptions,
    on_step: OnStep | None = None,
) -> Result:
    """Solve ``problem`` with one query to ``options.service`` (default: offline sympy)."""
    service = options.service or default_service()
    attempt = Attempt(problem, method="tooluse", model=model, sandbox=sandbox, on_step=on_step)
    try:
        first, query = await write_query(problem, model=model, options=options)
        attempt.steps.append(first)
        reply: ServiceReply | None = None
        if query is not None:
            consulted = await consult(query, service=service, sandbox=sandbox, options=options)
            attempt.steps.append(consulted)
            reply = consulted.service
        final = await finish_with_result(
            problem, first=first, reply=reply, service=service.name, model=model, options=options
        )
        attempt.steps.append(final)
    except ModelError as exc:
        return attempt.finish("model_error", error=str(exc))
    if final.answer is None:
        return attempt.finish("no_answer", error=final.error)
    return attempt.finish("answered", answer=final.answer)
