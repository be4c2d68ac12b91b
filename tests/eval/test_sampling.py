"""Several attempts per problem (``--samples K``) and their vote, with the scripted model."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from creator import ScriptedModel
from creator.errors import ConfigError, InputError, ModelTimeoutError
from creator.eval import EvalConfig, ResultsFile, run_eval
from creator.eval.beyond import sampling_summary
from creator.eval.sampling import SAMPLE_STRIDE
from creator.eval.voting import elect, group_answers, settled, vote_at
from creator.models.base import CallContext, GenerationSettings, Message
from creator.models.cache import CachedModel
from creator.report.costs import Price, PriceTable
from creator.sandbox.base import Sandbox

TOOL = "```python\ndef total(values):\n    return sum(values)\n```"
BROKEN = "```python\nprint(undefined_name)\n```"


def decision(answer: str) -> str:
    return f"```python\nprint('Final Answer: {answer}')\n```"


Plan = Callable[[str, int], str]
"""What attempt ``i`` of problem ``id`` answers: a value, ``BROKEN:<value>`` (the decision
fails, the repair answers the value), ``NONE`` (code that prints nothing)."""


def scripted(plan: Plan) -> ScriptedModel:
    def respond(
        messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
    ) -> str:
        assert context is not None
        index = settings.sample_index // SAMPLE_STRIDE
        wanted = plan(context.problem.id, index)
        if context.stage == "creation":
            return TOOL
        if context.stage == "decision":
            if wanted.startswith("BROKEN:"):
                return BROKEN
            if wanted == "NONE":
                return "```python\nx = 1\n```"
            return decision(wanted)
        assert context.stage == "rectification"
        return decision(wanted.removeprefix("BROKEN:"))

    return ScriptedModel(responder=respond)


def evaluate(config: EvalConfig, out: Path, model: Any, sandbox: Sandbox) -> dict[str, Any]:
    return asyncio.run(run_eval(config, out_dir=out, model=model, sandbox=sandbox, concurrency=2))


def config(**fields: Any) -> EvalConfig:
    return EvalConfig(dataset="creation", model="scripted", ids=("creation/0",), **fields)


RIGHT, WRONG, OTHER = "5000", "4999", "17"  # creation/0's answer is 5000


def test_a_tie_goes_to_the_answer_that_came_first(tmp_path: Path, sandbox: Sandbox) -> None:
    answers = [WRONG, RIGHT, RIGHT, WRONG]
    model = scripted(lambda _id, i: answers[i])
    summary = evaluate(config(samples=4), tmp_path, model, sandbox)
    (record,) = ResultsFile(tmp_path / "results.jsonl").load().values()
    assert [s.prediction for s in record.samples] == answers
    assert [s.group for s in record.samples] == [0, 1, 1, 0]
    assert record.vote is not None and record.vote.chosen == 0 and record.vote.votes == 2
    assert record.prediction == WRONG and not record.correct
    assert [s.correct for s in record.samples] == [False, True, True, False]
    assert record.tokens.total == sum(s.tokens.total for s in record.samples) > 0
    assert all(s.trace and s.trace[0].stage == "creation" for s in record.samples)
    block = summary["sampling"]
    assert block["accuracy_at_k"] == 0.0 and block["pass_at_k"] == 1.0
    assert block["first_attempt_accuracy"] == 0.0 and block["attempts"] == 4
    # the vote over the first k: W -> W; W,R tie -> W; W,R,R -> R; W,R,R,W tie -> W
    assert [row["accuracy"] for row in block["by_k"]] == [0.0, 0.0, 1.0, 0.0]
    assert [vote_at(record, k)[0] for k in (1, 2, 3, 4)] == [False, False, True, False]
    # every attempt's requests are distinct: sample_index apart by attempt and round
    indexes = sorted({call.settings.sample_index for call in model.calls})
    assert indexes == [0, SAMPLE_STRIDE, 2 * SAMPLE_STRIDE, 3 * SAMPLE_STRIDE]


def test_majority_wins_and_equivalent_answers_vote_together(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    answers = [WRONG, "5000.0", RIGHT, OTHER, "5,000"]
    summary = evaluate(config(samples=5), tmp_path, scripted(lambda _, i: answers[i]), sandbox)
    (record,) = ResultsFile(tmp_path / "results.jsonl").load().values()
    assert [s.group for s in record.samples] == [0, 1, 1, 2, 1]
    assert record.vote is not None and record.vote.chosen == 1 and record.vote.votes == 3
    assert record.correct and record.prediction == "5000.0"
    assert summary["accuracy"] == 1.0 and summary["sampling"]["first_attempt_accuracy"] == 0.0


def test_the_execution_vote_counts_only_code_that_ran_cleanly(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    answers = [WRONG, f"BROKEN:{RIGHT}", f"BROKEN:{RIGHT}"]
    plan: Plan = lambda _, i: answers[i]  # noqa: E731
    majority = evaluate(config(samples=3), tmp_path / "m", scripted(plan), sandbox)
    execution = evaluate(
        config(samples=3, vote="execution"), tmp_path / "e", scripted(plan), sandbox
    )
    assert majority["accuracy"] == 1.0 and execution["accuracy"] == 0.0
    (record,) = ResultsFile(tmp_path / "e" / "results.jsonl").load().values()
    assert [s.eligible for s in record.samples] == [True, False, False]
    assert [s.rectifications for s in record.samples] == [0, 1, 1]
    assert record.vote is not None and record.vote.chosen == 0 and not record.vote.fallback
    # no clean attempt at all: every answer is counted, and the record says so
    every = [f"BROKEN:{WRONG}", f"BROKEN:{RIGHT}", f"BROKEN:{RIGHT}"]
    summary = evaluate(
        config(samples=3, vote="execution"),
        tmp_path / "f",
        scripted(lambda _, i: every[i]),
        sandbox,
    )
    (record,) = ResultsFile(tmp_path / "f" / "results.jsonl").load().values()
    assert record.vote is not None and record.vote.fallback and record.correct
    assert summary["sampling"]["fallbacks"] == 1


def test_vote_early_stops_once_the_answer_cannot_lose(tmp_path: Path, sandbox: Sandbox) -> None:
    agree = scripted(lambda _, i: RIGHT)
    summary = evaluate(config(samples=5, vote_early=True), tmp_path / "a", agree, sandbox)
    (record,) = ResultsFile(tmp_path / "a" / "results.jsonl").load().values()
    assert len(record.samples) == 3  # 3 of 5 agree: 2 more cannot outvote them
    assert record.vote is not None and record.vote.early and record.vote.k == 5
    assert summary["sampling"]["stopped_early"] == 1
    assert summary["sampling"]["attempts_per_problem"] == 3
    assert len({c.settings.sample_index for c in agree.calls}) == 3

    answers = [RIGHT, WRONG, RIGHT, RIGHT, WRONG]
    mixed = scripted(lambda _, i: answers[i])
    evaluate(config(samples=5, vote_early=True), tmp_path / "b", mixed, sandbox)
    (record,) = ResultsFile(tmp_path / "b" / "results.jsonl").load().values()
    # after R W R, two more W would make 3 > 2: go on; after R W R R, one more W cannot
    assert [s.prediction for s in record.samples] == [RIGHT, WRONG, RIGHT, RIGHT]
    assert record.vote is not None and record.vote.early and record.correct

    split = [RIGHT, WRONG, OTHER, WRONG, RIGHT]
    splits = scripted(lambda _, i: split[i])
    evaluate(config(samples=5, vote_early=True), tmp_path / "c", splits, sandbox)
    (record,) = ResultsFile(tmp_path / "c" / "results.jsonl").load().values()
    assert len(record.samples) == 5 and record.vote is not None and not record.vote.early
    assert record.vote.chosen == 0 and record.correct  # 2-2-1: the tie goes to the first


def test_attempts_are_cached_apart_and_the_first_is_a_run_of_one(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    answers = [RIGHT, WRONG, OTHER]
    inner = scripted(lambda _, i: answers[i])
    cache = tmp_path / "cache.sqlite"
    one = evaluate(config(), tmp_path / "one", CachedModel(inner, path=cache), sandbox)
    assert one["accuracy"] == 1.0
    sent_for_one = len(inner.calls)
    evaluate(config(samples=3), tmp_path / "three", CachedModel(inner, path=cache), sandbox)
    assert len(inner.calls) == 3 * sent_for_one  # attempt 0 came from the cache
    (record,) = ResultsFile(tmp_path / "three" / "results.jsonl").load().values()
    assert [s.prediction for s in record.samples] == answers
    first = record.samples[0].trace
    assert all(s.call is None or s.call.completion.cached for s in first)
    assert not any(s.call is not None and s.call.completion.cached for s in record.samples[1].trace)


def test_a_model_failure_in_one_attempt_is_the_problem_s_and_is_retried(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    failing = {"on": True}

    def respond(
        messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
    ) -> str:
        assert context is not None
        if settings.sample_index // SAMPLE_STRIDE == 2 and failing["on"]:
            raise ModelTimeoutError("the server took too long")
        return TOOL if context.stage == "creation" else decision(RIGHT)

    model = ScriptedModel(responder=respond)
    summary = evaluate(config(samples=3), tmp_path, model, sandbox)
    (record,) = ResultsFile(tmp_path / "results.jsonl").load().values()
    assert record.status == "model_error" and record.error_kind == "timeout"
    assert summary["model_errors"] == 1
    failing["on"] = False
    summary = evaluate(config(samples=3), tmp_path, model, sandbox)
    (record,) = ResultsFile(tmp_path / "results.jsonl").load().values()
    assert record.status == "answered" and len(record.samples) == 3 and record.correct
    assert summary["model_errors"] == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"samples": 0}, r"--samples must be from 1 to 100"),
        ({"vote_early": True}, r"--vote-early applies to several attempts"),
        ({"vote": "execution"}, r"--vote applies to several attempts"),
        ({"samples": 3, "vote": "execution", "method": "cot"}, r"cot runs no code"),
        ({"rectify_on": "no-answer", "method": "pot"}, r"not to pot"),
    ],
)
def test_settings_that_cannot_apply_are_refused(
    tmp_path: Path, sandbox: Sandbox, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        evaluate(config(**fields), tmp_path / "run", scripted(lambda _, i: RIGHT), sandbox)
    assert not (tmp_path / "run" / "results.jsonl").exists()


def test_sampling_settings_are_part_of_the_fingerprint_only_when_set(tmp_path: Path) -> None:
    plain = config()
    assert "samples" not in plain.fingerprint_fields()
    assert "rectify_on" not in plain.fingerprint_fields()
    assert config(samples=3).differences(plain) == ["samples"]
    assert config(samples=3, vote_early=True).differences(config(samples=3)) == ["vote_early"]


def test_the_vote_s_arithmetic() -> None:
    assert group_answers(["1/2", None, "0.5", "\\frac{1}{2}", "2"], kind="math") == [
        0,
        None,
        0,
        0,
        1,
    ]
    won = elect([0, 1, 1, 0, None], [True] * 5)
    assert (won.chosen, won.votes, won.fallback) == (0, 2, False)
    assert elect([None, None], [False, False]).chosen is None
    fell = elect([0, 1, 1], [False, False, False])
    assert (fell.chosen, fell.fallback) == (1, True)
    # settled: the leader must beat every rival plus what remains (ties to the earlier)
    assert settled([0, 0, 0], [True] * 3, remaining=2)
    assert settled([0, 0, 1], [True] * 3, remaining=1)  # 2 vs 1+1: the tie goes to the leader
    assert settled([1, 0, 0], [True] * 3, remaining=1) is False  # 2 vs 1+1, rival earlier
    assert not settled([0, 0], [True, True], remaining=3)  # a new answer could reach 3
    assert not settled([0, 0, 0], [False, False, False], remaining=1)
    assert settled([], [], remaining=0)


def test_the_summary_file_holds_the_sampling_block_with_costs(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    evaluate(config(samples=2), tmp_path, scripted(lambda _, i: RIGHT), sandbox)
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["sampling"]["k"] == 2 and saved["sampling"]["rule"] == "majority"
    assert saved["settings"]["samples"] == 2
    assert saved["sampling"]["cost"] is None  # "scripted" is in no price table
    records = list(ResultsFile(tmp_path / "results.jsonl").load().values())
    prices = PriceTable(prices={"scripted": Price(input=1.0, output=2.0, source="test")})
    block = sampling_summary(records, config=config(samples=2), prices=prices)
    first, second = records[0].samples
    usd = [(s.tokens.prompt * 1.0 + s.tokens.completion * 2.0) / 1e6 for s in (first, second)]
    assert block["cost_first_attempt"] == round(usd[0], 6)
    assert block["cost"] == round(usd[0] + usd[1], 6)
    assert block["by_k"][1]["cost_per_problem"] == round(usd[0] + usd[1], 8)


def test_a_run_of_one_attempt_resumed_with_samples_is_refused_naming_both_values(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    evaluate(config(), tmp_path, scripted(lambda _, i: RIGHT), sandbox)
    with pytest.raises(InputError, match=r"samples: 1 in the run, 3 now"):
        evaluate(config(samples=3), tmp_path, scripted(lambda _, i: RIGHT), sandbox)
