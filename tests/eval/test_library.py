"""Evaluations with a tool library: reuse offered at Creation, created tools saved, refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from creator import ReferenceModel, ScriptedModel
from creator.datasets import get
from creator.errors import ConfigError, InputError
from creator.eval import EvalConfig, ResultsFile, run_eval
from creator.models.base import CallContext, GenerationSettings, Message
from creator.sandbox.base import Sandbox
from creator.tools import ToolLibrary


def fenced(code: str | None) -> str:
    return f"```python\n{code}\n```"


def recorded(
    messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
) -> str:
    """Reuse the polygon tool when it is offered for creation/0; otherwise reply with the
    recorded tool and solution."""
    assert context is not None and context.problem.reference is not None
    prompt = messages[-1].content
    if context.stage == "creation":
        offered = "Library tools" in prompt and "def polygon_perimeter(" in prompt
        if offered and context.problem.id == "creation/0":
            return "REUSE: polygon_perimeter"
        return fenced(context.problem.reference.tool)
    return fenced(context.problem.reference.solution)


@pytest.fixture
def library(tmp_path: Path) -> Iterator[ToolLibrary]:
    polygon = get("creation/0")
    assert polygon.reference is not None and polygon.reference.tool is not None
    with ToolLibrary(tmp_path / "tools.sqlite") as lib:
        lib.add(polygon.reference.tool, problem=polygon.question, ran=True, verified=True)
        yield lib


def evaluate(config: EvalConfig, out: Path, model: Any, sandbox: Sandbox, **kw: Any) -> Any:
    return asyncio.run(
        run_eval(config, out_dir=out, model=model, sandbox=sandbox, concurrency=1, **kw)
    )


def test_reuse_in_an_evaluation_is_recorded_counted_and_new_tools_saved(
    tmp_path: Path, sandbox: Sandbox, library: ToolLibrary
) -> None:
    config = EvalConfig(dataset="creation", model="scripted", limit=3, reuse_tools=True)
    out = tmp_path / "run"
    summary = evaluate(config, out, ScriptedModel(responder=recorded), sandbox, library=library)
    records = ResultsFile(out / "results.jsonl").load()
    first = records["creation/0"]
    assert first.reused_tool == "polygon_perimeter" and first.correct
    assert first.trace[0].reused_tool == "polygon_perimeter"
    assert all(records[f"creation/{i}"].reused_tool is None for i in (1, 2))

    polygon = library.get("polygon_perimeter")
    assert polygon.reused == 1 and polygon.correct == 1 and polygon.offered >= 1
    assert library.count() == 3 and polygon.variants == 1
    for i in (1, 2):
        record = records[f"creation/{i}"]
        (tool,) = [t for t in library.list() if t.problem_id == record.id]
        assert tool.ran and tool.verified == record.correct_strict and tool.dataset == "creation"
    assert summary["tools"] == {
        "reuse": True,
        "k": 3,
        "offer_unverified": False,
        "save": True,
        "reused": 1,
        "reused_accuracy": 1.0,
        "created": 2,
        "created_accuracy": summary["tools"]["created_accuracy"],
    }

    other = EvalConfig(dataset="creation", model="scripted", limit=3)
    with pytest.raises(InputError, match=r"different settings.*reuse_tools"):
        evaluate(other, out, ScriptedModel(responder=recorded), sandbox)
    elsewhere = ToolLibrary(tmp_path / "other.sqlite")  # the library path is not a setting
    summary = evaluate(config, out, ScriptedModel(), sandbox, library=elsewhere)
    assert summary["resumed_from"] == 3
    elsewhere.close()


def test_save_tools_alone_offers_nothing_and_is_not_a_setting(
    tmp_path: Path, sandbox: Sandbox, library: ToolLibrary
) -> None:
    config = EvalConfig(dataset="creation", model="scripted", limit=2)
    model = ScriptedModel(responder=recorded)
    evaluate(config, tmp_path / "run", model, sandbox, library=library, save_tools=True)
    assert not any("Library tools" in c.messages[-1].content for c in model.calls)
    assert library.count() == 2  # creation/0's tool was already there: merged
    assert library.get("polygon_perimeter").variants == 2
    assert library.get("calc_interest").problem_id == "creation/1"


@pytest.mark.parametrize(
    ("fields", "kwargs", "model", "message"),
    [
        ({"method": "pot", "reuse_tools": True}, {}, None, "separate tool"),
        ({"method": "cot"}, {"save_tools": True}, None, "separate tool"),
        ({"dataset": "transfer", "reuse_tools": True}, {}, None, "control arm"),
        ({"reuse_tools": True}, {}, "replay", "real model"),
        ({}, {"save_tools": True}, "replay", "real model"),
        ({"reuse_tools": True, "reuse_k": 0}, {}, None, "reuse-k"),
        ({"reuse_tools": True}, {"library": None}, None, "needs a tool library"),
    ],
)
def test_settings_that_cannot_run_together_are_refused_before_anything_is_written(
    tmp_path: Path,
    sandbox: Sandbox,
    library: ToolLibrary,
    fields: dict[str, Any],
    kwargs: dict[str, Any],
    model: str | None,
    message: str,
) -> None:
    config = EvalConfig(**({"dataset": "creation", "model": "m", "limit": 1} | fields))
    chosen = ReferenceModel() if model == "replay" else ScriptedModel()
    with pytest.raises(ConfigError, match=message):
        evaluate(config, tmp_path / "run", chosen, sandbox, **({"library": library} | kwargs))
    assert not (tmp_path / "run").exists()


def test_a_bad_library_file_is_refused_before_the_run(tmp_path: Path, sandbox: Sandbox) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    config = EvalConfig(dataset="creation", model="m", limit=1, reuse_tools=True)
    with ToolLibrary(bad) as library, pytest.raises(ConfigError, match="not a creator tool"):
        evaluate(config, tmp_path / "run", ScriptedModel(), sandbox, library=library)
    assert not (tmp_path / "run").exists()
