"""The trace viewer driven in real headless Chromium, opened from ``file://``.

A real run (the CREATOR pipeline with a scripted model and the real sandbox) gives six
problems whose outcomes are known by construction:

| id | what happens | filter |
|---|---|---|
| creation/0 | right first time; its tool is called ``zebra_total`` | correct |
| creation/1 | prints a wrong answer | wrong |
| creation/2 | ZeroDivisionError, then one repair that works | correct, rectified |
| creation/3 | fails, and the three repairs change nothing | error, rectified |
| creation/4 | right, with hostile HTML in its reply, tool and output | correct |
| creation/5 | the endpoint times out (a model failure, recorded) | error (model_error) |

The tests skip when Chromium is missing, unless ``CREATOR_REQUIRE_BROWSER=1`` (CI), where
they fail. Timings of the 5,000-problem file are measured in ``benchmarks/viewer_bench.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, get_args

import pytest

try:
    from playwright.sync_api import (
        Browser,
        ConsoleMessage,
        Dialog,
        Page,
        expect,
        sync_playwright,
    )
    from playwright.sync_api import TimeoutError as PageTimeout
except ImportError:  # the dev dependency group is not installed
    if os.environ.get("CREATOR_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("playwright is not installed (uv sync --group dev)", allow_module_level=True)

from creator import ScriptedModel, datasets
from creator.errors import ModelTimeoutError
from creator.eval import EvalConfig, ResultsFile, run_eval
from creator.eval.records import ProblemRecord, Tokens
from creator.models.base import CallContext, GenerationSettings, Message
from creator.report.viewer import write_view
from creator.sandbox.base import ExecResult, Sandbox
from creator.trace import ModelCall, Step, StepStage
from tests.report.test_viewer import (
    HOSTILE_REASONING,
    attempt_trace,
    make_run,
    reasoning_call,
    record,
    repaired_trace,
    sampled,
    thinking_completion,
)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HOSTILE_REPLY = "</script><script>window.pwned=1</script><!-- \u2028 &lt;b&gt;"
HOSTILE_OUTPUT = '<img src=x onerror="window.pwned=2"></script><script>window.pwned=3</script>'
RUN_IDS = tuple(f"creation/{i}" for i in range(6))


def _chromium() -> str | None:
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    path = _chromium()
    if path is None:
        if os.environ.get("CREATOR_REQUIRE_BROWSER") == "1":
            pytest.fail("CREATOR_REQUIRE_BROWSER=1 but chromium is not installed")
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Viewer:
    """One page of the viewer, recording console errors, page errors and every request."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        self.requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("request", lambda request: self.requests.append(request.url))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    def load(self, path: Path, fragment: str = "") -> None:
        self.page.goto(path.resolve().as_uri() + fragment)
        try:
            self.page.wait_for_selector("html[data-ready='1']", timeout=10_000)
        except PageTimeout:
            pytest.fail(f"the page never became ready; console and errors: {self.problems}")

    def shown(self) -> list[str]:
        """The keys of the rows in the list's DOM (only those in sight, as it is virtual)."""
        keys: list[str] = self.page.eval_on_selector_all(
            "#rows .row", "rows => rows.map(r => r.dataset.key)"
        )
        return keys

    def expect_keys(self, keys: list[str]) -> None:
        """Wait until the list shows exactly ``keys``, in this order."""
        expect(self.page.locator("#rows .row .key")).to_have_text(keys)

    def show(self, outcome: str) -> None:
        self.page.click(f"#filters button[data-filter='{outcome}']")

    def search(self, text: str) -> None:
        self.page.fill("#search", text)
        self.page.press("#search", "Enter")  # applies at once (typing applies after a pause)

    def open(self, key: str) -> None:
        self.page.click(f"#rows .row[data-key='{key}']")
        expect(self.page.locator("#detail h2")).to_have_text(key)

    def steps(self) -> list[tuple[str, str]]:
        return [
            (s.get_attribute("data-stage") or "", s.get_attribute("data-round") or "")
            for s in self.page.locator("#detail .step").all()
        ]

    def assert_clean(self, page_file: Path) -> None:
        assert self.problems == []
        assert set(self.requests) <= {page_file.resolve().as_uri()}  # nothing from elsewhere


@pytest.fixture
def viewer(browser: Browser) -> Iterator[Viewer]:
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    yield Viewer(context.new_page())
    context.close()


