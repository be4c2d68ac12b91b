"""The trace viewer with 5,000 problems: build time, file size, and the page in headless Chromium.

A run over the 5,000 MATH problems is synthesised with realistic traces: the real CREATOR
prompts (instructions and the MATH demonstrations, rendered for each problem as the stages
render them), a documented tool and decision code per problem, 3 to 8 steps (creation
retries, failing executions with tracebacks, rectifications). No model or sandbox runs: the
records are written directly. Then ``write_view`` builds the page, and Chromium (the Debian
``chromium``) measures the time to the first list render, filtering, searching (the index, and
the full traces) and opening problems. Not a timed test: figures depend on the machine.

    uv run python benchmarks/viewer_bench.py [--problems 5000] [--seed 0] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from creator import datasets
from creator.eval import EvalConfig, ProblemRecord
from creator.models.base import Completion, Message, Usage
from creator.problem import Problem
from creator.report.viewer import write_view
from creator.sandbox.base import ExecResult
from creator.stages.common import StageOptions, render_prompt
from creator.trace import ModelCall, Status, Step

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
OPTIONS = StageOptions()
SYSTEM = (
    "You are a careful Python engineer who solves problems by building small tools. You answer "
    "with\nPython code in fenced ```python blocks."
)


def _tool(i: int, broken: bool) -> str:
    body = "    return (a + b) / 0" if broken else "    return sympy.nsimplify((a + b) / 2)"
    return (
        "import sympy\n\n\n"
        f"def solve_case_{i}(a: float, b: float) -> sympy.Expr:\n"
        f'    """Solve one instance of problem family {i}.\n\n'
        "    Args:\n        a: the first quantity of the problem.\n"
        "        b: the second quantity of the problem.\n\n"
        "    Returns:\n        The exact value asked for, simplified.\n"
        '    """\n' + body + "\n"
    )


def _decision(i: int, good: bool) -> str:
    call = f"solve_case_{i}({i}, {i + 2})" if good else f"solve_case_{i}({i}, undefined_{i})"
    return f"# the values from the problem\nresult = {call}\nprint('Final Answer:', result)\n"


