"""The trace viewer's file, without a browser: what it embeds, how safely, and what it refuses.

The page itself is driven in real Chromium in ``test_viewer_browser.py``.
"""

from __future__ import annotations

import asyncio
import base64
import difflib
import hashlib
import json
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, get_args

import pytest

from creator.answers import is_equivalent
from creator.cli import main
from creator.errors import InputError, OutputError
from creator.eval import EvalConfig, ProblemRecord
from creator.eval.records import SampleRecord, Tokens, Vote, VoteRule
from creator.eval.voting import elect, group_answers
from creator.models.base import Completion, GenerationSettings, Message, Usage
from creator.models.scripted import ScriptedModel
from creator.report.viewer import category, embed_json, write_view
from creator.sandbox.base import ExecResult
from creator.trace import ModelCall, Step, StepStage

HOSTILE = "</script><script>window.pwned=1</script><!-- <img src=x onerror=alert(1)> \u2028&amp;"
SYSTEM = "You are a careful Python engineer. " * 4
DEMO = "Problem: a demonstration shared by every prompt, long enough to be stored once."


def call(user: str, reply: str) -> ModelCall:
    return ModelCall(
        messages=[Message(role="system", content=SYSTEM), Message(role="user", content=user)],
        completion=Completion(text=reply, usage=Usage(prompt_tokens=50, completion_tokens=9)),
    )


def record(
    problem_id: str,
    *,
    status: str = "answered",
    correct: bool = True,
    rectifications: int = 0,
    trace: list[Step] | None = None,
    arm: str | None = None,
) -> ProblemRecord:
    data: dict[str, Any] = {
        "id": problem_id,
        "dataset": "creation",
        "method": "creator",
        "model": "scripted",
        "status": status,
        "prediction": "42" if status == "answered" else None,
        "target": "42",
        "correct": correct,
        "correct_strict": correct,
        "correct_paper": correct,
        "rectifications": rectifications,
        "trace": trace or [],
        "arm": arm,
    }
    return ProblemRecord.model_validate(data)


def repaired_trace() -> list[Step]:
    """Creation retried once, a failing decision, one repair that works."""
    tool_v1 = "def half(x):\n    return x / 0\n"
    tool_v2 = "def half(x):\n    return x / 2\n"
    broken = "print('Final Answer:', half(84) + y)\n"
    fixed = "y = 0\nprint('Final Answer:', half(84) + y)\n"
    failed = ExecResult(
        exit_code=1,
        traceback="Traceback:\n  File \"decision\", line 1\nNameError: name 'y' is not defined",
    )
    return [
        Step(stage="creation", call=call(f"{DEMO}\n\nMake a tool", tool_v1), code=tool_v1),
        Step(stage="creation", round=1, call=call(f"{DEMO}\n\nAgain", tool_v2), code=tool_v2),
        Step(stage="decision", call=call(f"{DEMO}\n\nDecide", broken), code=broken),
        Step(stage="execution", code=broken, execution=failed, error=failed.error),
        Step(stage="rectification", round=1, call=call(f"{DEMO}\n\nRepair", fixed), code=fixed),
        Step(
            stage="execution",
            round=1,
            code=fixed,
            execution=ExecResult(stdout="Final Answer: 42.0\n"),
            answer="42.0",
        ),
    ]


def make_run(
    path: Path, records: list[ProblemRecord], *, torn: bytes = b"", **settings: object
) -> Path:
    """A run of ``records``; ``settings`` are further config fields (``samples=5``)."""
    path.mkdir(parents=True, exist_ok=True)
    config = EvalConfig.model_validate({"dataset": "creation", "model": "scripted", **settings})
    (path / "config.json").write_text(config.model_dump_json())
    lines = "".join(r.model_dump_json() + "\n" for r in records)
    (path / "results.jsonl").write_bytes(lines.encode() + torn)
    return path


def embedded(html: str, name: str) -> str:
    """The text of the page's ``<script type="application/json" id=name>`` element."""
    match = re.search(f'<script type="application/json" id="{name}">(.*?)</script>', html, re.S)
    assert match is not None, name
    return match.group(1)


def page_parts(html: str) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    """The embedded run info, the detail of every problem, and the shared-text table."""

    def script(name: str) -> str:
        return embedded(html, name)

    details = [json.loads(line) for line in script("detail-data").splitlines() if line]
    return json.loads(script("run-data")), details, json.loads(script("shared-data"))


