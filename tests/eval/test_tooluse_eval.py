"""A ``tooluse`` evaluation: its queries counted, its service a run setting, its fingerprint."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from creator import ScriptedModel
from creator.errors import ConfigError, InputError
from creator.eval import EvalConfig, run_eval
from creator.models.base import CallContext, GenerationSettings, Message
from creator.sandbox.base import Sandbox
from creator.services import SympyService

IDS = ("tabmwp/0", "tabmwp/1", "tabmwp/2", "tabmwp/3")


def _model() -> ScriptedModel:
    """tabmwp/0 and /3 ask a good query, /1 writes none, /2 one the service cannot read; every
    problem is answered with its own recorded answer once a result came back, 0 otherwise."""

    def reply(
        messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
    ) -> str:
        assert context is not None
        problem = context.problem
        if context.stage == "query":
            return {
                "tabmwp/1": "I can do this in my head.",
                "tabmwp/2": "QUERY: solve (((",
            }.get(problem.id or "", "Adding up.\nQUERY: 2 + 2")
        got = messages[-1].content.startswith("Result:")
        return f"Final Answer: {problem.answer if got else 0}"

    return ScriptedModel(responder=reply)


def _evaluate(config: EvalConfig, out: Path, sandbox: Sandbox, **kwargs: object) -> dict[str, Any]:
    return asyncio.run(
        run_eval(config, out_dir=out, model=_model(), sandbox=sandbox, **kwargs)  # type: ignore[arg-type]
    )


def test_a_tooluse_run_counts_its_queries(tmp_path: Path, sandbox: Sandbox) -> None:
    config = EvalConfig(dataset="tabmwp", method="tooluse", model="scripted", ids=IDS,
                        tool_service="sympy")  # fmt: skip
    summary = _evaluate(config, tmp_path, sandbox)
    queries = summary["queries"]
    assert queries["service"] == "sympy"
    assert (queries["sent"], queries["answered"], queries["service_errors"]) == (3, 2, 1)
    assert queries["no_query"] == 1
    assert queries["accuracy_with_result"] == 1.0 and queries["accuracy_without_result"] == 0.0
    assert 0 < queries["time_s"]["median"] <= queries["time_s"]["p95"]
    assert summary["n"] == 4 and summary["correct"] == 2
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    stages = {r["id"]: [s["stage"] for s in r["trace"]] for r in records}
    assert stages["tabmwp/0"] == ["query", "service", "answer"]
    assert stages["tabmwp/1"] == ["query", "answer"]


def test_the_service_is_part_of_the_fingerprint_only_for_tooluse(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    plain = EvalConfig(dataset="tabmwp", model="m")
    assert "tool_service" not in plain.fingerprint_fields()
    sympy = EvalConfig(dataset="tabmwp", model="m", method="tooluse", tool_service="sympy")
    wolfram = sympy.model_copy(update={"tool_service": "wolfram"})
    assert sympy.fingerprint() != wolfram.fingerprint()
    assert sympy.differences(wolfram) == ["tool_service"]
    with pytest.raises(ConfigError, match="applies to --method tooluse, not cot"):
        bad = EvalConfig(dataset="tabmwp", model="m", method="cot", tool_service="sympy")
        _evaluate(bad, tmp_path / "a", sandbox)
    with pytest.raises(ConfigError, match="the run's tool service is wolfram, not sympy"):
        _evaluate(wolfram, tmp_path / "b", sandbox, service=SympyService())
    config = sympy.model_copy(update={"ids": IDS[:1]})
    _evaluate(config, tmp_path / "c", sandbox)
    expected = r"different settings \(tool_service: \"sympy\" in the run, \(unset\) now\)"
    with pytest.raises(InputError, match=expected):
        _evaluate(config.model_copy(update={"tool_service": None}), tmp_path / "c", sandbox)


@pytest.mark.parametrize("method", ["tooluse", "cot", "pot", "standard"])
def test_a_hint_is_refused_where_no_prompt_would_show_it(
    tmp_path: Path, sandbox: Sandbox, method: str
) -> None:
    config = EvalConfig(dataset="creation", model="m", method=method, hint="utility", limit=1)
    with pytest.raises(
        ConfigError, match=f"applies to creator and toolcreate-whole.*not to {method}"
    ):
        _evaluate(config, tmp_path, sandbox)
    assert not (tmp_path / "config.json").exists()
