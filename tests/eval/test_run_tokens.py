"""One definition of a run's tokens: the progress display, ``summary.json`` and ``creator
report`` agree, on a Tool Transfer run (two arms) that is resumed after model failures."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

from creator.cli.main import main
from creator.errors import ModelResponseError
from creator.eval import ResultsFile, run_eval
from creator.eval.progress import Progress
from creator.eval.records import ProblemRecord, Tokens
from creator.eval.tokens import RunTokens, run_tokens
from creator.models.base import CallContext
from creator.sandbox.base import Sandbox
from tests.eval.test_transfer import Reply, scripted, transfer_config

FAILING = {("transfer/0/3", "decision", False), ("transfer/1/1", "decision", False)}
"""(problem, stage, transfer arm): the calls that fail on the first run."""


def evaluate(out: Path, sandbox: Sandbox, *, fail: bool) -> tuple[Progress, dict[str, object]]:
    """A transfer run over groups 0 and 1; the last progress it reported and its summary."""

    def rule(context: CallContext, prompt: str) -> Reply | None:
        problem = context.problem.id
        transfer = f"tool_{problem.split('/')[1]}_1(" in prompt and not problem.endswith("/1")
        if fail and (problem, context.stage, transfer) in FAILING:
            return ModelResponseError("the server dropped the connection")
        return None

    shown: list[Progress] = []
    summary = asyncio.run(
        run_eval(
            transfer_config(),
            out_dir=out,
            model=scripted(rule),
            sandbox=sandbox,
            concurrency=3,
            on_start=shown.append,
            on_record=lambda _record, progress: shown.append(progress),
        )
    )
    return shown[-1], summary


def reported_tokens(run: Path, out: Path) -> int:
    assert main(["report", str(run), "--out", str(out), "--format", "svg"]) == 0
    with (out / "costs.csv").open(newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    return int(row["tokens"])


def test_progress_summary_and_report_count_the_same_tokens_across_a_resume(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    run = tmp_path / "run"
    first, summary = evaluate(run, sandbox, fail=True)
    records = ResultsFile(run / "results.jsonl").load()
    failed = {k for k, r in records.items() if r.status == "model_error"}
    assert failed == {"transfer/0/3@control", "transfer/1/1@control"}
    assert records["transfer/0/3@control"].tokens.total > 0  # its creation call counted
    assert "transfer/1/2@transfer" not in records  # left for the next run (no tool yet)
    transfer_arm = sum(r.tokens.total for r in records.values() if r.arm == "transfer")
    assert transfer_arm > 0
    tokens = summary["tokens"]
    assert isinstance(tokens, dict)
    assert first.tokens == tokens["total"] == reported_tokens(run, tmp_path / "report1")
    assert first.tokens == sum(r.tokens.total for r in records.values())  # both arms

    second, summary = evaluate(run, sandbox, fail=False)
    assert second.skipped == 6 and second.done == second.total == 10
    records = ResultsFile(run / "results.jsonl").load()
    assert all(r.status != "model_error" for r in records.values())
    lines = (run / "results.jsonl").read_text().splitlines()
    assert len(lines) == len(records) + 2  # the two failures' lines stay, superseded
    tokens = summary["tokens"]
    assert isinstance(tokens, dict)
    assert second.tokens == tokens["total"] == reported_tokens(run, tmp_path / "report2")
    assert second.tokens == sum(r.tokens.total for r in records.values())
    assert json.loads((run / "summary.json").read_text())["tokens"] == tokens

    third, _ = evaluate(run, sandbox, fail=False)  # nothing left: the start says it all
    assert (third.done, third.skipped, third.tokens) == (10, 10, second.tokens)


def record(key: str, total: int, *, arm: str | None = None) -> ProblemRecord:
    return ProblemRecord.model_validate(
        {
            "id": key, "dataset": "transfer", "method": "creator", "model": "m",
            "status": "answered", "prediction": None, "target": None, "correct": False,
            "correct_strict": False, "correct_paper": False, "arm": arm,
            "tokens": {"prompt": total - 1, "completion": 1, "total": total, "reasoning": 1},
        }
    )  # fmt: skip


def test_a_later_record_of_the_same_key_replaces_the_earlier_one() -> None:
    tally = RunTokens([record("a", 10), record("b", 5, arm="control")])
    tally.keep(record("b", 7, arm="transfer"))  # another arm: another key
    tally.keep(record("a", 3))  # the retried problem's new record
    assert tally.tokens == Tokens(prompt=12, completion=3, total=15, reasoning=3)
    assert run_tokens([record("a", 10), record("a", 3)]) == Tokens(
        prompt=2, completion=1, total=3, reasoning=1
    )


def test_running_accuracy_leaves_out_rows_without_an_answer() -> None:
    from creator.eval.progress import Tally
    from creator.eval.records import ProblemRecord

    def record(key: str, *, correct: bool, target: str | None) -> ProblemRecord:
        return ProblemRecord(
            id=key, dataset="gsm", method="pot", model="m", status="answered",
            prediction="1", target=target, correct=correct, correct_strict=correct,
            correct_paper=correct,
        )  # fmt: skip

    tally = Tally(total=3, keys=["a", "b", "c"], records=[])
    for rec in (
        record("a", correct=True, target="1"),
        record("b", correct=False, target="2"),
        record("c", correct=False, target=None),
    ):
        tally.keep(rec)
        progress = tally.finished(rec)
    assert (progress.done, progress.unscored, progress.accuracy) == (3, 1, 0.5)