def _reply(code: str, prose: str = "Here it is.") -> str:
    return f"{prose}\n```python\n{code}\n```"


def _responder(
    messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
) -> str | Exception:
    assert context is not None
    n = int(context.problem.id.split("/")[1])
    target = context.problem.answer
    if n == 5:
        return ModelTimeoutError("no reply from http://127.0.0.1:9/v1 within 60 s")
    if context.stage == "creation":
        name = "zebra_total" if n == 0 else "tool"
        doc = HOSTILE_OUTPUT if n == 4 else "Return x unchanged."
        prose = f"A tool. {HOSTILE_REPLY}" if n == 4 else "A tool."
        return _reply(f'def {name}(x):\n    """{doc}"""\n    return x', prose)
    answer = f"print('Final Answer:', {target!r})"
    if n == 0:
        return _reply(f"print('Final Answer:', zebra_total({target!r}))")
    if n == 1:
        return _reply("print('Final Answer:', 123456789)")
    if n == 2:
        return _reply("x = 1 / 0\nprint(x)") if context.stage == "decision" else _reply(answer)
    if n == 3:
        return _reply("raise ValueError('still broken')")
    return _reply(f"print({HOSTILE_OUTPUT!r})\n{answer}", HOSTILE_REPLY)


@pytest.fixture(scope="module")
def run_view(tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox) -> Path:
    out = tmp_path_factory.mktemp("run")
    config = EvalConfig(dataset="creation", model="scripted", ids=RUN_IDS)
    model = ScriptedModel(responder=_responder)
    evaluation = run_eval(config, out_dir=out, model=model, sandbox=sandbox, concurrency=3)
    with ThreadPoolExecutor(1) as thread:  # playwright's own loop may run in this thread
        thread.submit(asyncio.run, evaluation).result()
    return write_view(out).path


def _messages(run_file: Path, key: str) -> list[dict[str, Any]]:
    records = ResultsFile(run_file.parent / "results.jsonl").load(repair=False)
    return [step.model_dump(mode="json") for step in records[key].trace]


def test_filters_change_the_list(viewer: Viewer, run_view: Path) -> None:
    viewer.load(run_view)
    page = viewer.page
    expect(page.locator("#count")).to_have_text("6 problems")
    viewer.expect_keys(list(RUN_IDS))
    counts = page.eval_on_selector_all(
        "#filters button:not([hidden])",
        "bs => bs.map(b => [b.dataset.filter, b.querySelector('span').textContent])",
    )
    assert counts == [["all", "6"], ["correct", "3"], ["wrong", "1"], ["error", "2"]]
    expect(page.locator("#unscored-filter")).to_be_hidden()  # every problem has an answer
    expected = {
        "correct": ["creation/0", "creation/2", "creation/4"],
        "wrong": ["creation/1"],
        "error": ["creation/3", "creation/5"],
    }
    for outcome, keys in expected.items():
        viewer.show(outcome)
        expect(page.locator("#count")).to_have_text(f"{len(keys)} of 6 problems")
        viewer.expect_keys(keys)
    page.check("#rectified")
    viewer.expect_keys(["creation/3"])
    viewer.show("all")
    viewer.expect_keys(["creation/2", "creation/3"])
    page.uncheck("#rectified")
    viewer.expect_keys(list(RUN_IDS))
    viewer.assert_clean(run_view)


def test_search_finds_problems_by_question_and_in_traces(viewer: Viewer, run_view: Path) -> None:
    viewer.load(run_view)
    page = viewer.page
    assert "trapezium" in datasets.get("creation/3").question
    page.fill("#search", "TRAPEZIUM roof")  # as typed: applied after a short pause
    expect(page.locator("#count")).to_have_text("1 of 6 problems")
    viewer.expect_keys(["creation/3"])
    viewer.search("zebra_total")  # only in creation/0's tool code, not in any question
    expect(page.locator("#count")).to_have_text("0 of 6 problems")
    expect(page.locator("#rows .empty")).to_have_text("No problem matches.")
    page.check("#search-traces")
    expect(page.locator("#count")).to_have_text("1 of 6 problems")
    viewer.expect_keys(["creation/0"])
    viewer.search("</script><script>window.pwned")  # JSON-escaped in the page: still found
    expect(page.locator("#count")).to_have_text("1 of 6 problems")
    viewer.expect_keys(["creation/4"])
    viewer.search("")
    expect(page.locator("#count")).to_have_text("6 problems")
    viewer.assert_clean(run_view)


