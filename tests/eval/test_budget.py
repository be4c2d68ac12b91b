"""Run budgets: a run stops dispatching once it has spent ``max_tokens`` or ``max_cost``, keeps
what was in flight whole, and resumes with a larger budget (never with the same one).

Every reply of the scripted model here reports 10 prompt and 5 completion tokens, and a
``pot`` problem makes one request, so each record costs exactly 15 tokens."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from creator import ReferenceModel, ScriptedModel
from creator.errors import ConfigError
from creator.eval import EvalConfig, ProblemRecord, run_eval
from creator.eval.budget import Budget, budget_message, record_cost
from creator.eval.records import Tokens
from creator.models.base import CallContext, Completion, GenerationSettings, Message, Usage
from creator.report.costs import Price, PriceTable
from creator.sandbox.base import Sandbox

PROGRAM = "```python\nprint('Final Answer:', 18)\n```"
PER_PROBLEM = 15
PRICES = PriceTable(prices={"scripted": Price(input=1000.0, output=2000.0, source="--price")})
"""10 prompt and 5 completion tokens at these prices: $0.02 a problem."""


def model(delay_s: float = 0.0) -> ScriptedModel:
    def reply(
        messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
    ) -> Completion:
        usage = Usage(prompt_tokens=10, completion_tokens=5)
        return Completion(text=PROGRAM, usage=usage, finish_reason="stop", model="scripted")

    return ScriptedModel(responder=reply, delay_s=delay_s)


def config(limit: int) -> EvalConfig:
    return EvalConfig(dataset="tabmwp", method="pot", model="scripted", limit=limit)


def evaluate(
    out: Path,
    sandbox: Sandbox,
    *,
    limit: int,
    budget: Budget | None,
    llm: ScriptedModel | None = None,
    concurrency: int = 1,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    return asyncio.run(
        run_eval(
            config(limit),
            out_dir=out,
            model=llm if llm is not None else model(),
            sandbox=sandbox,
            concurrency=concurrency,
            budget=budget,
            on_note=None if notes is None else notes.append,
        )
    )


def lines(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_a_token_budget_stops_mid_run_and_resumes_only_with_a_larger_one(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    llm = model()
    notes: list[str] = []
    summary = evaluate(
        tmp_path, sandbox, limit=5, budget=Budget(max_tokens=40), llm=llm, notes=notes
    )
    assert len(llm.calls) == 3  # 15, 30, then 45 >= 40: the 4th and 5th never start
    assert len(lines(tmp_path)) == 3 and summary["n"] == 3
    block = summary["budget"]
    assert block["stopped"] is True and block["reached"] == "tokens"
    assert block["spent_tokens"] == 45 == summary["tokens"]["total"]
    assert block["overshoot_tokens"] == 5 and block["held_back"] == 2
    assert (block["done"], block["total"]) == (3, 5)
    assert block["max_cost"] is None and block["spent_cost"] is None  # "scripted" has no price
    assert json.loads((tmp_path / "summary.json").read_text())["budget"] == block
    assert any("token budget reached: 45 tokens spent of --max-tokens-total 40" in n for n in notes)
    message = budget_message(summary)
    assert message is not None and "3 of 5 problems done" in message
    assert "larger --max-tokens-total" in message and "5 over" in message

    again = model()
    summary = evaluate(tmp_path, sandbox, limit=5, budget=Budget(max_tokens=40), llm=again)
    assert again.calls == [] and len(lines(tmp_path)) == 3
    assert summary["budget"]["stopped"] is True and summary["budget"]["spent_tokens"] == 45
    assert budget_message(summary) == message

    more = model()
    summary = evaluate(tmp_path, sandbox, limit=5, budget=Budget(max_tokens=1000), llm=more)
    assert len(more.calls) == 2
    ids = [r["id"] for r in lines(tmp_path)]
    assert len(ids) == 5 == len(set(ids))  # the rest exactly: nothing solved twice
    assert summary["budget"]["stopped"] is False and summary["budget"]["reached"] is None
    assert summary["budget"]["spent_tokens"] == 5 * PER_PROBLEM
    assert budget_message(summary) is None


def test_a_cost_budget_prices_each_record(tmp_path: Path, sandbox: Sandbox) -> None:
    llm = model()
    budget = Budget(max_cost=0.05, prices=PRICES)
    summary = evaluate(tmp_path, sandbox, limit=5, budget=budget, llm=llm)
    assert len(llm.calls) == 3  # $0.02, $0.04, then $0.06 >= $0.05
    block = summary["budget"]
    assert block["reached"] == "cost" and block["stopped"] is True
    assert block["spent_cost"] == pytest.approx(0.06) and block["overshoot_cost"] == 0.01
    assert block["max_tokens"] is None and block["overshoot_tokens"] is None
    message = budget_message(summary)
    assert message is not None and message.startswith("cost budget reached: $0.06 spent of ")
    assert "larger --max-cost" in message


def test_a_budget_already_spent_sends_nothing(tmp_path: Path, sandbox: Sandbox) -> None:
    evaluate(tmp_path, sandbox, limit=3, budget=None)
    llm = model()
    summary = evaluate(tmp_path, sandbox, limit=5, budget=Budget(max_tokens=10), llm=llm)
    assert llm.calls == [] and len(lines(tmp_path)) == 3
    block = summary["budget"]
    assert block["stopped"] is True and block["held_back"] == 2
    assert block["overshoot_tokens"] == 35 and (block["done"], block["total"]) == (3, 5)
    # spent, but nothing left to start: the budget did not stop this run
    summary = evaluate(tmp_path, sandbox, limit=3, budget=Budget(max_tokens=10), llm=llm)
    assert summary["budget"]["reached"] == "tokens" and summary["budget"]["stopped"] is False
    assert budget_message(summary) is None


def test_problems_in_flight_are_finished_and_kept_whole(tmp_path: Path, sandbox: Sandbox) -> None:
    llm = model(delay_s=0.3)  # the first three are all in flight before any reply
    summary = evaluate(
        tmp_path, sandbox, limit=6, budget=Budget(max_tokens=10), llm=llm, concurrency=3
    )
    assert len(llm.calls) == 3 and llm.cancelled == 0
    records = lines(tmp_path)
    assert len(records) == 3
    for record in records:
        assert record["status"] != "model_error" and record["prediction"] == "18"
        assert record["tokens"]["total"] == PER_PROBLEM and record["trace"]
    block = summary["budget"]
    assert block["held_back"] == 3 and block["overshoot_tokens"] == 3 * PER_PROBLEM - 10


def test_bad_budgets_are_refused(tmp_path: Path, sandbox: Sandbox) -> None:
    for bad in ({"max_tokens": 0}, {"max_tokens": -5}, {"max_cost": 0.0}, {"max_cost": -1.0}):
        with pytest.raises(ConfigError, match="must be a positive"):
            Budget(**bad)
    with pytest.raises(ConfigError, match="--max-cost must be a positive"):
        Budget(max_cost=math.nan)
    with pytest.raises(ConfigError, match="needs --max-cost USD or --max-tokens-total"):
        Budget()
    with pytest.raises(ConfigError, match="pass --price scripted=IN,OUT"):
        evaluate(tmp_path / "a", sandbox, limit=2, budget=Budget(max_cost=1.0))
    assert not (tmp_path / "a" / "results.jsonl").exists()
    creation = EvalConfig(dataset="creation", model="reference", limit=1)
    with pytest.raises(ConfigError, match="reference replay, which costs nothing"):
        asyncio.run(
            run_eval(
                creation,
                out_dir=tmp_path / "b",
                model=ReferenceModel(),
                sandbox=sandbox,
                budget=Budget(max_cost=1.0),
            )
        )
    Budget(max_tokens=5).check(models=("unpriced",), replay=True)  # tokens need no price


def record(**fields: Any) -> ProblemRecord:
    base = {
        "id": "tabmwp/0",
        "dataset": "tabmwp",
        "method": "creator",
        "model": "user",
        "status": "answered",
        "prediction": "1",
        "target": "1",
        "correct": True,
        "correct_strict": True,
        "correct_paper": True,
    }
    return ProblemRecord.model_validate(base | fields)


def test_a_record_costs_each_models_tokens_at_its_price() -> None:
    prices = PriceTable(
        prices={
            "maker": Price(input=10.0, output=20.0, source="--price"),
            "user": Price(input=1.0, output=2.0, source="--price"),
        }
    )
    one = record(tokens=Tokens(prompt=1_000_000, completion=1_000_000, total=2_000_000))
    assert record_cost(one, prices) == pytest.approx(3.0)
    two = record(
        creation_model="maker",
        tokens=Tokens(prompt=2_000_000, completion=2_000_000, total=4_000_000),
        tokens_by_model={
            "maker": Tokens(prompt=1_000_000, completion=1_000_000, total=2_000_000),
            "user": Tokens(prompt=1_000_000, completion=1_000_000, total=2_000_000),
        },
    )
    assert record_cost(two, prices) == pytest.approx(30.0 + 3.0)
    assert record_cost(two, PriceTable(prices={"user": prices.prices["user"]})) is None
    assert record_cost(record(model="reference", replay=True), PriceTable()) == 0.0


def test_tool_transfer_jobs_waiting_on_a_held_back_scenario_count_as_held_back(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    tool = "```python\ndef same(x):\n    return x\n```"

    def reply(
        messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
    ) -> Completion:
        assert context is not None
        text = tool if context.stage == "creation" else PROGRAM
        usage = Usage(prompt_tokens=10, completion_tokens=5)
        return Completion(text=text, usage=usage, finish_reason="stop", model="scripted")

    transfer = EvalConfig(dataset="transfer", method="creator", model="scripted", limit=6)
    for budget in (Budget(max_tokens=1), Budget(max_tokens=10**6)):
        summary = asyncio.run(
            run_eval(
                transfer,
                out_dir=tmp_path,
                model=ScriptedModel(responder=reply),
                sandbox=sandbox,
                concurrency=1,
                budget=budget,
            )
        )
        block = summary["budget"]
        assert block["done"] + block["held_back"] == block["total"] == 10
    assert not block["stopped"] and block["done"] == 10
