"""``--examples FILE``: the user's demonstrations, rendered in the built-in layout, shown to the
model in place of the built-in ones, run in the real sandbox before the first model call."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from creator import ReferenceModel, ScriptedModel
from creator.cli.main import main
from creator.datasets import get
from creator.errors import ConfigError, InputError
from creator.eval import EvalConfig, run_eval
from creator.methods import METHODS
from creator.prompts import PromptSet, check_examples, load_prompt_dir, prompt_set, read_examples
from creator.prompts.user_examples import MAX_EXAMPLES_BYTES
from creator.sandbox import make_sandbox
from creator.sandbox.base import Limits, Sandbox
from creator.stages.common import StageOptions

TOOL = (
    'def area(width: float, height: float) -> float:\n    """Area of a rectangle."""\n'
    "    return width * height"
)
DECISION = "print(f'Final Answer: {area(3, 4)}')"
ROW = {
    "problem": "A rug is 3 m by 4 m. What is its area?",
    "tool": TOOL,
    "decision": DECISION,
    "program": "print('Final Answer:', 3 * 4)",
    "reasoning": "The area is the product of the sides: 3 times 4 is 12.",
    "answer": 12,
}
SECOND = {
    "problem": "How many legs do 3 spiders have?",
    "context": "Animal | Legs\nspider | 8",
    "context_label": "Table",
    "tool": "def legs(count: int, per_animal: int) -> int:\n    return count * per_animal",
    "decision": "print('Final Answer:', legs(3, 8))",
    "program": "print('Final Answer:', 3 * 8)",
    "reasoning": "Each spider has 8 legs, so 3 have 24.",
    "answer": "24",
}


def write_rows(path: Path, *rows: Mapping[str, object] | str) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


SECOND_PROBLEM = "How many legs do 3 spiders have?\n\nTable:\nAnimal | Legs\nspider | 8"


def test_rows_are_rendered_in_the_layout_of_the_builtin_demonstrations(tmp_path):
    path = write_rows(tmp_path / "mine.jsonl", ROW, "", SECOND)
    creator = read_examples(path, method="creator")
    assert [r.line for r in creator.rows] == [1, 3]
    first, second = creator.texts["creation"].split("\n\n---\n\n")
    assert first == f"Problem:\n{ROW['problem']}\n\nTool:\n```python\n{TOOL}\n```"
    assert second.startswith(f"Problem:\n{SECOND_PROBLEM}\n\nTool:\n```python\ndef legs(")
    decision = creator.texts["decision"].split("\n\n---\n\n")[0]
    assert decision.endswith(f"\n```\n\nDecision:\n```python\n{DECISION}\n```")
    whole = read_examples(path, method="toolcreate-whole").texts["whole"]
    assert whole.split("\n\n---\n\n")[0] == (
        f"Problem:\n{ROW['problem']}\n\nProgram:\n```python\n{TOOL}\n\n\n{DECISION}\n```"
    )
    pot = read_examples(path, method="pot").texts["pot"]
    assert pot.endswith(
        f"Problem:\n{SECOND_PROBLEM}\n\nProgram:\n```python\n{SECOND['program']}\n```"
    )
    cot = read_examples(path, method="cot").texts["cot"]
    assert cot.split("\n\n---\n\n")[0] == (
        f"Problem:\n{ROW['problem']}\n\nSolution:\n{ROW['reasoning']}\nFinal Answer: 12"
    )
    standard = read_examples(path, method="standard").texts["standard"]
    assert standard.split("\n\n---\n\n")[1] == f"Problem:\n{SECOND_PROBLEM}\n\nFinal Answer: 24"


def test_the_examples_replace_the_builtin_ones_in_what_the_model_receives(tmp_path, sandbox):
    path = write_rows(tmp_path / "mine.jsonl", ROW, SECOND)
    prompts = prompt_set(examples=path, method="creator")
    model = ScriptedModel(
        ["```python\ndef f(x):\n    return x\n```", "```python\nprint('Final Answer:', f(5))\n```"]
    )
    problem = get("creation/0")  # whose built-in demonstration is a dew point tool
    result = asyncio.run(
        METHODS["creator"](
            problem, model=model, sandbox=sandbox, options=StageOptions(prompts=prompts)
        )
    )
    assert result.answer == "5"
    creation, decision = (call.messages[1].content for call in model.calls)
    assert prompts.texts == PromptSet.builtin().texts
    assert f"## Examples\n\n{prompts.examples('creation', 'creation')}\n\n## Your problem" in (
        creation
    )
    assert f"Tool:\n```python\n{TOOL}\n```" in creation and SECOND_PROBLEM in creation
    assert f"Decision:\n```python\n{DECISION}\n```" in decision
    for shown in (creation, decision):
        assert "dew_point" not in shown and "border_area" not in shown
    pot_model = ScriptedModel(["```python\nprint('Final Answer:', 7)\n```"])
    pot = prompt_set(examples=path, method="pot")
    asyncio.run(
        METHODS["pot"](problem, model=pot_model, sandbox=sandbox, options=StageOptions(prompts=pot))
    )
    assert (
        f"Program:\n```python\n{SECOND['program']}\n```" in pot_model.calls[0].messages[1].content
    )


def test_a_failing_example_stops_the_run_before_any_model_call_naming_it(tmp_path, sandbox):
    broken = dict(SECOND, decision="print('Final Answer:', legs(3, undefined_name))")
    path = write_rows(tmp_path / "mine.jsonl", ROW, "", broken, ROW)
    model = ScriptedModel()
    out = tmp_path / "run"
    with pytest.raises(InputError) as caught:
        asyncio.run(
            run_eval(
                EvalConfig(dataset="creation", model="scripted", limit=1),
                out_dir=out,
                model=model,
                sandbox=sandbox,
                prompts=prompt_set(examples=path, method="creator"),
            )
        )
    assert str(caught.value) == (
        f"{path}:3: example 2 failed: NameError: name 'undefined_name' is not defined"
    )
    assert model.calls == [] and not (out / "config.json").exists()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"tool": "def area(w, h):\n    return w * h / 0"}, "failed: ZeroDivisionError"),
        ({"decision": "while True:\n    pass"}, "failed: TimeoutError"),
        ({"decision": "print(area(3, 4))"}, "printed no `Final Answer: <value>` line"),
        (
            {"decision": "import os\nprint('Final Answer:', os.environ['OPENAI_API_KEY'])"},
            "failed: KeyError: 'OPENAI_API_KEY'",
        ),
    ],
)
def test_the_sandbox_really_runs_each_example(tmp_path, sandbox, monkeypatch, change, expected):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-host-secret")  # the host's, never the sandbox's
    path = write_rows(tmp_path / "mine.jsonl", SECOND, dict(ROW, **change))
    examples = read_examples(path, method="creator")
    with pytest.raises(InputError) as caught:
        asyncio.run(check_examples(examples, sandbox=sandbox, limits=Limits(timeout_s=1)))
    assert str(caught.value).startswith(f"{path}:2: example 2 {expected}")


def test_the_first_failing_example_is_reported_without_waiting_for_the_rest(tmp_path):
    looping = dict(ROW, decision="while True:\n    pass")
    failing = dict(ROW, tool="def area(w, h):\n    return w * h / 0")
    path = write_rows(tmp_path / "mine.jsonl", SECOND, failing, *[looping] * 4)
    examples = read_examples(path, method="creator")
    # Its own sandbox: the looping rows that had started go on running until it is closed.
    box = make_sandbox("auto", workers=2)
    try:
        started = time.monotonic()
        with pytest.raises(InputError) as caught:
            asyncio.run(check_examples(examples, sandbox=box, limits=Limits(timeout_s=30)))
        elapsed = time.monotonic() - started
    finally:
        box.close()
    assert str(caught.value).startswith(f"{path}:2: example 2 failed: ZeroDivisionError")
    assert elapsed < 20  # the looping rows were not waited for (each runs for 30 s)


def test_an_example_whose_output_was_cut_says_so(tmp_path, sandbox):
    decision = "print('x' * 50_000)\nprint('Final Answer:', area(3, 4))"
    path = write_rows(tmp_path / "mine.jsonl", dict(ROW, decision=decision))
    examples = read_examples(path, method="creator")
    with pytest.raises(InputError) as caught:
        limits = Limits(max_output_bytes=10_000)
        asyncio.run(check_examples(examples, sandbox=sandbox, limits=limits))
    assert str(caught.value) == (
        f"{path}:1: example 1 printed more than the sandbox keeps, and its output was cut "
        "before any `Final Answer: <value>` line"
    )
    asyncio.run(check_examples(examples, sandbox=sandbox))  # within the default cap: fine


def test_an_examples_file_that_is_a_pipe_a_device_or_too_large_is_refused_unread(tmp_path):
    pipe = tmp_path / "pipe.jsonl"
    os.mkfifo(pipe)  # opened for reading, it would block for ever
    with pytest.raises(InputError) as caught:
        read_examples(pipe, method="creator")
    assert str(caught.value) == f"examples file {pipe}: not a regular file (a named pipe)"
    zero = tmp_path / "zero.jsonl"
    zero.symlink_to("/dev/zero")  # read whole, it would never end
    with pytest.raises(InputError) as caught:
        read_examples(zero, method="creator")
    assert str(caught.value) == f"examples file {zero}: not a regular file (a character device)"
    large = tmp_path / "large.jsonl"
    with large.open("wb") as handle:
        handle.truncate(MAX_EXAMPLES_BYTES + 1)  # sparse: no disk used, and never read
    with pytest.raises(InputError) as caught:
        read_examples(large, method="creator")
    assert str(caught.value) == (
        f"examples file {large}: the file is 16,777,217 bytes, larger than the 16 MiB limit"
    )


def test_pot_examples_run_as_programs_and_prose_examples_run_nothing(tmp_path, sandbox):
    path = write_rows(tmp_path / "mine.jsonl", dict(ROW, program="print('Final Answer:', 1/0)"))
    with pytest.raises(InputError, match=r":1: example 1 failed: ZeroDivisionError"):
        asyncio.run(check_examples(read_examples(path, method="pot"), sandbox=sandbox))
    for method in ("creator", "cot", "standard"):
        asyncio.run(check_examples(read_examples(path, method=method), sandbox=sandbox))


@pytest.mark.parametrize(
    ("rows", "method", "expected"),
    [
        (
            [{"problem": "P", "tool": "x = 1"}],
            "creator",
            ':1: example 1 has no "decision" (--method creator needs problem, tool, decision)',
        ),
        ([ROW, {"problem": "P", "answer": "1"}], "pot", ':2: example 2 has no "program"'),
        (["{not json"], "creator", ":1: not valid JSON (Expecting property name"),
        (['["a list"]'], "creator", ":1: a row must be a JSON object, not list"),
        ([dict(ROW, decison="typo")], "creator", ':1: unknown field "decison"'),
        ([dict(ROW, tool="```python\nx = 1\n```")], "creator", 'give "tool" as plain code'),
        ([dict(ROW, reasoning="3 x 4. Final Answer: 12")], "cot", '"reasoning" must not hold'),
        ([dict(ROW, problem="  ")], "creator", '"problem" must be a non-empty string'),
        ([""], "creator", "holds no examples"),
    ],
)
def test_malformed_rows_are_one_line_errors_naming_the_line(tmp_path, rows, method, expected):
    path = write_rows(tmp_path / "mine.jsonl", *rows)
    with pytest.raises(InputError) as caught:
        read_examples(path, method=method)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_methods_without_user_examples_and_hidden_examples_are_refused(tmp_path):
    path = write_rows(tmp_path / "mine.jsonl", ROW)
    with pytest.raises(ConfigError, match="not supported for --method tooluse"):
        read_examples(path, method="tooluse")
    with pytest.raises(InputError, match="examples file not found"):
        read_examples(tmp_path / "missing.jsonl", method="creator")
    prompts = tmp_path / "prompts"
    (prompts / "pot").mkdir(parents=True)
    (prompts / "pot/prompt.md").write_text("Solve it.\n$answer_format\n$problem\n")
    assert load_prompt_dir(prompts)  # a zero-shot prompt is fine on its own
    with pytest.raises(ConfigError, match=r"pot/prompt\.md has no \$examples"):
        prompt_set(directory=prompts, examples=path, method="pot")


def evaluate(config: EvalConfig, out: Path, sandbox: Sandbox, examples: Path) -> dict[str, object]:
    prompts = prompt_set(examples=examples, method=config.method)
    return asyncio.run(
        run_eval(
            config,
            out_dir=out,
            model=ReferenceModel(),
            sandbox=sandbox,
            prompts=prompts,
            check_endpoint=False,
        )
    )


def test_the_examples_join_the_run_identity(tmp_path, sandbox):
    path, out = write_rows(tmp_path / "mine.jsonl", ROW), tmp_path / "run"
    config = EvalConfig(dataset="creation", model="reference", limit=1)
    evaluate(config, out, sandbox, path)
    recorded = json.loads((out / "config.json").read_text())["prompts"]
    assert {"--examples/creation", "--examples/decision"} <= set(recorded)
    assert "examples/creation/creation.md" not in recorded
    assert "examples/creation/rectification.md" in recorded  # the repairs stay built-in
    assert evaluate(config, out, sandbox, path)["resumed_from"] == 1
    write_rows(path, ROW, SECOND)
    with pytest.raises(InputError, match=r"different settings \(prompts\.--examples/creation: "):
        evaluate(config, out, sandbox, path)


def test_eval_with_a_failing_example_exits_2_with_one_line(tmp_path, capsys):
    path = write_rows(tmp_path / "mine.jsonl", dict(ROW, decision="print(area(3))"))
    out = tmp_path / "run"
    code = main(
        [
            "eval",
            "--dataset",
            "creation",
            "--model",
            "reference",
            "--limit",
            "1",
            "--out",
            str(out),
            "--examples",
            str(path),
        ]
    )
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error == (
        f"creator: error: {path}:1: example 1 failed: TypeError: area() missing 1 required "
        "positional argument: 'height'"
    )
    assert not out.exists()


def test_solve_runs_the_examples_first_and_shows_them_to_the_model(tmp_path, capsys):
    path = write_rows(tmp_path / "mine.jsonl", ROW)
    code = main(
        [
            "solve",
            "--problem",
            "creation/0",
            "--model",
            "reference",
            "--no-cache",
            "--json",
            "--examples",
            str(path),
        ]
    )
    assert code == 0
    trace = json.loads(capsys.readouterr().out)["trace"]
    assert f"Tool:\n```python\n{TOOL}\n```" in trace[0]["call"]["messages"][1]["content"]
    write_rows(path, dict(ROW, decision="raise SystemExit(3)"))
    code = main(
        ["solve", "--problem", "creation/0", "--model", "reference", "--examples", str(path)]
    )
    assert code == 2
    assert f"{path}:1: example 1 failed" in capsys.readouterr().err