def test_a_problem_shows_its_stages_in_order(viewer: Viewer, run_view: Path) -> None:
    viewer.load(run_view)
    page = viewer.page
    viewer.open("creation/2")
    assert viewer.steps() == [
        ("creation", "0"),
        ("decision", "0"),
        ("execution", "0"),
        ("rectification", "1"),
        ("execution", "1"),
    ]
    trace = _messages(run_view, "creation/2")
    steps = page.locator("#detail .step")
    creation = steps.nth(0)
    prompts = creation.locator("details:has(pre.prompt)")
    expect(prompts).to_have_count(2)
    expect(prompts.nth(1).locator("pre.prompt")).to_be_hidden()  # long prompts start folded
    prompts.nth(1).locator("summary").click()
    shown = prompts.nth(1).locator("pre.prompt")
    expect(shown).to_be_visible()
    assert shown.text_content() == trace[0]["call"]["messages"][1]["content"]
    first_prompt = prompts.nth(0).locator("pre.prompt").text_content()
    assert first_prompt == trace[0]["call"]["messages"][0]["content"]
    expect(creation.locator("pre.reply")).to_have_text(trace[0]["call"]["completion"]["text"])
    expect(creation.locator(".label").first).to_have_text("tool code")
    expect(creation.locator("pre.step-code")).to_contain_text('"""Return x unchanged."""')
    decision = steps.nth(1)
    expect(decision.locator(".label").first).to_have_text("decision code")
    expect(decision.locator("pre.step-code")).to_have_text("x = 1 / 0\nprint(x)\n")
    failed = steps.nth(2)
    expect(failed.locator("h3")).to_contain_text("failed")
    expect(failed.locator("pre.traceback")).to_contain_text("ZeroDivisionError")
    expect(failed.locator("pre.traceback")).to_contain_text('File "decision", line 1')
    repair = steps.nth(3)
    expect(repair.locator(".label", has_text="changes against decision")).to_be_visible()
    diff = repair.locator("pre.diff")
    expect(diff.locator(".del")).to_have_text(["-x = 1 / 0", "-print(x)"])
    expect(diff.locator(".add")).to_have_text(["+print('Final Answer:', '16')"])
    final = steps.nth(4)
    expect(final.locator("pre.stdout")).to_have_text("Final Answer: 16\n")
    expect(final.locator(".answer")).to_have_text("answer: 16")
    assert page.evaluate("location.hash") == "#creation%2F2"
    viewer.assert_clean(run_view)


def test_links_keys_and_failures_without_code_changes(viewer: Viewer, run_view: Path) -> None:
    viewer.load(run_view, "#creation%2F3")  # a link opens its problem
    page = viewer.page
    expect(page.locator("#detail h2")).to_have_text("creation/3")
    stages = [stage for stage, _ in viewer.steps()]
    assert stages == ["creation", "decision"] + ["execution", "rectification"] * 3 + ["execution"]
    expect(page.locator("#detail .step .note", has_text="no change")).to_have_count(3)
    expect(page.locator("#detail .badge").first).to_have_text("error")
    page.keyboard.press("j")  # the next problem in the list
    expect(page.locator("#detail h2")).to_have_text("creation/4")
    page.keyboard.press("j")
    expect(page.locator("#detail h2")).to_have_text("creation/5")
    expect(page.locator("#detail dd.error")).to_contain_text("no reply from")
    expect(page.locator("#detail .step")).to_have_count(0)
    viewer.assert_clean(run_view)


def test_hostile_model_text_is_shown_as_text(viewer: Viewer, run_view: Path) -> None:
    viewer.load(run_view)
    page = viewer.page
    viewer.open("creation/4")
    steps = page.locator("#detail .step")
    reply = steps.nth(0).locator("pre.reply").text_content() or ""
    assert HOSTILE_REPLY in reply
    expect(steps.nth(0).locator("pre.step-code")).to_contain_text(HOSTILE_OUTPUT)
    output = steps.nth(2).locator("pre.stdout").text_content() or ""
    assert output.startswith(HOSTILE_OUTPUT + "\n")
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.evaluate("document.scripts.length") == 5
    assert page.evaluate("document.images.length") == 0
    viewer.assert_clean(run_view)


