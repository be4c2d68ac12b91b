"""``creator eval``'s progress without a terminal: plain lines, JSON lines, ``--quiet``; model
errors and retries shown while the run goes; the wall time kept across resumes. Through
``creator.cli.main.main`` (stdout captured: not a terminal) and, for failures, real HTTP to a
loopback server."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from creator.cli.main import main
from creator.cli.progress import BarDisplay, LineDisplay, duration, make_display, pick_mode
from creator.datasets import get
from creator.eval.progress import Progress
from creator.eval.records import ProblemRecord
from creator.eval.walltime import earlier_wall_time
from creator.models.base import RetryNotice
from creator.models.loopback import LoopbackServer, ServerReply

LINE = re.compile(
    r"^\[eval\] (?P<done>\d+)/(?P<total>\d+) \((?P<share>\d+)%\) acc (?P<acc>[\d.]+%|-) "
    r"model errors (?P<errors>\d+) retries (?P<retries>\d+) rate [\d.]+/s ETA \S+ "
    r"tokens (?P<tokens>[\d,]+) elapsed \S+(?: last error: (?P<last>.+))?$"
)
JSON_FIELDS = {
    "event", "done", "total", "skipped", "correct", "accuracy", "model_errors", "retries",
    "last_error", "rate", "eta_s", "tokens", "elapsed_s",
}  # fmt: skip
PROGRAM = "```python\nprint('Final Answer:', 18)\n```"
IDS = [f"tabmwp/{i}" for i in range(5)]
QUESTIONS = {get(i).question: i for i in IDS}


@pytest.fixture(autouse=True)
def _no_forced_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_TERMINAL", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)


def replay(out: Path, *extra: str, limit: int = 3) -> int:
    return main(
        [
            "eval", "--dataset", "creation", "--model", "reference", "--limit", str(limit),
            "--out", str(out), "--concurrency", "2", *extra,
        ]
    )  # fmt: skip


def progress_lines(text: str) -> list[re.Match[str]]:
    return [m for line in text.splitlines() if (m := LINE.match(line))]


def test_without_a_terminal_progress_is_plain_lines_before_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert replay(tmp_path / "run") == 0
    out = capsys.readouterr().out
    lines = progress_lines(out)
    # 3 problems: a tenth of them is one, so a line per problem (the end adds no repeat)
    assert [int(m["done"]) for m in lines] == [1, 2, 3]
    assert {int(m["total"]) for m in lines} == {3}
    last = lines[-1]
    assert last["share"] == "100" and last["acc"] == "100.0%"
    assert (last["errors"], last["retries"], last["last"]) == ("0", "0", None)
    text = out.splitlines()
    table = next(i for i, line in enumerate(text) if "accuracy (strict)" in line)
    assert all(text.index(m.string) < table for m in lines)
    assert "results: " in out and "\x1b[" not in out  # no live bar, no escape sequences


def test_json_progress_is_one_object_per_line_on_stdout_ending_with_done(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert replay(run, "--json-progress", "--progress-every", "0") == 0
    captured = capsys.readouterr()
    events = [json.loads(line) for line in captured.out.splitlines()]  # stdout: JSON only
    assert [e["event"] for e in events] == ["start", "progress", "progress", "progress", "done"]
    for event in events:
        assert event.keys() >= JSON_FIELDS
    done = events[-1]
    assert (done["done"], done["total"], done["correct"], done["accuracy"]) == (3, 3, 3, 1.0)
    assert done["eta_s"] == 0.0 and done["model_errors"] == 0 and done["last_error"] is None
    assert done["summary"] == str(run / "summary.json")
    summary = json.loads((run / "summary.json").read_text())
    assert done["tokens"] == summary["tokens"]["total"]
    assert done["wall_time_s"] == summary["wall_time_s"]
    assert "accuracy (strict)" in captured.err and "results: " in captured.err  # people: stderr


def test_quiet_prints_no_progress_and_no_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert replay(tmp_path / "run", "--quiet") == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"results: {tmp_path / 'run' / 'results.jsonl'}   summary: "
        f"{tmp_path / 'run' / 'summary.json'}"
    ]
    assert captured.err == ""
    assert (tmp_path / "run" / "summary.json").exists()


def test_quiet_and_json_progress_cannot_go_together(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        replay(tmp_path / "run", "--quiet", "--json-progress")
    assert exit_.value.code == 2


def test_a_negative_progress_interval_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert replay(tmp_path / "run", "--progress-every", "-1") == 2
    assert capsys.readouterr().err.strip() == (
        "creator: error: --progress-every must be 0 or more seconds"
    )


def failing_server() -> LoopbackServer:
    """tabmwp/1 always answers 500; tabmwp/3 answers 429 once, then a program."""
    seen: dict[str, int] = {}

    def reply(body: dict[str, Any]) -> ServerReply:
        prompt = body["messages"][-1]["content"]
        problem = next((i for q, i in QUESTIONS.items() if q in prompt), None)
        seen[str(problem)] = seen.get(str(problem), 0) + 1
        if problem == "tabmwp/1":
            return ServerReply(
                status=500, error_message="the GPU caught fire", headers={"Retry-After": "0"}
            )
        if problem == "tabmwp/3" and seen[problem] == 1:
            return ServerReply(status=429, error_message="slow down", headers={"Retry-After": "0"})
        return ServerReply(content=PROGRAM)

    return LoopbackServer(responder=reply)


def evaluate(url: str, out: Path, *extra: str) -> int:
    return main(
        [
            "eval", "--dataset", "tabmwp", "--method", "pot", "--ids", ",".join(IDS),
            "--model", "test-model", "--base-url", url, "--no-cache", "--sandbox", "none",
            "--concurrency", "1", "--max-retries", "2", "--out", str(out), *extra,
        ]
    )  # fmt: skip


def test_model_errors_and_retries_show_in_lines_while_the_run_goes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with failing_server() as server:
        assert evaluate(server.url, tmp_path / "run") == 1
    out = capsys.readouterr().out
    lines = progress_lines(out)
    assert [int(m["done"]) for m in lines] == [1, 2, 3, 4, 5]
    # tabmwp/1 (the second problem) failed after 2 retries: said on its own line at once
    second = lines[1]
    assert (second["errors"], second["retries"]) == ("1", "2")
    assert second["last"] is not None and "500" in second["last"]
    assert "the GPU caught fire" in second["last"]
    # tabmwp/3's 429 was retried once and went through: one more retry, no more model errors
    fourth = lines[3]
    assert (fourth["errors"], fourth["retries"]) == ("1", "3")
    assert fourth["last"] is not None and "429" in fourth["last"]
    assert lines[4]["last"] is None  # nothing new since the line before
    text = out.splitlines()
    table = next(i for i, line in enumerate(text) if "accuracy (strict)" in line)
    assert text.index(second.string) < table
    assert "1 problem(s) failed on the model side" in out


def test_json_progress_counts_retries_and_the_last_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    with failing_server() as server:
        assert evaluate(server.url, run, "--json-progress") == 1
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    after = next(e for e in events if e["event"] == "progress" and e["done"] == 2)
    assert (after["model_errors"], after["retries"]) == (1, 2)
    assert "the GPU caught fire" in after["last_error"]
    done = events[-1]
    assert done["event"] == "done" and (done["model_errors"], done["retries"]) == (1, 3)
    summary = json.loads((run / "summary.json").read_text())
    assert done["accuracy"] == summary["accuracy"] and done["tokens"] == summary["tokens"]["total"]


def test_json_progress_ends_with_done_and_the_error_when_the_endpoint_check_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with LoopbackServer(api_key="right") as server:
        assert evaluate(server.url, tmp_path / "run", "--json-progress", "--api-key", "no") == 2
    captured = capsys.readouterr()
    (event,) = [json.loads(line) for line in captured.out.splitlines()]
    assert event["event"] == "done" and "401" in event["error"]
    assert captured.err.startswith("creator: error: ")


def test_the_wall_time_adds_up_over_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert replay(run, "--quiet") == 0
    first = json.loads((run / "summary.json").read_text())
    assert first["wall_time_s"] == first["wall_time_this_run_s"] > 0
    assert replay(run, "--quiet") == 0  # nothing left to do
    second = json.loads((run / "summary.json").read_text())
    assert second["wall_time_this_run_s"] < 1.0
    assert second["wall_time_s"] == pytest.approx(
        first["wall_time_s"] + second["wall_time_this_run_s"], abs=0.011
    )
    assert second["wall_time_s"] >= first["wall_time_s"]
    assert replay(run, "--limit", "4") == 0  # extended: one more problem, time added again
    third = json.loads((run / "summary.json").read_text())
    assert third["wall_time_s"] == pytest.approx(
        second["wall_time_s"] + third["wall_time_this_run_s"], abs=0.011
    )
    assert re.search(r"wall time .*s \([\d.]+ s this run\)", capsys.readouterr().out)


@pytest.mark.parametrize(
    "content",
    ["{not json", "[1, 2]", '{"wall_time_s": "soon"}', '{"wall_time_s": -3}', "NaN", "\udcff"],
)
def test_an_unreadable_earlier_summary_counts_as_no_time(tmp_path: Path, content: str) -> None:
    (tmp_path / "summary.json").write_bytes(content.encode("utf-8", "surrogateescape"))
    assert earlier_wall_time(tmp_path) == 0.0
    assert earlier_wall_time(tmp_path / "missing") == 0.0
    (tmp_path / "summary.json").write_text('{"wall_time_s": 12.5}')
    assert earlier_wall_time(tmp_path) == 12.5


def test_a_corrupt_summary_does_not_stop_a_resume(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert replay(run, "--quiet", limit=1) == 0
    (run / "summary.json").write_text("{torn")
    assert replay(run, "--quiet", limit=1) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["wall_time_s"] == summary["wall_time_this_run_s"]


RECORD = ProblemRecord.model_validate(
    {
        "id": "x/1", "dataset": "x", "method": "pot", "model": "m", "status": "answered",
        "prediction": "1", "target": "1", "correct": True, "correct_strict": True,
        "correct_paper": True,
    }
)  # fmt: skip
"""What the displays are given with each progress (they show only the progress)."""


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def state(done: int, *, errors: int = 0, retries: int = 0, last: str | None = None) -> Progress:
    return Progress(
        done=done, total=100, correct=done, tokens=10 * done, model_errors=errors, skipped=0,
        retries=retries, last_error=last,
    )  # fmt: skip


def test_lines_come_every_tenth_every_interval_and_soon_after_new_errors() -> None:
    buffer, clock = io.StringIO(), Clock()
    console = Console(file=buffer)
    display = make_display("lines", console=console, label="x", every_s=30, clock=clock)
    assert isinstance(display, LineDisplay)
    notice = RetryNotice(attempt=1, error="HTTP 503", delay_s=0.5)

    def shown() -> list[re.Match[str]]:
        return progress_lines(buffer.getvalue())

    display.start(state(0))
    for done in range(1, 10):
        clock.now += 1
        display.record(RECORD, state(done))
    assert shown() == []  # 9 of 100: not yet a tenth, 9 s: not yet 30 s
    display.record(RECORD, state(10))
    assert [m["done"] for m in shown()] == ["10"]
    clock.now += 2
    display.retry(notice, state(10, retries=1, last="HTTP 503"))
    assert len(shown()) == 1  # 2 s after the last line: the retry waits
    clock.now += 3
    display.record(RECORD, state(11, retries=1, last="HTTP 503"))
    assert shown()[-1]["retries"] == "1" and shown()[-1]["last"] == "HTTP 503"
    clock.now += 29
    display.record(RECORD, state(12, retries=1, last="HTTP 503"))
    assert len(shown()) == 2
    clock.now += 1
    display.record(RECORD, state(13, retries=1, last="HTTP 503"))
    assert shown()[-1]["done"] == "13" and shown()[-1]["last"] is None  # timed, nothing new
    display.finish({}, out_dir=Path("."))
    assert shown()[-1]["done"] == "13" and len(shown()) == 3  # the end repeats nothing


def test_the_bar_shows_model_errors_and_the_last_error() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=200, color_system=None)
    display = make_display("bar", console=console, label="tabmwp")
    assert isinstance(display, BarDisplay)
    with display:
        display.start(state(0))
        display.record(RECORD, state(1, errors=1, retries=2, last="HTTP 500 [red]x[/red]"))
    text = buffer.getvalue()
    assert "model errors 1  retries 2" in text and "last: HTTP 500 [red]x[/red]" in text


def test_modes_and_durations() -> None:
    assert pick_mode(quiet=True, json_progress=False, terminal=True) == "quiet"
    assert pick_mode(quiet=False, json_progress=True, terminal=True) == "json"
    assert pick_mode(quiet=False, json_progress=False, terminal=True) == "bar"
    assert pick_mode(quiet=False, json_progress=False, terminal=False) == "lines"
    assert [duration(s) for s in (None, 0.4, 38, 123, 3720)] == ["-", "0s", "38s", "2m03s", "1h02m"]
