"""A tool maker and a tool user in one evaluation (``creation_model``), with two scripted
models behind a :class:`~creator.models.routed.StageRouter`: who got which request, tokens per
model in the records and the summary, the library's makers, and costs per model in the report.

The scripted models reply with the Creation Challenge's recorded tools and solutions (the
decision is first broken, so that Rectification runs too): these are plumbing checks, never
an accuracy figure."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from creator import ScriptedModel
from creator.cli.main import main
from creator.errors import ConfigError
from creator.eval import EvalConfig, ResultsFile, run_eval
from creator.models.base import CallContext, Completion, GenerationSettings, Message, Usage
from creator.models.routed import StageRouter
from creator.report.tables import read_csv
from creator.sandbox.base import Sandbox
from creator.tools import ToolLibrary

MAKER, USER = "strong-maker", "cheap-user"


class Party:
    """One scripted model's replies, each with its own made-up token counts, and their sum."""

    def __init__(self, name: str, *, base: int) -> None:
        self.base = base
        self.used = Usage()
        self.model = ScriptedModel(responder=self.reply, name=name)

    def reply(
        self, messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
    ) -> Completion:
        assert context is not None and context.problem.reference is not None
        reference = context.problem.reference
        if context.stage == "creation":
            code = reference.tool
        elif context.stage == "decision":
            code = "print(undefined_name)"  # fails: Rectification repairs it
        else:
            code = reference.solution
        usage = Usage(prompt_tokens=self.base + len(self.model.calls), completion_tokens=7)
        self.used = self.used + usage
        return Completion(text=f"```python\n{code}\n```", usage=usage, model=self.model.name)


def stages(party: Party) -> set[str]:
    return {call.context.stage for call in party.model.calls if call.context is not None}


def run(tmp_path: Path, sandbox: Sandbox, **kw: Any) -> tuple[dict[str, Any], Party, Party]:
    maker, user = Party(MAKER, base=1000), Party(USER, base=100)
    router = StageRouter(user.model, {"creation": maker.model})
    config = EvalConfig(dataset="creation", model=USER, creation_model=MAKER, limit=3)
    summary = asyncio.run(
        run_eval(
            config, out_dir=tmp_path / "run", model=router, sandbox=sandbox, concurrency=2, **kw
        )
    )
    return summary, maker, user


def test_each_model_gets_its_stages_and_the_tokens_are_counted_per_model(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    summary, maker, user = run(tmp_path, sandbox)
    assert stages(maker) == {"creation"}
    assert stages(user) == {"decision", "rectification"}
    records = ResultsFile(tmp_path / "run" / "results.jsonl").load().values()
    assert len(records) == 3
    for record in records:
        assert record.model == USER and record.creation_model == MAKER
        assert set(record.tokens_by_model) == {MAKER, USER}
        both = record.tokens_by_model[MAKER].total + record.tokens_by_model[USER].total
        assert both == record.tokens.total
    for party in (maker, user):
        mine = [r.tokens_by_model[party.model.name] for r in records]
        assert sum(t.prompt for t in mine) == party.used.prompt_tokens
        assert sum(t.completion for t in mine) == party.used.completion_tokens
    block = summary["models"]
    assert block["model"] == USER and block["creation_model"] == MAKER
    assert list(block["tokens"]) == [MAKER, USER]
    assert block["tokens"][MAKER]["total"] == maker.used.total_tokens
    assert block["tokens"][USER]["total"] == user.used.total_tokens
    assert summary["tokens"]["total"] == maker.used.total_tokens + user.used.total_tokens


def test_saved_tools_record_the_creation_model_as_their_maker(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    with ToolLibrary(tmp_path / "tools.sqlite") as library:
        run(tmp_path, sandbox, library=library, save_tools=True)
        tools = library.list()
    assert len(tools) == 3 and {tool.maker for tool in tools} == {MAKER}


def test_the_report_prices_each_models_tokens_at_its_own_price(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    _, maker, user = run(tmp_path, sandbox)
    out = tmp_path / "report"
    prices = ["--price", f"{MAKER}=10,20", "--price", f"{USER}=1,2"]
    assert main(["report", str(tmp_path / "run"), "--out", str(out), *prices]) == 0
    header, rows = read_csv((out / "costs.csv").read_text())
    costs = dict(zip(header, rows[0], strict=True))
    expected = (
        maker.used.prompt_tokens * 10
        + maker.used.completion_tokens * 20
        + user.used.prompt_tokens * 1
        + user.used.completion_tokens * 2
    ) / 1e6
    assert float(costs["cost"]) == pytest.approx(expected)
    assert costs["USD per 1M in"] == costs["USD per 1M out"] == "per model"
    assert f"{USER}, tools by {MAKER}" in (out / "report.md").read_text()
    by_model = costs["tokens and cost by model"]
    assert by_model.startswith(f"tool maker {MAKER}: {maker.used.total_tokens:,} tokens, $")
    assert f"tool user {USER}: {user.used.total_tokens:,} tokens, $" in by_model
    assert main(["report", str(tmp_path / "run"), "--out", str(out), *prices[:2]]) == 0
    header, rows = read_csv((out / "costs.csv").read_text())
    costs = dict(zip(header, rows[0], strict=True))
    assert costs["cost"] == "unknown"  # the user's tokens have no price: no partial sum
    assert (
        f"tool user {USER}: {user.used.total_tokens:,} tokens, unknown price"
        in (costs["tokens and cost by model"])
    )


def test_a_config_and_a_model_that_disagree_on_the_maker_are_refused(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    maker, user = ScriptedModel(name=MAKER), ScriptedModel(name=USER)
    plain = EvalConfig(dataset="tabmwp", model=USER, limit=1)
    with pytest.raises(
        ConfigError, match=f"creation model is {MAKER} but Creation is answered by {USER}"
    ):
        asyncio.run(
            run_eval(
                plain.model_copy(update={"creation_model": MAKER}),
                out_dir=tmp_path / "a",
                model=user,
                sandbox=sandbox,
            )
        )
    with pytest.raises(
        ConfigError, match=f"creation model is none but Creation is answered by {MAKER}"
    ):
        asyncio.run(
            run_eval(
                plain,
                out_dir=tmp_path / "b",
                model=StageRouter(user, {"creation": maker}),
                sandbox=sandbox,
            )
        )
    assert not maker.calls and not user.calls