def test_tool_transfer_arms_are_listed_apart_and_filtered(viewer: Viewer, tmp_path: Path) -> None:
    records = [
        record(f"transfer/{group}/{scenario}", arm=arm, correct=arm == "transfer")
        for group in (0, 1)
        for scenario in (2, 3)
        for arm in ("control", "transfer")
    ]
    view = write_view(make_run(tmp_path / "arms", records))
    viewer.load(view.path, "#transfer%2F1%2F3%40control")
    page = viewer.page
    expect(page.locator("#detail h2")).to_have_text("transfer/1/3@control")
    expect(page.locator("#detail .badge", has_text="control arm")).to_have_count(1)
    expect(page.locator("#count")).to_have_text("8 problems")
    page.select_option("#arm", "transfer")
    viewer.expect_keys([f"transfer/{g}/{s}@transfer" for g in (0, 1) for s in (2, 3)])
    viewer.show("correct")
    expect(page.locator("#count")).to_have_text("4 of 8 problems")
    page.select_option("#arm", "control")
    expect(page.locator("#count")).to_have_text("0 of 8 problems")
    viewer.assert_clean(view.path)


def _big_run(path: Path) -> tuple[Path, dict[str, int]]:
    """5,000 MATH problems: every 5th an execution error, every 5th+1 wrong, the rest correct;
    every 7th rectified once. Returns the run directory and the expected filter counts."""
    path.mkdir()
    config = EvalConfig(dataset="math", model="scripted")
    (path / "config.json").write_text(config.model_dump_json())
    system = {"role": "system", "content": "You write Python tools. " * 8}
    counts = {"correct": 0, "wrong": 0, "error": 0, "unscored": 0, "rectified": 0}
    with (path / "results.jsonl").open("w") as out:
        for i, problem in enumerate(datasets.load("math")):
            kind = "error" if i % 5 == 0 else "wrong" if i % 5 == 1 else "correct"
            counts[kind] += 1
            counts["rectified"] += i % 7 == 0
            code = f"print('Final Answer:', {i})"
            user = {"role": "user", "content": f"Shared demonstrations.\n\n{problem.question}"}
            call = {"messages": [system, user], "completion": {"text": f"```python\n{code}\n```"}}
            failed = {"exit_code": 1, "traceback": f"ValueError: problem {i}"}
            record = {
                "id": problem.id,
                "dataset": "math",
                "method": "creator",
                "model": "scripted",
                "status": "execution_error" if kind == "error" else "answered",
                "prediction": None if kind == "error" else str(i),
                "target": problem.answer,
                "correct": kind == "correct",
                "correct_strict": kind == "correct",
                "correct_paper": kind == "correct",
                "rectifications": 1 if i % 7 == 0 else 0,
                "trace": [
                    {"stage": "creation", "call": call, "code": "def f(x):\n    return x"},
                    {"stage": "decision", "call": call, "code": code},
                    {
                        "stage": "execution",
                        "code": code,
                        "execution": failed if kind == "error" else {"stdout": code[7:]},
                    },
                ],
            }
            out.write(json.dumps(record) + "\n")
    return path, counts


def test_problems_without_an_answer_are_neither_right_nor_wrong(
    viewer: Viewer, tmp_path: Path
) -> None:
    """A user's dataset with rows that give no answer: those rows have a filter of their own
    and the header's accuracy is over the rows that do."""
    run = tmp_path / "own"
    run.mkdir()
    config = EvalConfig(dataset="gsm.jsonl", model="scripted", answer_kind="numeric")
    (run / "config.json").write_text(config.model_dump_json())
    with (run / "results.jsonl").open("w") as out:
        rows = [("4", True, "answered"), ("5", False, "answered"), (None, False, "answered")]
        rows.append((None, False, "execution_error"))  # failed, but there was nothing to check
        for i, (target, correct, status) in enumerate(rows):
            record = {
                "id": f"gsm.jsonl/{i}",
                "dataset": "gsm.jsonl",
                "method": "pot",
                "model": "scripted",
                "status": status,
                "prediction": "4",
                "target": target,
                "correct": correct,
                "correct_strict": correct,
                "correct_paper": correct,
            }
            out.write(json.dumps(record) + "\n")
    view = write_view(run)
    assert dict(view.counts)["unscored"] == 2 and dict(view.counts)["wrong"] == 1
    assert dict(view.counts)["error"] == 0
    viewer.load(view.path)
    page = viewer.page
    expect(page.locator("#run-meta")).to_contain_text("1 correct of 2 with an answer (50.0%)")
    expect(page.locator("#unscored-filter")).to_be_visible()
    viewer.show("unscored")
    viewer.expect_keys(["gsm.jsonl/2", "gsm.jsonl/3"])
    viewer.show("wrong")
    viewer.expect_keys(["gsm.jsonl/1"])
    viewer.assert_clean(view.path)


