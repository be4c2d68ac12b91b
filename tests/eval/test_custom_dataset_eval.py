"""``creator eval --dataset FILE``: a 20-row GSM8K-style JSONL written here (our own word
problems, integer answers, three rows without one), solved through ``creator.cli.main.main``
and real HTTP to a loopback server, in the real sandbox; accuracy over the answered rows, the
unscored count, resume and its refusal after the file is edited, the ``text`` answer kind,
errors before any request, the reference replay's refusal, and the report and viewer."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from creator import ScriptedModel
from creator.cli.main import main
from creator.datasets import files, rows
from creator.eval import EvalConfig, run_eval
from creator.models.base import CallContext, GenerationSettings, Message
from creator.models.loopback import LoopbackServer, ServerReply
from creator.prompts import PromptSet
from creator.sandbox.base import Sandbox

PROBLEMS: list[tuple[str, int | None]] = [
    ("Mara bakes 4 trays of 12 rolls and sells 30 of them. How many rolls are left?", 18),
    ("A bus carries 38 people. At the first stop 9 get off and 14 get on. How many ride now?", 43),
    ("Ivo saves 15 euros a week for 8 weeks, then spends 47. How many euros does he keep?", 73),
    ("A garden has 6 rows of 9 tulips. A storm breaks 11 of them. How many stand?", 43),
    ("Lena reads 23 pages on Monday and twice as many on Tuesday. How many in total?", 69),
    ("A crate holds 144 eggs. 3 crates arrive and 57 eggs break. How many are whole?", 375),
    ("Tom walks 2 km to school and back each day for 5 days. How many km is that?", 20),
    ("A shop sells pens at 3 euros each. Nina buys 7 and pays with 50. What change?", 29),
    ("There are 5 boxes of 24 crayons; 16 are lost. How many crayons remain?", 104),
    ("A train has 8 cars with 56 seats each. 390 seats are taken. How many are free?", 58),
    ("Paz plants 3 trees a day for 2 weeks. How many trees has she planted?", 42),
    ("A farmer has 120 sheep and sells a quarter of them. How many are left?", 90),
    ("Ola runs 400 m laps. She runs 9 laps. How many metres did she run?", 3600),
    ("A pizza has 8 slices. 6 friends eat 2 slices each. How many pizzas were needed?", 2),
    ("Ben earns 12 euros an hour and works 35 hours. How much does he earn?", 420),
    ("A tank has 500 litres and loses 35 litres a day for 6 days. How much is left?", 290),
    ("Each of 7 shelves holds 31 books. 19 are lent out. How many books are on the shelves?", 198),
    ("A kite string is 60 m long. How long would 3 such strings be end to end?", None),
    ("Mia has some marbles and gives away 5. How many might she have had?", None),
    ("Describe a way to share 10 sweets among 3 children.", None),
]
"""Our own word problems; the last three have no answer (solved, recorded, not scored)."""
WRONG = {2, 9}
"""Rows the scripted model answers wrongly."""
ANSWERED = sum(answer is not None for _, answer in PROBLEMS)


def write_problems(path: Path) -> Path:
    lines = []
    for i, (question, answer) in enumerate(PROBLEMS):
        row: dict[str, Any] = {"id": f"gsm-{i + 1}", "question": question}
        if answer is not None:
            row["answer"] = f"Worked solution omitted.\n#### {answer}" if i % 2 else answer
        elif i == len(PROBLEMS) - 1:
            row["answer"] = ""  # an empty cell: unanswered too
        lines.append(json.dumps(row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def program_for(prompt: str) -> str:
    """A program printing this row's answer (off by one on the rows in WRONG)."""
    for i, (question, answer) in enumerate(PROBLEMS):
        if question in prompt:
            value = (answer or 7) + (1 if i in WRONG else 0)
            return f"```python\nprint('Final Answer:', {value})\n```"
    return "ok"  # the endpoint check


def server() -> LoopbackServer:
    return LoopbackServer(
        responder=lambda body: ServerReply(content=program_for(body["messages"][-1]["content"]))
    )


def chat_requests(live: LoopbackServer) -> list[dict[str, Any]]:
    return [body for body in live.requests if "messages" in body]


def evaluate(url: str, dataset: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "eval", "--dataset", str(dataset), "--method", "pot", "--model", "test-model",
            "--base-url", url, "--no-cache", "--workers", "1", "--out", str(out), *extra,
        ]
    )  # fmt: skip


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("creator: error: ")
    return err[0]