def text_of(content: str | list[int | str], shared: list[str]) -> str:
    """What the page does to show a prompt (see ``resolve`` in viewer.js)."""
    if isinstance(content, str):
        return content
    return "\n\n".join(shared[p] if isinstance(p, int) else p for p in content)


def test_categories_follow_the_filters_definition() -> None:
    assert category(record("a")) == "correct"
    assert category(record("a", status="no_answer", correct=False)) == "wrong"
    assert category(record("a", correct=False)) == "wrong"
    for status in ("execution_error", "creation_failed", "model_error"):
        assert category(record("a", status=status, correct=False)) == "error"


def test_embedded_json_cannot_close_its_script_element() -> None:
    value = {"reply": HOSTILE, "k\u2029": "</SCRIPT >"}
    text = embed_json(value)
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert text.isascii()
    assert json.loads(text) == value


def test_the_page_embeds_every_problem_safely_and_shares_prompt_text(tmp_path: Path) -> None:
    hostile = [Step(stage="decision", call=call(f"{DEMO}\n\n{HOSTILE}", HOSTILE), code=HOSTILE)]
    records = [record("creation/10", trace=hostile), record("creation/2", trace=repaired_trace())]
    view = write_view(make_run(tmp_path / "run", records))
    html = view.path.read_text(encoding="utf-8")
    assert view.path == tmp_path / "run" / "view.html" and view.problems == 2
    assert len(re.findall("<script", html, re.I)) == 5  # 4 data elements and the page's code
    assert "pwned" in html and "window.pwned=1</script>" not in html
    assert "<!-- <img" not in html and "<img" not in html
    info, details, shared = page_parts(html)
    assert [d["key"] for d in details] == ["creation/2", "creation/10"]  # natural order
    expected = {"all": 2, "correct": 2, "wrong": 0, "error": 0, "unscored": 0, "rectified": 0}
    assert info["counts"] == expected
    assert SYSTEM in shared and DEMO in shared  # stored once, not in each detail line
    assert all(SYSTEM not in json.dumps(d) for d in details)
    for detail, original in zip(details, [records[1], records[0]], strict=True):
        for step, source in zip(detail["steps"], original.trace, strict=True):
            if source.call is not None:
                shown = [text_of(m["content"], shared) for m in step["messages"]]
                assert shown == [m.content for m in source.call.messages]
                assert step["reply"] == source.call.completion.text
    assert details[1]["steps"][0]["code"] == HOSTILE


def test_rectifications_and_creation_retries_carry_a_unified_diff(tmp_path: Path) -> None:
    trace = repaired_trace()
    view = write_view(make_run(tmp_path, [record("creation/1", trace=trace, rectifications=1)]))
    _, [detail], _ = page_parts(view.path.read_text())
    steps = detail["steps"]
    assert [s["stage"] for s in steps] == [
        "creation", "creation", "decision", "execution", "rectification", "execution",
    ]  # fmt: skip
    retry, repair = steps[1], steps[4]
    assert retry["diff_of"] == "creation" and "-    return x / 0" in retry["diff"]
    assert repair["diff_of"] == "decision"
    expected = difflib.unified_diff(
        str(trace[2].code).splitlines(),
        str(trace[4].code).splitlines(),
        fromfile="decision",
        tofile="rectification 1",
        lineterm="",
    )
    assert repair["diff"] == "\n".join(expected)
    assert "+y = 0" in repair["diff"]
    # an execution runs the code shown just above it: named, not embedded twice
    assert steps[3]["ran"] == "decision" and "code" not in steps[3]
    assert steps[5]["ran"] == "rectification 1"
    assert steps[3]["exec"]["traceback"].endswith("NameError: name 'y' is not defined")
    assert "diff" not in steps[0] and "diff" not in steps[2]