def test_five_thousand_problems_open_filter_and_search(viewer: Viewer, tmp_path: Path) -> None:
    run, counts = _big_run(tmp_path / "big")
    view = write_view(run)
    assert view.problems == 5000 and dict(view.counts) == counts
    viewer.load(view.path)
    page = viewer.page
    expect(page.locator("#count")).to_have_text("5000 problems")
    assert 10 < len(viewer.shown()) < 100  # only the rows in sight are built
    viewer.show("error")
    expect(page.locator("#count")).to_have_text(f"{counts['error']} of 5000 problems")
    page.check("#rectified")
    both = len([i for i in range(5000) if i % 5 == 0 and i % 7 == 0])
    expect(page.locator("#count")).to_have_text(f"{both} of 5000 problems")
    page.uncheck("#rectified")
    viewer.show("all")
    question = datasets.get("math/precalculus/545").question
    viewer.search(" ".join(question.split()[:12]))
    expect(page.locator("#count")).not_to_have_text("5000 problems")
    assert "math/precalculus/545" in viewer.shown()
    viewer.search("")
    # a new list starts at the top: wait for it before scrolling to the bottom
    expect(page.locator("#count")).to_have_text("5000 problems")
    page.eval_on_selector("#list", "list => { list.scrollTop = list.scrollHeight; }")
    last = datasets.load("math")[-1].id
    expect(page.locator(f"#rows .row[data-key='{last}']")).to_be_visible()
    viewer.open(last)
    assert [stage for stage, _ in viewer.steps()] == ["creation", "decision", "execution"]
    viewer.assert_clean(view.path)


def test_reasoning_is_folded_above_the_reply_and_shown_as_text(
    viewer: Viewer, tmp_path: Path
) -> None:
    scripted = thinking_completion()  # "<think>plan: ...</think>" split by the scripted model
    cut = reasoning_call(
        "still thinking",
        text="",
        tokens=4000,
        finish_reason="length",
        cut_off="max_tokens",
        latency_s=12.3,
        queue_s=3.2,
    )
    long_reasoning = "S" * 7_500 + "M" * 20_000 + "E" * 2_500
    trace = [
        Step(stage="creation", call=ModelCall(messages=cut.messages, completion=scripted)),
        Step(stage="decision", call=reasoning_call(HOSTILE_REASONING, tokens=812)),
        Step(stage="rectification", round=1, call=cut, error="no code"),
        Step(stage="rectification", round=2, call=reasoning_call(long_reasoning)),
    ]
    thinker = record("creation/1", trace=trace).model_copy(
        update={"tokens": Tokens(prompt=200, completion=4900, total=5100, reasoning=4812)}
    )
    view = write_view(make_run(tmp_path / "thinking", [thinker]))
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:  # an alert() that ran would land here
        dialogs.append(dialog.message)
        dialog.dismiss()

    viewer.page.on("dialog", on_dialog)
    viewer.load(view.path, "#creation%2F1")
    page = viewer.page
    expect(page.locator("#detail h2")).to_have_text("creation/1")
    expect(page.locator("#detail dl.facts").first).to_contain_text(
        "200 prompt + 4900 completion (4812 of them reasoning)"
    )
    steps = page.locator("#detail .step")

    first = steps.nth(0)
    fold = first.locator("details.reasoning")
    expect(fold.locator("summary")).to_have_text("reasoning (23 chars)")  # no tokens reported
    expect(fold.locator("pre.reasoning")).to_be_hidden()  # folded at first
    fold.locator("summary").click()
    expect(fold.locator("pre.reasoning")).to_be_visible()
    expect(fold.locator("pre.reasoning")).to_have_text("plan: ```python\nx=1\n```")
    expect(first.locator("pre.reply")).to_have_text("Final answer text")
    order = first.locator(".body > details").evaluate_all(
        "boxes => boxes.map(b => b.classList.contains('reasoning') ? 'reasoning' : "
        "(b.querySelector('pre.reply') ? 'reply' : 'prompt'))"
    )
    assert order == ["prompt", "reasoning", "reply"]

    hostile = steps.nth(1).locator("details.reasoning")
    expect(hostile.locator("summary")).to_have_text("reasoning (812 tokens)")
    hostile.locator("summary").click()
    expect(hostile.locator("pre.reasoning")).to_have_text(HOSTILE_REASONING)
    expect(steps.nth(1).locator("details")).to_have_count(3)  # prompt, reasoning, reply only
    expect(steps.nth(1).locator("summary").nth(2)).to_contain_text(
        "50 + 821 tokens (812 reasoning)"
    )

    stopped = steps.nth(2)
    expect(stopped.locator(".cut-off")).to_have_text(cut.completion.cut_off_message() or "?")
    expect(stopped.locator(".note", has_text="(no answer text)")).to_have_count(1)
    expect(stopped.locator("summary").nth(2)).to_contain_text("12.3 s, queued 3.2 s")

    long_fold = steps.nth(3).locator("details.reasoning")
    long_fold.locator("summary").click()
    expect(long_fold.locator("pre.reasoning")).to_have_count(2)  # the start and the end
    expect(long_fold.locator(".omitted")).to_contain_text("… 20000 more chars")
    assert long_fold.locator("pre.reasoning").nth(1).text_content() == "E" * 2_500

    assert page.evaluate("typeof window.pwned") == "undefined" and dialogs == []
    assert page.evaluate("document.scripts.length") == 5
    viewer.assert_clean(view.path)