def test_a_gsm8k_style_file_is_scored_over_its_answered_rows_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_problems(tmp_path / "gsm.jsonl")
    out = tmp_path / "run"
    with server() as live:
        assert evaluate(live.url, data, out) == 0
        table = " ".join(capsys.readouterr().out.split())
        summary = json.loads((out / "summary.json").read_text())
        assert summary["dataset"] == "gsm.jsonl"
        assert (summary["n"], summary["unscored"], summary["correct"]) == (20, 3, ANSWERED - 2)
        assert summary["accuracy"] == round((ANSWERED - 2) / ANSWERED, 4) == 0.8824
        assert summary["status"] == {"answered": 20}
        assert "accuracy (strict) │ 88.2%" in table
        assert "unscored (no answer given) │ 3: accuracy is over 17" in table
        records = {
            r["id"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())
        }
        assert set(records) == {f"gsm.jsonl/gsm-{i}" for i in range(1, 21)}
        assert records["gsm.jsonl/gsm-2"]["target"] == "43"  # read after "####"
        free = records["gsm.jsonl/gsm-20"]
        assert free["target"] is None and free["prediction"] == "7" and free["correct"] is False
        assert [records[f"gsm.jsonl/gsm-{i + 1}"]["correct"] for i in sorted(WRONG)] == [
            False,
            False,
        ]
        config = json.loads((out / "config.json").read_text())
        assert config["dataset_path"] == str(data.resolve())
        assert config["answer_kind"] == "numeric" and config["dataset_fields"] == {}
        prompt = chat_requests(live)[-1]["messages"][-1]["content"]
        generic = PromptSet.builtin().texts["examples/generic/pot"].strip().splitlines()[1]
        assert generic in prompt  # a file's problems get the generic demonstrations
        sent = len(chat_requests(live))

        assert evaluate(live.url, data, out) == 0  # resumes: nothing left to do
        assert len(chat_requests(live)) == sent
        assert json.loads((out / "summary.json").read_text())["resumed_from"] == 20
        moved = tmp_path / "elsewhere" / "gsm.jsonl"
        moved.parent.mkdir()
        shutil.copy(data, moved)
        assert evaluate(live.url, moved, out) == 0  # the same content elsewhere resumes too
        assert len(chat_requests(live)) == sent
        capsys.readouterr()

        data.write_text(data.read_text().replace('"answer": 18', '"answer": 19'))
        assert evaluate(live.url, data, out) == 2  # an edited file is another run
        assert "different settings (dataset_sha256: " in error_line(capsys)
        assert len(chat_requests(live)) == sent

    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    assert "gsm.jsonl" in (tmp_path / "report" / "report.md").read_text()
    assert main(["view", str(out)]) == 0
    assert (out / "view.html").stat().st_size > 0


def test_text_answers_and_a_file_without_any_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    said = {"France": "'paris.'", "Japan": "'  TOKYO'", "Kenya": "'Nairobi'", "Peru": "'Cusco'"}

    def reply(body: dict[str, Any]) -> ServerReply:
        prompt = body["messages"][-1]["content"]
        name = next((c for c in said if f"capital of {c}?" in prompt), None)
        if name is None:
            return ServerReply(content="```python\nprint('Final Answer:', 12)\n```")
        return ServerReply(content=f"```python\nprint('Final Answer:', {said[name]})\n```")

    questions = tmp_path / "capitals.csv"
    questions.write_text(
        "prompt,expected\n"
        "What is the capital of France?,Paris\n"
        "What is the capital of Japan?,Tokyo\n"
        "What is the capital of Kenya?,Nairobi\n"
        "What is the capital of Peru?,Lima\n",
        encoding="utf-8",
    )
    with LoopbackServer(responder=reply) as live:
        text = ("--field", "question=prompt", "--field", "answer=expected")
        assert evaluate(live.url, questions, tmp_path / "text", *text, "--answer-kind", "text") == 0
        summary = json.loads((tmp_path / "text" / "summary.json").read_text())
        assert (summary["accuracy"], summary["unscored"]) == (0.75, 0)
        assert summary["settings"]["answer_kind"] == "text"
        assert summary["scorings_differ"] is False  # text has no lenient rule

        open_ended = tmp_path / "open.jsonl"
        open_ended.write_text(
            '{"question": "Pick a number from 1 to 20."}\n{"question": "And another one?"}\n'
        )
        capsys.readouterr()
        assert evaluate(live.url, open_ended, tmp_path / "open") == 0
        table = " ".join(capsys.readouterr().out.split())
        summary = json.loads((tmp_path / "open" / "summary.json").read_text())
        assert (summary["n"], summary["unscored"], summary["accuracy"]) == (2, 2, None)
        assert "accuracy (strict) │ n/a" in table


