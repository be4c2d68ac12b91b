"""``creator eval --max-tokens-total N`` / ``--max-cost USD`` as a user runs them: one line
saying what stopped the run, exit status 4, a resume that sends nothing with the same budget
and finishes with a larger one; bad values refused in one line.

The loopback server reports 10 prompt and 5 completion tokens per reply, and a ``pot``
problem makes one request: 15 tokens a problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from creator.cli.budget_args import BUDGET_EXIT_STATUS
from creator.cli.main import main
from creator.models.loopback import LoopbackServer, ServerReply
from tests.cli.test_exit_status import PROGRAM, evaluate


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    assert err[0].startswith("creator: error: ")
    return err[0]


def test_a_token_budget_stops_with_status_4_and_resumes_with_a_larger_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = {"count": 0}

    def reply(body: dict[str, Any]) -> ServerReply:
        served["count"] += 1
        return ServerReply(content=PROGRAM)

    out = tmp_path / "run"
    with LoopbackServer(reply) as server:
        assert main(evaluate(server.url, out, "--max-tokens-total", "40")) == BUDGET_EXIT_STATUS
        assert served["count"] == 4  # the endpoint check, then 15 + 15 + 15 >= 40
        text = " ".join(capsys.readouterr().out.split())
        assert (
            "token budget reached: 45 tokens spent of --max-tokens-total 40 (5 over: problems "
            "already started were finished); 3 of 4 problems done and kept: run the same "
            "command with a larger --max-tokens-total to go on"
        ) in text
        assert "stopped the run: 3 of 4 problems done" in text  # the table's row
        summary = json.loads((out / "summary.json").read_text())
        assert summary["budget"]["stopped"] is True and summary["n"] == 3

        assert main(evaluate(server.url, out, "--max-tokens-total", "40")) == BUDGET_EXIT_STATUS
        assert served["count"] == 4  # the same budget: no request at all, not even the check
        assert "3 of 4 problems done and kept" in " ".join(capsys.readouterr().out.split())

        assert main(evaluate(server.url, out, "--max-tokens-total", "1000")) == 0
        assert served["count"] == 6  # the check and the one problem left
    records = (out / "results.jsonl").read_text().splitlines()
    assert len(records) == 4 and len({json.loads(r)["id"] for r in records}) == 4


def test_a_cost_budget_with_a_price(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with LoopbackServer(lambda body: ServerReply(content=PROGRAM)) as server:
        price = ("--price", "test-model=1000,2000")  # $0.02 a problem
        argv = evaluate(server.url, tmp_path / "run", "--max-cost", "0.05", *price)
        assert main(argv) == BUDGET_EXIT_STATUS
    text = " ".join(capsys.readouterr().out.split())
    assert "cost budget reached: $0.06 spent of --max-cost 0.05" in text
    assert "larger --max-cost to go on" in text
    block = json.loads((tmp_path / "run" / "summary.json").read_text())["budget"]
    assert block["spent_cost"] == pytest.approx(0.06) and block["max_cost"] == 0.05


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (("--max-tokens-total", "0"), "--max-tokens-total must be a positive whole number"),
        (("--max-tokens-total", "2.5"), "--max-tokens-total must be a positive whole number"),
        (("--max-cost", "-1"), "--max-cost must be a positive amount of USD, not '-1'"),
        (("--max-cost", "nan"), "--max-cost must be a positive amount of USD, not 'nan'"),
        (("--max-cost", "lots"), "--max-cost must be a positive amount of USD, not 'lots'"),
        (("--max-cost", "1"), "needs a price for test-model: pass --price test-model=IN,OUT"),
        (("--price", "test-model=1,2"), "--price prices a budget"),
        (("--max-cost", "1", "--price", "test-model=1"), "expected MODEL=IN,OUT"),
    ],
)
def test_bad_budget_options_are_one_line_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...], words: str
) -> None:
    out = tmp_path / "run"
    assert main(evaluate("http://127.0.0.1:9/v1", out, *extra)) == 2
    assert words in error_line(capsys)
    assert not out.exists()


def test_a_cost_budget_is_refused_with_the_reference_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    argv = ["eval", "--dataset", "creation", "--model", "reference", "--limit", "1"]
    assert main([*argv, "--max-cost", "1", "--out", str(out)]) == 2
    assert "does not apply to the reference replay" in error_line(capsys)
    assert not out.exists()