@pytest.mark.skipif("program" not in get_args(StepStage), reason="no 'program' stage yet")
def test_program_stages_are_named_after_their_method(viewer: Viewer, tmp_path: Path) -> None:
    code = "print('Final Answer:', 42)\n"

    def attempt(key: str, method: str, stage: str) -> ProblemRecord:
        trace = [
            Step.model_validate({"stage": stage, "code": code}),
            Step(stage="execution", code=code, execution=ExecResult(stdout="Final Answer: 42\n")),
        ]
        return record(key, trace=trace).model_copy(update={"method": method})

    records = [
        attempt("creation/1", "pot", "program"),
        attempt("creation/2", "pot", "whole"),  # written before the stage "program" existed
        attempt("creation/3", "toolcreate-whole", "whole"),
    ]
    view = write_view(make_run(tmp_path / "programs", records))
    viewer.load(view.path)
    page = viewer.page
    for key, title, code_label in [
        ("creation/1", "1. Program", "program"),
        ("creation/2", "1. Program", "program"),
        ("creation/3", "1. Tool and program", "tool and program"),
    ]:
        viewer.open(key)
        first, run = page.locator("#detail .step").nth(0), page.locator("#detail .step").nth(1)
        expect(first.locator("h3")).to_have_text(f"{title} ok")
        expect(first.locator(".label").first).to_have_text(code_label)
        expect(run.locator(".note").first).to_have_text("ran the program above")
    viewer.assert_clean(view.path)


def test_tool_use_steps_show_the_query_and_the_service_reply(
    viewer: Viewer, tmp_path: Path
) -> None:
    from creator.services.base import ServiceReply

    hostile = '<img src=x onerror="window.pwned=4">'
    answered = ServiceReply(
        service="sympy",
        query="solve 3p+4q=8, 4p+3q=13 " + hostile,
        text="p = 4, q = -1 " + hostile,
        duration_s=0.042,
    )
    failed = ServiceReply(service="wolfram", query="frobnicate", error="could not interpret it")
    query, answer = Step(stage="query"), Step(stage="answer", answer="4")
    records = [
        record("creation/1", trace=[query, Step(stage="service", service=answered), answer]),
        record(
            "creation/2",
            trace=[query, Step(stage="service", service=failed, error=failed.error), answer],
        ),
    ]
    records = [r.model_copy(update={"method": "tooluse"}) for r in records]
    view = write_view(make_run(tmp_path / "tooluse", records))
    viewer.load(view.path)
    page = viewer.page
    viewer.open("creation/1")
    steps = page.locator("#detail .step")
    expect(steps.nth(0).locator("h3")).to_have_text("1. Reasoning and query ok")
    expect(steps.nth(1).locator("h3")).to_have_text("2. Computation service ok")
    expect(steps.nth(1).locator("pre.service-query")).to_have_text(answered.query)
    expect(steps.nth(1).locator("pre.service-reply")).to_have_text(answered.text or "")
    expect(steps.nth(1).locator(".label").nth(1)).to_have_text("sympy answered in 42 ms")
    viewer.open("creation/2")
    service = page.locator("#detail .step").nth(1)
    expect(service.locator("h3")).to_have_text("2. Computation service failed")
    expect(service.locator(".note").first).to_have_text("wolfram gave no result (0 ms)")
    expect(service.locator("pre.error")).to_have_text("could not interpret it")
    assert page.evaluate("window.pwned") is None
    viewer.assert_clean(view.path)