def refused_before_any_request(
    cases: list[tuple[Sequence[str], str]], out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each ``((dataset, *options), message)`` ends ``eval`` with exit 2 and ``message``, with
    nothing written in ``out`` and no chat request sent."""
    with server() as live:
        for (dataset, *extra), message in cases:
            assert evaluate(live.url, Path(dataset), out, *extra) == 2
            assert message in error_line(capsys)
            assert not out.exists()
        assert chat_requests(live) == []


def test_bad_files_and_options_stop_before_any_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_problems(tmp_path / "gsm.jsonl")
    broken = tmp_path / "broken.jsonl"
    broken.write_text(data.read_text().replace('"id": "gsm-7", ', '"id": "gsm-7" '))
    duplicate = tmp_path / "dup.jsonl"
    duplicate.write_text(data.read_text().replace('"gsm-12"', '"gsm-3"'))
    cases: list[tuple[Sequence[str], str]] = [
        ((str(broken),), f"{broken}:7: not valid JSON: Expecting ',' delimiter"),
        ((str(duplicate),), f"{duplicate}:12: duplicate id 'gsm-3' (first at {duplicate}:3)"),
        ((str(data), "--field", "answer=solution"), "no row has the column 'solution'"),
        ((str(data), "--field", "title=question"), "unknown field 'title'"),
        (("gsm8k",), "unknown dataset 'gsm8k': choose from math, tabmwp, creation, transfer"),
        ((str(tmp_path / "none.jsonl"),), f"{tmp_path / 'none.jsonl'}: no such file"),
        (("tabmwp", "--answer-kind", "text"), "--answer-kind applies to your own dataset file"),
        ((str(data), "--hint", "utility"), "--hint applies to the Creation Challenge"),
    ]
    out = tmp_path / "never"
    refused_before_any_request(cases, out, capsys)
    assert main(["eval", "--dataset", str(data), "--model", "reference", "--out", str(out)]) == 2
    assert "the reference replay has no recorded solutions for gsm.jsonl" in error_line(capsys)


def test_pipes_devices_and_text_no_request_carries_stop_before_any_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_problems(tmp_path / "gsm.jsonl")
    pipe = tmp_path / "pipe.jsonl"
    os.mkfifo(pipe)  # opened for reading, it would block for ever
    zero = tmp_path / "zero.jsonl"
    zero.symlink_to("/dev/zero")  # read whole, it would fill the memory
    odd = tmp_path / "odd.jsonl"  # used to fail with exit 3 when its record was written
    odd.write_text(data.read_text().replace('"id": "gsm-4"', '"subject": "\\ud800", "id": "gsm-4"'))
    cases: list[tuple[Sequence[str], str]] = [
        ((str(pipe),), f"{pipe}: not a regular file (a named pipe)"),
        ((str(zero),), f"{zero}: not a regular file (a character device)"),
        ((str(data), "--examples", str(pipe)), f"examples file {pipe}: not a regular file"),
        ((str(data), "--examples", str(zero)), f"examples file {zero}: not a regular file"),
        ((str(odd),), f"{odd}:4: the subject (column 'subject') is not valid UTF-8 text"),
    ]
    refused_before_any_request(cases, tmp_path / "never", capsys)


def test_eval_reads_a_settled_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_problems(tmp_path / "gsm.jsonl")
    reads: list[Path] = []

    def counted(where: Path, *, shown: str | None = None) -> rows.Rows:
        reads.append(where)
        return rows.read_rows(where, shown=shown)

    monkeypatch.setattr(files, "read_rows", counted)
    monkeypatch.setattr(rows, "SETTLE_NS", 0)  # as if written long before the run
    with server() as live:
        assert evaluate(live.url, data, tmp_path / "run", "--limit", "2") == 0
    assert reads == [data]  # the command's read; the run took what it read
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["dataset_path"] == str(data.resolve()) and saved["dataset_sha256"]


def test_the_creator_method_on_a_file_from_the_library(tmp_path: Path, sandbox: Sandbox) -> None:
    """Through ``run_eval`` with the scripted model: tool, then decision; the run fills in the
    file's hash when the config leaves it out."""
    data = write_problems(tmp_path / "gsm.jsonl")
    answers = {question: answer for question, answer in PROBLEMS}

    def respond(
        messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
    ) -> str:
        assert context is not None and context.problem.metadata["dataset"] == "custom"
        if context.stage == "creation":
            tool = 'def echo(value: int) -> int:\n    """The value."""\n    return value'
            return f"```python\n{tool}\n```"
        value = answers[context.problem.question] or 0
        return f"```python\nprint('Final Answer:', echo({value}))\n```"

    config = EvalConfig(dataset="gsm.jsonl", dataset_path=str(data), model="scripted", limit=6)
    summary = asyncio.run(
        run_eval(config, out_dir=tmp_path / "run", model=ScriptedModel(responder=respond),
                 sandbox=sandbox, concurrency=3)
    )  # fmt: skip
    assert (summary["n"], summary["accuracy"], summary["unscored"]) == (6, 1.0, 0)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["dataset_sha256"] and saved["answer_kind"] == "numeric"


def test_the_dataset_file_is_hidden_from_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It holds the answers: jobs must not see it even where it lies under a bound directory."""
    import creator.sandbox
    from creator.errors import SandboxError

    seen: list[list[str]] = []

    def record(level: str, **options: Any) -> None:
        seen.append([str(path) for path in options["hide"]])
        raise SandboxError("stop here")

    monkeypatch.setattr(creator.sandbox, "make_sandbox", record)
    data = write_problems(tmp_path / "gsm.jsonl")
    out = tmp_path / "run"
    assert main(["eval", "--dataset", str(data), "--model", "reference", "--out", str(out)]) == 2
    assert seen == [[str(out), str(data.resolve())]]