def _call(user: str, code: str, rng: random.Random) -> ModelCall:
    prose = "I will write the code.\n\n" if rng.random() < 0.5 else ""
    return ModelCall(
        messages=[Message(role="system", content=SYSTEM), Message(role="user", content=user)],
        completion=Completion(
            text=f"{prose}```python\n{code}```",
            usage=Usage(prompt_tokens=len(user) // 4, completion_tokens=len(code) // 4),
            finish_reason="stop",
            latency_s=rng.uniform(0.5, 4.0),
        ),
    )


def _failed(i: int, line: int) -> ExecResult:
    trace = (
        "Traceback (most recent call last):\n"
        f'  File "decision", line {line}, in <module>\n'
        f"    result = solve_case_{i}({i}, undefined_{i})\n"
        f"NameError: name 'undefined_{i}' is not defined"
    )
    return ExecResult(exit_code=1, traceback=trace, stderr=trace, duration_s=0.004)


def _record(problem: Problem, i: int, rng: random.Random) -> ProblemRecord:
    steps: list[Step] = []
    creation = render_prompt(
        "creator/creation", examples="creation", problem=problem, options=OPTIONS
    )
    tool = _tool(i, broken=False)
    if rng.random() < 0.08:  # a creation retry
        bad = _tool(i, broken=True).replace("import sympy", "import sympyy")
        error = "ModuleNotFoundError: No module named 'sympyy'"
        steps.append(
            Step(
                stage="creation",
                call=_call(creation, bad, rng),
                code=bad,
                execution=ExecResult(exit_code=1, traceback=error),
                error=error,
            )
        )
        creation += f"\n\nYour previous tool failed:\n{error}"
    steps.append(
        Step(
            stage="creation",
            round=len(steps),
            call=_call(creation, tool, rng),
            code=tool,
            execution=ExecResult(duration_s=0.003),
        )
    )
    decision = render_prompt(
        "creator/decision", examples="decision", problem=problem, options=OPTIONS, tool=tool
    )
    outcome = rng.random()
    failures = 0 if outcome < 0.8 else 1 if outcome < 0.93 else 3
    code = _decision(i, good=failures == 0)
    steps.append(Step(stage="decision", call=_call(decision, code, rng), code=code))
    status: Status = "answered"
    for round in range(4):
        if round < failures:
            result = _failed(i, 2)
            steps.append(
                Step(
                    stage="execution", round=round, code=code, execution=result, error=result.error
                )
            )
            if round == 3:
                status = "execution_error"
                break
            repair = render_prompt(
                "creator/rectification",
                examples="rectification",
                problem=problem,
                options=OPTIONS,
                tool=tool,
                code=code,
                error=str(result.error),
            )
            code = _decision(i, good=round + 1 >= failures)
            call = _call(repair, code, rng)
            steps.append(Step(stage="rectification", round=round + 1, call=call, code=code))
            continue
        value = f"{i}.5"
        ran = ExecResult(stdout=f"Final Answer: {value}\n", duration_s=0.004)
        steps.append(Step(stage="execution", round=round, code=code, answer=value, execution=ran))
        break
    correct = status == "answered" and rng.random() < 0.7
    return ProblemRecord(
        id=problem.id,
        dataset="math",
        method="creator",
        model="bench-model",
        status=status,
        prediction=f"{i}.5" if status == "answered" else None,
        target=problem.answer,
        correct=correct,
        correct_strict=correct,
        correct_paper=correct,
        rectifications=min(failures, 3),
        trace=steps,
        sandbox="bwrap",
    )


def build_run(path: Path, problems: int, seed: int) -> None:
    rng = random.Random(seed)
    (path / "config.json").write_text(
        EvalConfig(dataset="math", model="bench-model").model_dump_json()
    )
    with (path / "results.jsonl").open("w", encoding="utf-8") as out:
        for i, problem in enumerate(datasets.load("math")[:problems]):
            out.write(_record(problem, i, rng).model_dump_json() + "\n")


def _measure(page: Page, name: str) -> float:
    """The duration (ms) of the page's last ``creator:<name>`` measure (its own work)."""
    value = page.evaluate(
        f"(() => {{ const m = performance.getEntriesByName('creator:{name}'); "
        "return m[m.length - 1].duration; })()"
    )
    return float(value)


def browse(view: Path, chromium: str) -> dict[str, float]:
    figures: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        start = time.perf_counter()
        page.goto(view.as_uri())
        page.wait_for_selector("html[data-ready='1']")
        figures["load to ready, wall (ms)"] = (time.perf_counter() - start) * 1000
        figures["first list render, from navigation (ms)"] = page.evaluate(
            "performance.getEntriesByName('creator:list-rendered')[0].startTime"
        )
        figures["JS heap after load (MB)"] = page.evaluate(
            "performance.memory ? performance.memory.usedJSHeapSize / 1e6 : -1"
        )
        filters, walls = [], []
        for outcome in ("error", "wrong", "correct", "all") * 3:
            t = time.perf_counter()
            page.click(f"#filters button[data-filter='{outcome}']")  # the handler is synchronous
            walls.append((time.perf_counter() - t) * 1000)
            filters.append(_measure(page, "filter"))
        figures["filter, page work (median ms)"] = statistics.median(filters)
        figures["filter, click to new list incl. driver round trip (median ms)"] = (
            statistics.median(walls)
        )
        searches = []
        for word in ("triangle", "probability of", "math/geometry/4", "polynomial", "zzzz"):
            page.fill("#search", word)
            page.press("#search", "Enter")
            searches.append(_measure(page, "filter"))
        figures["search in the index (median ms)"] = statistics.median(searches)
        page.check("#search-traces")
        traced = []
        for word in ("solve_case_4711", "undefined_12", "sympyy", "nsimplify((a + b)"):
            page.fill("#search", word)
            page.press("#search", "Enter")
            traced.append(_measure(page, "filter"))
        figures["search in full traces, first (ms)"] = traced[0]
        figures["search in full traces, later (median ms)"] = statistics.median(traced[1:])
        page.uncheck("#search-traces")
        page.fill("#search", "")
        page.press("#search", "Enter")
        opens = []
        for j in range(12):
            row = page.locator("#rows .row").nth(j)
            row.click()
            opens.append(_measure(page, "open"))
        figures["open a problem, first (ms)"] = opens[0]
        figures["open a problem, later (median ms)"] = statistics.median(opens[1:])
        page.eval_on_selector("#list", "l => { l.scrollTop = l.scrollHeight / 2; }")
        page.wait_for_timeout(50)
        figures["rows in the DOM while scrolled"] = page.locator("#rows .row").count()
        browser.close()
        if errors:
            raise SystemExit(f"page errors: {errors}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="build the run in DIR and keep it")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run = args.keep or Path(scratch)
        run.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        build_run(run, args.problems, args.seed)
        made = time.perf_counter() - t
        results_mb = (run / "results.jsonl").stat().st_size / 1e6
        print(f"synthetic run: {args.problems} problems ({made:.1f} s)")
        print(f"results.jsonl: {results_mb:.1f} MB")
        t = time.perf_counter()
        view = write_view(run)
        built = time.perf_counter() - t
        print(f"build (read + write the page): {built:.2f} s")
        share = view.size_bytes / 1e6 / results_mb
        print(f"file size: {view.size_bytes / 1e6:.1f} MB ({share:.0%} of results.jsonl)")
        for name, value in browse(view.path, args.chromium).items():
            print(f"{name}: {value:.1f}")


if __name__ == "__main__":
    main()
