"""The Tool Use baseline: the query line, the service, the second request, and its failures."""

from __future__ import annotations

import pytest

from creator import Creator, Problem, Result, ScriptedModel, StageOptions
from creator.errors import ConfigError, ModelConnectionError
from creator.models.base import Completion, Usage
from creator.models.reference import ReferenceModel
from creator.sandbox.base import Limits, Sandbox
from creator.services.base import ServiceError, ServiceReply
from creator.stages.query import read_query

SYSTEM = "We solve the pair step by step.\nQUERY: solve 3p+4q=8, 4p+3q=13"


def run(model: ScriptedModel, sandbox: Sandbox, **options: object) -> Result:
    chosen = StageOptions(**options)  # type: ignore[arg-type]
    with Creator(model=model, sandbox=sandbox, method="tooluse", options=chosen) as creator:
        return creator.solve_sync(Problem(question="3p+4q=8 and 4p+3q=13. What is p?"))


@pytest.mark.parametrize(
    ("reply", "query"),
    [
        ("Reasoning.\nQUERY: 4^3 - 3^3", "4^3 - 3^3"),
        ("Reasoning.\nWOLFRAM: maximize 12x-x^2", "maximize 12x-x^2"),
        ("**QUERY:** `solve x^2 = 4`", "solve x^2 = 4"),
        ("query:   sqrt(24*16*6)  \n", "sqrt(24*16*6)"),
        ('QUERY: "(70 * 120) / 50"', "(70 * 120) / 50"),
        ("- QUERY: first\nthen\nQUERY: second", "second"),
        ("QUERY: kept\nQUERY:   \n", "kept"),
        ("No query line here; the QUERY: in a sentence does not count.", None),
        ("QUERY:", None),
        ("", None),
        ("QUERY: 2+2\rFinal Answer: 5", "2+2"),
    ],
)
def test_the_last_query_line_is_read(reply: str, query: str | None) -> None:
    assert read_query(reply) == query