def test_the_content_security_policy_allows_only_the_page_itself(tmp_path: Path) -> None:
    html = write_view(make_run(tmp_path, [record("creation/1")])).path.read_text()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    policy = csp.group(1).replace("&#x27;", "'")
    assert "default-src 'none'" in policy and "http" not in policy
    code = re.search(r"<script>(.*)</script>", html, re.S)
    assert code is not None
    digest = base64.b64encode(hashlib.sha256(code.group(1).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing from the net


def test_the_run_is_only_read_even_with_a_torn_last_line(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", [record("creation/1")], torn=b'{"id": "creation/2", "da')
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    out = tmp_path / "elsewhere.html"
    view = write_view(run, out=out)
    assert view.path == out and out.is_file() and view.problems == 1
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "does not exist"),
        ("file", "is a file"),
        ("no-config", "no config.json"),
        ("no-results", "no results yet"),
        ("empty", "no results yet"),
        ("corrupt", "corrupt line"),
    ],
)
def test_unusable_runs_are_input_errors(tmp_path: Path, setup: str, message: str) -> None:
    run = tmp_path / "run"
    if setup == "file":
        run.write_text("x")
    elif setup != "missing":
        make_run(run, [record("creation/1")])
        results = run / "results.jsonl"
        if setup == "no-config":
            (run / "config.json").unlink()
        elif setup == "no-results":
            results.unlink()
        elif setup == "empty":
            results.write_text("")
        elif setup == "corrupt":
            results.write_bytes(b"{not json\n" + results.read_bytes())
    with pytest.raises(InputError, match=message):
        write_view(run)
    assert not (run / "view.html").exists()


