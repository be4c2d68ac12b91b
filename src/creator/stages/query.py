"""The Tool Use baseline's stages: a reply ending with a query, the service, the final answer.

1. :func:`write_query` (stage ``query``): the model reasons and ends its reply with one line
   ``QUERY: <query>`` (the paper's ``WOLFRAM: <query>`` is read too). The last such line
   counts; markdown around it (``**QUERY:**``, backticks) is dropped. A query is not sent
   when the reply was cut off in its query line (it may be incomplete) or when it is longer
   than :data:`~creator.services.base.QUERY_CAP`; the step's error says which.
2. :func:`consult` (stage ``service``): the query goes to the computation service; the step
   keeps the query, the service's reply (or its error) and its time.
3. :func:`finish_with_result` (stage ``answer``): a second request continues the same
   conversation - the problem, the first reply, then the service's result, or a note that no
   result is available (no query line, or the service failed) - and the answer is read from
   that reply by the prose rule, as for ``cot``.

The query is text for the service and nothing else: it is never parsed or run here (the
offline service reads it inside the sandbox). Composing the stages is the method's job.
"""

from __future__ import annotations

import re

from creator.answers import extract_prose_answer
from creator.models.base import Completion, Message, Model
from creator.problem import Problem
from creator.sandbox.base import Sandbox
from creator.services.base import QUERY_CAP, ServiceReply, ToolService
from creator.stages.answer import no_answer_error
from creator.stages.common import StageOptions, ask, render_prompt
from creator.trace import Step

__all__ = ["consult", "finish_with_result", "read_query", "write_query"]

_QUERY_START = re.compile(r"[ \t>*_#-]*(?:QUERY|WOLFRAM)[ \t*_]*:", re.IGNORECASE)
"""The start of a query line (matched at a line's start only, so the scan stays linear)."""
_QUOTES = ("`", '"', "'")
_TRIM = " \t*_"

NO_QUERY = "the reply had no QUERY line"


def read_query(text: str) -> str | None:
    """The query of the reply's last ``QUERY:`` (or ``WOLFRAM:``) line, None if it has none.

    Lines are split as :meth:`str.splitlines` does (so a lone ``\r`` ends a line too), and
    each is read in time linear in its length: a hostile reply cannot stall the run here.
    """
    found = None
    for line in text.splitlines():
        start = _QUERY_START.match(line)
        if start is None:
            continue
        query = line[start.end() :].strip(_TRIM)
        while len(query) >= 2 and query[0] in _QUOTES and query[-1] == query[0]:
            query = query[1:-1].strip()
        if query:
            found = query
    return found


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


async def write_query(
    problem: Problem, *, model: Model, options: StageOptions
) -> tuple[Step, str | None]:
    """Ask for reasoning ending with a query line; the step, and the query (None if none)."""
    user = render_prompt("tooluse/prompt", examples="tooluse", problem=problem, options=options)
    call, _ = await ask(
        model, user, system="tooluse", options=options, stage="query", problem=problem, round=0
    )
    completion = call.completion
    query = read_query(completion.text)
    cut_off = completion.cut_off_message()
    error = None
    if query is None:
        error = _no_query_error(completion)
    elif cut_off is not None and read_query(_last_line(completion.text)) == query:
        error = f"{cut_off}, in its QUERY line (the query may be incomplete: not sent)"
    elif len(query) > QUERY_CAP:
        error = f"the query has {len(query):,} characters, more than {QUERY_CAP:,}: not sent"
    if error is not None:
        return Step(stage="query", call=call, error=error), None
    return Step(stage="query", call=call), query


def _no_query_error(completion: Completion) -> str:
    cut_off = completion.cut_off_message()
    if cut_off is not None:
        return cut_off if completion.cut_off_in_reasoning else f"{cut_off}, before a QUERY line"
    return NO_QUERY


async def consult(
    query: str, *, service: ToolService, sandbox: Sandbox, options: StageOptions
) -> Step:
    """Send ``query`` to ``service``; the step carries the reply (its error, if it failed)."""
    reply: ServiceReply = await service.ask(query, sandbox=sandbox, limits=options.limits)
    return Step(stage="service", service=reply, error=reply.error)


async def finish_with_result(
    problem: Problem,
    *,
    first: Step,
    reply: ServiceReply | None,
    service: str,
    model: Model,
    options: StageOptions,
) -> Step:
    """Continue the conversation of ``first`` with the service's ``reply`` (None: no query was
    sent) and read the final answer; the step (stage ``answer``) has an error if none was."""
    assert first.call is not None
    history = [
        *first.call.messages[1:],
        Message(role="assistant", content=first.call.completion.text),
    ]
    if reply is not None and reply.text is not None:
        user = options.prompts.render("tooluse/result", service=service, result=reply.text)
    else:
        why = reply.error if reply is not None else first.error
        user = options.prompts.render("tooluse/no_result", service=service, reason=why or NO_QUERY)
    call, _ = await ask(
        model,
        user,
        system="tooluse",
        options=options,
        stage="answer",
        problem=problem,
        round=0,
        history=history,
    )
    completion = call.completion
    found = extract_prose_answer(completion.text, cut_off=completion.cut_off_message() is not None)
    if found is None:
        return Step(stage="answer", call=call, error=no_answer_error(completion))
    return Step(stage="answer", call=call, answer=found.text)