@pytest.fixture
def sampled_view(tmp_path: Path) -> Path:
    """A ``--samples 5`` run (records written directly, votes elected by creator.eval.voting):

    | id | rule | answers | vote |
    |---|---|---|---|
    | creation/1 | majority | hostile text, 42, 42.0 | attempt 1, 2 of 3 |
    | creation/2 | execution | 7, 7, 7 (then stopped early) | attempt 0, 3 of 3, early |
    | creation/3 | execution | 5 (after a repair), none | attempt 0, 1 of 2, fallback |
    | creation/4 | one attempt, not sampled | | |
    """
    hostile = attempt_trace(HOSTILE_OUTPUT, reply=HOSTILE_REPLY)
    records = [
        sampled(
            "creation/1",
            [HOSTILE_OUTPUT, "42", "42.0"],
            traces=[hostile, attempt_trace("42"), attempt_trace("42.0")],
        ),
        sampled("creation/2", ["7", "7", "7"], rule="execution", k=5, early=True, target="7"),
        sampled("creation/3", ["5", None], rule="execution", k=2, clean=[False, False]),
        record("creation/4", trace=repaired_trace(), rectifications=1),
    ]
    run = make_run(tmp_path / "sampled", records, samples=5, vote="execution", vote_early=True)
    return write_view(run).path