def test_an_unwritable_output_is_an_output_error(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", [record("creation/1")])
    with pytest.raises(OutputError, match="cannot write"):
        write_view(run, out=tmp_path / "no" / "such" / "dir" / "view.html")


def test_the_command_prints_the_file_and_its_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = make_run(tmp_path / "run", [record("creation/1"), record("creation/2", correct=False)])
    assert main.main(["view", str(run)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(str(run / "view.html")) and "2 problems" in out[0]
    assert out[1] == (run / "view.html").resolve().as_uri()
    assert main.main(["view", str(run), "--out", str(tmp_path / "v.html")]) == 0
    assert (tmp_path / "v.html").is_file()


def test_the_command_reports_a_bad_run_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main.main(["view", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("creator: error: ")


HOSTILE_REASONING = "</details><script>alert(1)</script><details open>"


def thinking_completion() -> Completion:
    """A reply with an inline ``<think>`` section, split as a real endpoint's would be."""
    model = ScriptedModel(["<think>plan: ```python\nx=1\n```</think>\nFinal answer text"])
    messages = [Message(role="user", content="Think first.")]
    reply = model.generate(messages, settings=GenerationSettings())
    with ThreadPoolExecutor(1) as thread:  # a caller's loop (playwright's) may run in this one
        return thread.submit(asyncio.run, reply).result()


def reasoning_call(
    reasoning: str, *, text: str = "Final Answer: 42", tokens: int = 0, **fields: Any
) -> ModelCall:
    usage = Usage(prompt_tokens=50, completion_tokens=tokens + 9, reasoning_tokens=tokens)
    completion = Completion(text=text, reasoning=reasoning, usage=usage, **fields)
    return ModelCall(messages=[Message(role="user", content="Decide")], completion=completion)


def test_reasoning_is_embedded_apart_from_the_reply(tmp_path: Path) -> None:
    completion = thinking_completion()
    assert completion.reasoning == "plan: ```python\nx=1\n```"
    assert completion.text == "Final answer text"
    scripted = ModelCall(messages=[Message(role="user", content="Think")], completion=completion)
    trace = [
        Step(stage="decision", call=scripted, code="print(1)"),
        Step(stage="rectification", round=1, call=reasoning_call("thought", tokens=812)),
        Step(stage="creation", call=call("plain", "no thinking here")),
    ]
    view = write_view(make_run(tmp_path, [record("creation/1", trace=trace)]))
    _, [detail], _ = page_parts(view.path.read_text())
    first, second, plain = detail["steps"]
    assert first["reasoning"] == {"text": completion.reasoning, "chars": 23}
    assert first["reply"] == "Final answer text"
    assert second["reasoning"] == {"text": "thought", "chars": 7, "tokens": 812}
    assert second["usage"] == [50, 821, 812]  # reasoning is part of the completion tokens
    assert "reasoning" not in plain and plain["usage"] == [50, 9]


def test_hostile_reasoning_cannot_leave_its_text(tmp_path: Path) -> None:
    trace = [Step(stage="decision", call=reasoning_call(HOSTILE_REASONING + HOSTILE))]
    html = write_view(make_run(tmp_path, [record("creation/1", trace=trace)])).path.read_text()
    assert "</details>" not in html and "<details" not in html  # the page builds its own folds
    assert "alert(1)</script>" not in html and "window.pwned=1</script>" not in html
    assert len(re.findall("<script", html, re.I)) == 5
    _, [detail], _ = page_parts(html)
    assert detail["steps"][0]["reasoning"]["text"] == HOSTILE_REASONING + HOSTILE


def test_long_reasoning_keeps_its_start_and_end_and_says_what_is_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head, middle, tail = "S" * 7_500, "M" * 90_000, "E" * 2_500
    trace = [Step(stage="decision", call=reasoning_call(head + middle + tail, tokens=25_000))]
    run = make_run(tmp_path / "run", [record("creation/1", trace=trace)])
    view = write_view(run)
    [step] = page_parts(view.path.read_text())[1][0]["steps"]
    assert step["reasoning"] == {
        "text": head, "omitted": 90_000, "tail": tail, "chars": 100_000, "tokens": 25_000,
    }  # fmt: skip
    whole = write_view(run, out=tmp_path / "all.html", reasoning_chars=0)
    [step] = page_parts(whole.path.read_text())[1][0]["steps"]
    assert step["reasoning"]["text"] == head + middle + tail and "omitted" not in step["reasoning"]
    assert whole.size_bytes - view.size_bytes > 89_000  # the middle is not in the page
    assert (
        main.main(["view", str(run), "--out", str(tmp_path / "v.html"), "--reasoning-chars", "400"])
        == 0
    )
    [step] = page_parts((tmp_path / "v.html").read_text())[1][0]["steps"]
    assert (len(step["reasoning"]["text"]), len(step["reasoning"]["tail"])) == (300, 100)
    assert step["reasoning"]["omitted"] == 100_000 - 400
    capsys.readouterr()
    assert main.main(["view", str(run), "--reasoning-chars", "-1"]) == 2
    assert "--reasoning-chars" in capsys.readouterr().err


def test_a_cut_off_reply_says_why_and_queue_time_is_kept(tmp_path: Path) -> None:
    cut = reasoning_call(
        "still thinking",
        text="",
        tokens=4000,
        finish_reason="length",
        cut_off="max_tokens",
        latency_s=12.3456,
        queue_s=3.21,
    )
    trace = [Step(stage="decision", call=cut, error="no code")]
    view = write_view(make_run(tmp_path, [record("creation/1", trace=trace)]))
    [step] = page_parts(view.path.read_text())[1][0]["steps"]
    assert step["cut_off"] == cut.completion.cut_off_message()
    assert "while the model was still reasoning" in step["cut_off"]
    assert (step["latency"], step["queue"]) == (12.346, 3.21)
    plain = write_view(make_run(tmp_path / "b", [record("creation/1", trace=repaired_trace())]))
    for step in page_parts(plain.path.read_text())[1][0]["steps"]:
        assert "cut_off" not in step and "queue" not in step


@pytest.mark.skipif("program" not in get_args(StepStage), reason="no 'program' stage yet")
def test_the_program_of_pot_is_the_code_its_execution_ran(tmp_path: Path) -> None:
    code = "print('Final Answer:', 42)\n"
    trace = [
        Step.model_validate({"stage": "program", "call": call("Write", code), "code": code}),
        Step(stage="execution", code=code, execution=ExecResult(stdout="Final Answer: 42\n")),
    ]
    view = write_view(make_run(tmp_path, [record("creation/1", trace=trace)]))
    program, execution = page_parts(view.path.read_text())[1][0]["steps"]
    assert program["stage"] == "program" and program["code"] == code
    assert execution["ran"] == "program" and "code" not in execution


QUESTION = "The question every attempt is asked, long enough to be stored only once."


def attempt_trace(answer: str | None, *, reply: str = "Here is the code.") -> list[Step]:
    """Creation, decision and one execution that prints ``answer`` (None: it fails)."""
    tool = "def f(x):\n    return x\n"
    code = f"print('Final Answer:', {answer!r})\n" if answer is not None else "print(1 / 0)\n"
    failed = ExecResult(exit_code=1, traceback="ZeroDivisionError: division by zero")
    ran = ExecResult(stdout=f"Final Answer: {answer}\n") if answer is not None else failed
    return [
        Step(stage="creation", call=call(f"{DEMO}\n\n{QUESTION}", tool), code=tool),
        Step(stage="decision", call=call(f"{DEMO}\n\n{QUESTION}\n\nDecide", reply), code=code),
        Step(stage="execution", code=code, execution=ran, answer=answer, error=ran.error),
    ]


def sampled(
    problem_id: str,
    answers: Sequence[str | None],
    *,
    rule: VoteRule = "majority",
    k: int | None = None,
    clean: Sequence[bool] | None = None,
    early: bool = False,
    target: str = "42",
    traces: Sequence[list[Step]] | None = None,
) -> ProblemRecord:
    """A problem of a ``--samples K`` run with one attempt per answer (None: the attempt's
    code failed), grouped and elected with :mod:`creator.eval.voting` as a run does.
    ``clean``: which attempts ran without an error (by default those that answered); an
    unclean one that answered was rectified once."""
    groups = group_answers(answers, kind="numeric")
    ran_clean = list(clean) if clean is not None else [a is not None for a in answers]
    counted = [
        a is not None and (rule == "majority" or ok)
        for a, ok in zip(answers, ran_clean, strict=True)
    ]
    won = elect(groups, counted)
    samples = []
    for i, answer in enumerate(answers):
        right = answer is not None and is_equivalent(answer, target, "numeric")
        samples.append(
            SampleRecord(
                index=i,
                status="answered" if answer is not None else "execution_error",
                prediction=answer,
                correct=right,
                correct_strict=right,
                correct_paper=right,
                group=groups[i],
                eligible=counted[i],
                rectifications=0 if ran_clean[i] else 1,
                tokens=Tokens(prompt=100 + i, completion=20, total=120 + i),
                duration_s=0.5,
                error=None if answer is not None else "ZeroDivisionError: division by zero",
                trace=list(traces[i]) if traces is not None else attempt_trace(answer),
            )
        )
    chosen = samples[won.chosen if won.chosen is not None else 0]
    vote = Vote(
        rule=rule,
        k=k or len(answers),
        chosen=won.chosen,
        votes=won.votes,
        early=early,
        fallback=won.fallback,
    )
    data = record(problem_id, correct=chosen.correct).model_dump()
    data.update(
        status=chosen.status,
        prediction=chosen.prediction,
        target=target,
        rectifications=chosen.rectifications,
        error=chosen.error,
        trace=chosen.trace,
        tokens=Tokens(
            prompt=sum(s.tokens.prompt for s in samples),
            completion=sum(s.tokens.completion for s in samples),
            total=sum(s.tokens.total for s in samples),
        ),
        duration_s=sum(s.duration_s for s in samples),
        samples=samples,
        vote=vote,
    )
    return ProblemRecord.model_validate(data)


def test_a_sampled_problem_embeds_every_attempt_and_its_vote(tmp_path: Path) -> None:
    hostile = attempt_trace(HOSTILE, reply=HOSTILE)
    votes = sampled(
        "creation/1",
        [HOSTILE, "42", "42.0"],
        traces=[hostile, attempt_trace("42"), attempt_trace("42.0")],
    )
    assert votes.vote is not None and (votes.vote.chosen, votes.vote.votes) == (1, 2)
    plain = record("creation/2", trace=repaired_trace())
    view = write_view(make_run(tmp_path, [votes, plain], samples=3))
    html = view.path.read_text()
    assert len(re.findall("<script", html, re.I)) == 5 and "<img" not in html
    _, [many, one], shared = page_parts(html)
    assert many["steps"] == [] and "trace" not in many  # the chosen trace is in its attempt
    assert many["vote"] == votes.vote.model_dump(mode="json")
    assert [s["index"] for s in many["samples"]] == [0, 1, 2]
    assert [s["group"] for s in many["samples"]] == [0, 1, 1]
    assert [s["eligible"] for s in many["samples"]] == [True, True, True]
    for shown, source in zip(many["samples"], votes.samples, strict=True):
        assert not {"trace", "tool_code", "decision_code"} & set(shown)
        assert [step["stage"] for step in shown["steps"]] == [step.stage for step in source.trace]
        assert shown["prediction"] == source.prediction and shown["tokens"]["prompt"] > 0
    assert many["samples"][0]["steps"][1]["reply"] == HOSTILE
    assert many["samples"][0]["steps"][2]["exec"]["stdout"] == f"Final Answer: {HOSTILE}\n"
    assert QUESTION in shared  # asked by three attempts, stored once
    assert html.count(embed_json(QUESTION)[1:-1]) == 1
    rows = json.loads(embedded(html, "index-data"))
    assert [row.get("v") for row in rows] == [[2, 3], None]
    # a problem of one attempt is embedded as before: its own steps, no attempts, no vote
    assert one["samples"] == [] and one["vote"] is None
    assert [s["stage"] for s in one["steps"]] == [step.stage for step in plain.trace]