def test_query_service_and_second_request_in_one_conversation(sandbox) -> None:
    model = ScriptedModel([SYSTEM, "So p = 4.\nFinal Answer: 4"])
    result = run(model, sandbox)
    assert [s.stage for s in result.trace] == ["query", "service", "answer"]
    assert result.status == "answered" and result.answer == "4"
    assert result.method == "tooluse" and result.tool_code is None
    reply = result.trace[1].service
    assert reply is not None and reply.ok and reply.service == "sympy"
    assert reply.query == "solve 3p+4q=8, 4p+3q=13"
    assert reply.text is not None and "p = 4" in reply.text and "q = -1" in reply.text
    assert reply.duration_s > 0
    first, second = model.calls
    assert first.context is not None and first.context.stage == "query"
    assert second.context is not None and second.context.stage == "answer"
    roles = [m.role for m in second.messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert second.messages[1] == first.messages[1]  # the problem, as first asked
    assert second.messages[2].content == SYSTEM
    assert second.messages[3].content.startswith(f"Result:\n{reply.text}\n")
    assert "3p+4q=8 and 4p+3q=13" in first.messages[1].content


def test_no_query_line_is_recorded_and_the_second_request_says_no_result(sandbox) -> None:
    model = ScriptedModel(["I think p is 4.", "Final Answer: 4"])
    result = run(model, sandbox)
    assert [s.stage for s in result.trace] == ["query", "answer"]
    assert result.trace[0].error == "the reply had no QUERY line"
    last = model.calls[1].messages[-1].content
    assert last.startswith("No result is available: the reply had no QUERY line.")
    assert result.answer == "4"


def test_a_query_the_service_cannot_read_is_an_error_the_model_is_told(sandbox) -> None:
    model = ScriptedModel(["QUERY: solve ((( = )", "Final Answer: 1"])
    result = run(model, sandbox)
    service = result.trace[1]
    assert service.stage == "service" and service.service is not None
    assert service.error is not None and service.service.text is None
    assert "\n" not in service.error
    assert f"No result is available: {service.error}" in model.calls[1].messages[-1].content
    assert result.status == "answered"


def test_no_final_answer_after_the_result_is_no_answer(sandbox) -> None:
    model = ScriptedModel([SYSTEM, "I am not sure."])
    result = run(model, sandbox)
    assert result.status == "no_answer" and result.answer is None
    assert result.error is not None and "no answer" in result.error


def test_a_reply_cut_off_before_its_query_line_says_so(sandbox) -> None:
    cut = Completion(
        text="Step one, step two, st",
        finish_reason="length",
        cut_off="max_tokens",
        usage=Usage(prompt_tokens=10, completion_tokens=1024),
    )
    model = ScriptedModel([cut, "Final Answer: 4"])
    result = run(model, sandbox)
    assert result.trace[0].error is not None
    assert "cut off at the token limit (1,024 tokens), before a QUERY line" in (
        result.trace[0].error
    )


def test_a_model_failure_in_the_second_request_keeps_the_trace(sandbox) -> None:
    model = ScriptedModel([SYSTEM, ModelConnectionError("cannot reach the endpoint")])
    result = run(model, sandbox)
    assert result.status == "model_error" and result.error == "cannot reach the endpoint"
    assert [s.stage for s in result.trace] == ["query", "service"]


class _RejectedKey:
    name = "wolfram"

    async def ask(self, query: str, *, sandbox: Sandbox, limits: Limits) -> ServiceReply:
        raise ServiceError("WolframAlpha refused the app id")


def test_a_service_failure_every_query_would_meet_is_raised_not_recorded(sandbox) -> None:
    model = ScriptedModel([SYSTEM, "Final Answer: 4"])
    with pytest.raises(ServiceError, match="refused the app id"):
        run(model, sandbox, service=_RejectedKey())


def test_the_reference_replay_is_refused_for_tooluse() -> None:
    with pytest.raises(ConfigError, match="reference replay cannot run --method tooluse"):
        Creator(model=ReferenceModel(), method="tooluse")


def test_reading_a_hostile_reply_takes_linear_time() -> None:
    """A line that made the first reader backtrack for hours (1 MB of spaces in a query)."""
    import time

    hostile = "QUERY: a" + " " * 1_000_000 + "b\n" + ("QUERY:" + " " * 50 + "x") * 20_000
    start = time.perf_counter()
    assert read_query(hostile) is not None
    assert time.perf_counter() - start < 5  # quadratic: hours; linear: well under a second


def test_a_reply_cut_off_in_its_query_line_sends_nothing(sandbox) -> None:
    cut = Completion(
        text="The pair.\nQUERY: solve 3p+4q=8, 4p+3",
        finish_reason="length",
        cut_off="max_tokens",
        usage=Usage(prompt_tokens=10, completion_tokens=256),
    )
    model = ScriptedModel([cut, "Final Answer: 4"])
    result = run(model, sandbox)
    assert [s.stage for s in result.trace] == ["query", "answer"]
    error = result.trace[0].error
    assert error is not None
    assert "in its QUERY line (the query may be incomplete: not sent)" in error
    assert f"No result is available: {error}" in model.calls[1].messages[-1].content


def test_an_over_long_query_is_not_sent(sandbox) -> None:
    model = ScriptedModel(["QUERY: " + "1+" * 1_500 + "1", "Final Answer: 1501"])
    result = run(model, sandbox)
    assert [s.stage for s in result.trace] == ["query", "answer"]
    assert result.trace[0].error == "the query has 3,001 characters, more than 2,000: not sent"


def test_a_lone_surrogate_in_a_reply_is_replaced_not_fatal(sandbox) -> None:
    model = ScriptedModel(["Thinking \ud800.\nQUERY: 2+2", "Final Answer: 4 \udfff"])
    result = run(model, sandbox)
    assert result.answer == "4 \ufffd"
    assert "\ud800" not in result.model_dump_json()
    assert model.calls[1].messages[2].content == "Thinking \ufffd.\nQUERY: 2+2"