def _panes(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.eval_on_selector_all(
        "#detail .samples > .sample",
        """panes => panes.map(p => ({
            index: p.dataset.index,
            chosen: p.classList.contains('chosen'),
            group: p.querySelector('h3 .badge.group').textContent,
            colour: getComputedStyle(p.querySelector('h3 .badge.group')).backgroundColor,
            verdict: p.querySelector('.badge.verdict').textContent,
            counted: p.querySelector('.badge.eligible').textContent,
            prediction: p.querySelector('dd.prediction').textContent,
            steps: p.querySelectorAll('.step').length,
        }))""",
    )
    return found


def test_a_sampled_problem_shows_its_vote_and_attempts_side_by_side(
    viewer: Viewer, sampled_view: Path
) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:  # an alert() that ran would land here
        dialogs.append(dialog.message)
        dialog.dismiss()

    viewer.page.on("dialog", on_dialog)
    viewer.load(sampled_view)
    page = viewer.page
    expect(page.locator("#run-meta")).to_contain_text("5 samples, vote: execution, early stop")
    agree = page.eval_on_selector_all(
        "#rows .row",
        "rows => rows.map(r => [r.dataset.key, r.querySelector('.agree')?.textContent ?? null])",
    )
    assert agree == [
        ["creation/1", "2/3 votes"],
        ["creation/2", "3/3 votes"],
        ["creation/3", "1/2 votes"],
        ["creation/4", None],
    ]
    viewer.open("creation/1")
    vote = page.locator("#detail .vote")
    expect(vote.locator("dl")).to_contain_text("majority: every attempt that answered")
    expect(vote.locator("dl")).to_contain_text("attempt #1")
    expect(vote.locator("dl")).to_contain_text("2 of 3 attempts made")
    expect(vote.locator(".badge.early, .badge.fallback")).to_have_count(0)
    expect(vote.locator(".agreed")).to_have_text(
        [f"group A1 of 3: {HOSTILE_OUTPUT}", "group B2 of 3: 42"]
    )
    panes = _panes(page)
    assert [(p["index"], p["chosen"], p["group"]) for p in panes] == [
        ("0", False, "group A"),
        ("1", True, "group B"),
        ("2", False, "group B"),
    ]
    assert panes[1]["colour"] == panes[2]["colour"] != panes[0]["colour"]  # agreement is seen
    assert [p["verdict"] for p in panes] == ["wrong", "correct", "correct"]
    assert [p["counted"] for p in panes] == ["counted"] * 3
    assert [p["prediction"] for p in panes] == [HOSTILE_OUTPUT, "42", "42.0"]
    assert [p["steps"] for p in panes] == [3, 3, 3]  # each attempt's own trace
    expect(page.locator("#detail > .step")).to_have_count(0)  # not the chosen trace again
    first = page.locator("#detail .sample").nth(0)
    assert first.locator("pre.reply").nth(1).text_content() == HOSTILE_REPLY  # the decision
    expect(first.locator("pre.stdout")).to_have_text(f"Final Answer: {HOSTILE_OUTPUT}\n")
    boxes = page.eval_on_selector_all(
        "#detail .sample", "ps => ps.map(p => p.getBoundingClientRect().top)"
    )
    assert len(set(boxes)) == 1  # side by side, not stacked
    assert page.evaluate("typeof window.pwned") == "undefined" and dialogs == []
    assert page.evaluate("document.scripts.length") == 5
    assert page.evaluate("document.images.length") == 0

    viewer.open("creation/2")
    expect(vote.locator(".badge.early")).to_have_text("early stop")
    expect(vote.locator("dl")).to_contain_text("3 of 3 attempts made (5 asked for)")
    expect(vote.locator("dl")).to_contain_text("after 3 of 5 attempts")
    assert [(p["chosen"], p["group"]) for p in _panes(page)] == [
        (True, "group A"),
        (False, "group A"),
        (False, "group A"),
    ]
    viewer.open("creation/3")
    expect(vote.locator(".badge.fallback")).to_have_text("fallback")
    expect(vote.locator("dl")).to_contain_text("only attempts whose code ran without an error")
    panes = _panes(page)
    assert [(p["chosen"], p["group"], p["counted"]) for p in panes] == [
        (True, "group A", "not counted"),
        (False, "no answer", "not counted"),
    ]
    assert [p["prediction"] for p in panes] == ["5", "(none)"]
    expect(page.locator("#detail .sample").nth(1).locator("pre.traceback")).to_have_text(
        "ZeroDivisionError: division by zero"
    )
    viewer.assert_clean(sampled_view)


def test_a_problem_of_one_attempt_renders_as_before_among_sampled_ones(
    viewer: Viewer, sampled_view: Path
) -> None:
    viewer.load(sampled_view, "#creation%2F4")
    page = viewer.page
    expect(page.locator("#detail h2")).to_have_text("creation/4")
    expect(page.locator("#detail .vote, #detail .samples, #detail .agree")).to_have_count(0)
    assert [stage for stage, _ in viewer.steps()] == [
        "creation", "creation", "decision", "execution", "rectification", "execution",
    ]  # fmt: skip
    facts = page.eval_on_selector_all(
        "#detail > dl.facts > dt", "dts => dts.map(d => d.textContent)"
    )
    assert facts == ["question", "expected", "prediction", "model", "method", "tokens", "time"]
    viewer.assert_clean(sampled_view)


def test_attempts_scroll_sideways_on_a_narrow_screen_to_the_chosen_one(
    viewer: Viewer, sampled_view: Path
) -> None:
    page = viewer.page
    page.set_viewport_size({"width": 720, "height": 900})
    viewer.load(sampled_view, "#creation%2F1")
    expect(page.locator("#detail .sample.chosen")).to_have_count(1)
    strip = page.locator("#detail .samples")
    sizes = strip.evaluate(
        "s => [s.scrollWidth, s.clientWidth, s.scrollLeft, document.documentElement.scrollWidth]"
    )
    scroll_width, width, left, page_width = sizes
    assert scroll_width > width  # the attempts do not fit: the row scrolls
    assert page_width <= 720  # the row scrolls, not the page
    assert left > 0  # moved to the chosen attempt (#1), which did not fit at first
    chosen = page.locator("#detail .sample.chosen").bounding_box()
    box = strip.bounding_box()
    assert chosen is not None and box is not None
    assert box["x"] - 1 <= chosen["x"] < box["x"] + box["width"]
    viewer.assert_clean(sampled_view)
