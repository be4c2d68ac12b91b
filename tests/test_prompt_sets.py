"""Prompt sets: the built-in prompts overlaid by a directory (``--prompts DIR``), checked at load,
exported, recorded with a run (a changed prompt is refused on resume), and really rendered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from string import Template

import pytest

from creator import ReferenceModel, ScriptedModel
from creator.cli.main import main
from creator.datasets import get
from creator.errors import ConfigError, InputError
from creator.eval import EvalConfig, run_eval
from creator.methods import METHODS
from creator.prompts import (
    METHOD_PROMPTS,
    OPTIONAL_TEMPLATES,
    PromptSet,
    export_prompts,
    is_template,
    load_prompt_dir,
    placeholders,
    render,
)
from creator.prompts.sets import DEMONSTRATED_BY
from creator.sandbox.base import Sandbox
from creator.stages.common import StageOptions

BUILTIN = PromptSet.builtin()


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def builtin_text(name: str) -> str:
    return BUILTIN.texts[name]


def test_the_builtin_set_is_the_package_files_and_the_tables_name_real_files():
    assert len(BUILTIN.names()) == 58 and BUILTIN.is_builtin
    assert render("creator/decision", problem="P", tool="T", examples="X", answer_format="F") == (
        BUILTIN.render("creator/decision", problem="P", tool="T", examples="X", answer_format="F")
    )
    for name in BUILTIN.names():
        if is_template(name):
            assert Template(builtin_text(name)).is_valid(), name
    assert set(METHOD_PROMPTS) == set(METHODS)
    assert all(is_template(t) and t in BUILTIN.texts for t in OPTIONAL_TEMPLATES)
    for uses in METHOD_PROMPTS.values():
        assert all(is_template(t) and t in BUILTIN.texts for t in uses.templates)
        assert all(f"examples/generic/{e}" in BUILTIN.texts for e in uses.examples)
    for templates in DEMONSTRATED_BY.values():
        assert all("examples" in placeholders(builtin_text(t)) for t in templates)


def test_a_directory_overrides_the_builtin_prompts_file_by_file(tmp_path):
    creation = write(
        tmp_path, "creator/creation.md", "MY CREATION PROMPT\n$examples\n$problem\n$hint"
    )
    write(tmp_path, "examples/math/creation.md", "MY MATH DEMONSTRATION")
    prompts = load_prompt_dir(tmp_path)
    assert dict(prompts.sources) == {
        "creator/creation": creation,
        "examples/math/creation": tmp_path / "examples/math/creation.md",
    }
    shown = prompts.render("creator/creation", examples="E", problem="Q?", hint="")
    assert shown.startswith("MY CREATION PROMPT\nE\nQ?")
    values = {"examples": "E", "problem": "Q", "tool": "T", "answer_format": "F"}
    assert prompts.render("creator/decision", **values) == BUILTIN.render(
        "creator/decision", **values
    )
    assert prompts.examples("math", "creation") == "MY MATH DEMONSTRATION"
    assert prompts.examples("tabmwp", "creation") == BUILTIN.examples("tabmwp", "creation")
    assert prompts.examples("math", "decision") == BUILTIN.examples("math", "decision")


def test_an_unknown_placeholder_is_refused_naming_the_file_and_the_placeholder(tmp_path):
    text = builtin_text("creator/decision") + "\n$toool\n"
    path = write(tmp_path, "creator/decision.md", text)
    line = text.count("\n")
    with pytest.raises(ConfigError) as caught:
        load_prompt_dir(tmp_path)
    message = str(caught.value)
    assert message.startswith(
        f"{path}:{line}: unknown placeholder $toool (creator/decision.md takes "
    )
    assert "$tool" in message and "\n" not in message


def test_a_missing_placeholder_is_refused_but_examples_may_be_left_out(tmp_path):
    text = builtin_text("creator/decision")
    write(tmp_path, "creator/decision.md", text.replace("$tool", "(no tool)"))
    with pytest.raises(ConfigError, match=r"decision\.md: placeholder \$tool is missing .*only "):
        load_prompt_dir(tmp_path)
    zero_shot = text.replace("## Examples\n\n$examples\n\n", "")
    assert "$examples" not in zero_shot
    write(tmp_path, "creator/decision.md", zero_shot)
    prompts = load_prompt_dir(tmp_path)
    shown = prompts.render(
        "creator/decision", examples="DEMO", problem="Q", tool="T", answer_format="F"
    )
    assert "DEMO" not in shown and "Q" in shown and "T" in shown


def test_a_dollar_that_starts_no_placeholder_is_refused_with_its_line(tmp_path):
    path = write(tmp_path, "cot/system.md", "You solve problems.\nIt costs $$5.\nNot $ this.\n")
    with pytest.raises(ConfigError) as caught:
        load_prompt_dir(tmp_path)
    assert str(caught.value) == (
        f"{path}:3: a $ that starts no placeholder (write $$ for a literal $)"
    )
    write(tmp_path, "cot/system.md", "You solve problems.\nIt costs $$5.\n")
    assert load_prompt_dir(tmp_path).render("cot/system") == "You solve problems.\nIt costs $5.\n"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("creator/creaton.md", "did you mean creator/creation.md?"),
        ("creator/creation.txt", "not a prompt file of creator"),
        ("examples/transfer/creation.md", "examples/transfer/ is not a prompt directory"),
        ("Creator/creation.md", "Creator/ is not a prompt directory .*did you mean creator/"),
        ("creation.md", "not a prompt file of creator"),
    ],
)
def test_a_file_that_is_not_a_prompt_is_refused(tmp_path, name, expected):
    write(tmp_path, name, "text")
    with pytest.raises(ConfigError, match=expected):
        load_prompt_dir(tmp_path)


def test_hidden_files_are_skipped_and_a_missing_directory_is_an_error(tmp_path):
    write(tmp_path, ".git/config", "[core]")
    write(tmp_path, "creator/.creation.md.swp", "x")
    assert load_prompt_dir(tmp_path).texts == BUILTIN.texts
    with pytest.raises(InputError, match="does not exist"):
        load_prompt_dir(tmp_path / "nowhere")
    with pytest.raises(InputError, match="is not a directory"):
        load_prompt_dir(write(tmp_path, "file.md", "x"))


def test_export_writes_every_builtin_file_and_loading_it_back_changes_nothing(tmp_path):
    written = export_prompts(tmp_path / "mine")
    assert len(written) == len(BUILTIN.names())
    assert (tmp_path / "mine/examples/math/creation.md").read_text() == builtin_text(
        "examples/math/creation"
    )
    prompts = load_prompt_dir(tmp_path / "mine")
    assert prompts.texts == BUILTIN.texts and len(prompts.sources) == len(written)
    for method in METHODS:
        assert prompts.hashes(method=method, dataset="math") == BUILTIN.hashes(
            method=method, dataset="math"
        )


def test_prompts_export_refuses_to_overwrite_unless_forced(tmp_path, capsys):
    target = tmp_path / "mine"
    assert main(["prompts", "export", str(target)]) == 0
    assert "wrote 58 prompt files" in capsys.readouterr().out
    edited = write(target, "creator/creation.md", "edited")
    assert main(["prompts", "export", str(target)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"creator: error: {target} already holds 58 of the 58 prompt files")
    assert "--force" in error and "\n" not in error
    assert edited.read_text() == "edited"
    assert main(["prompts", "export", str(target), "--force"]) == 0
    assert edited.read_text() == builtin_text("creator/creation")


def test_prompts_export_to_an_unwritable_place_is_one_line(tmp_path, capsys):
    blocker = write(tmp_path, "a-file", "x")
    for target in (blocker, blocker / "sub"):
        assert main(["prompts", "export", str(target)]) == 2
        error = capsys.readouterr().err.strip()
        assert error.startswith("creator: error: cannot ") and "\n" not in error, error


def test_prompts_list_shows_placeholders_and_which_files_a_directory_overrides(tmp_path, capsys):
    write(tmp_path, "pot/system.md", "Write short programs.")
    assert main(["prompts", "list", "--prompts", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"1 of 58 files from {tmp_path}")
    lines = {line.split()[0]: line for line in out.splitlines() if ".md" in line}
    assert "--prompts" in lines["pot/system.md"] and "built-in" in lines["pot/prompt.md"]
    assert (
        "$problem" in lines["pot/prompt.md"] and "demonstrations" in lines["examples/math/pot.md"]
    )
    write(tmp_path, "pot/prompt.md", "$problem $oops")
    assert main(["prompts", "list", "--prompts", str(tmp_path)]) == 2
    assert "unknown placeholder $oops" in capsys.readouterr().err


TOOL = "def add(a: float, b: float) -> float:\n    return a + b"


def test_an_overridden_prompt_reaches_the_model(tmp_path, sandbox):
    write(tmp_path, "creator/system.md", "SYSTEM FROM MY DIRECTORY")
    decision = builtin_text("creator/decision").replace("# Stage 2 of 3", "# MY DECISION STAGE")
    write(tmp_path, "creator/decision.md", decision)
    write(tmp_path, "examples/creation/creation.md", "MY CREATION DEMONSTRATION")
    model = ScriptedModel(
        [f"```python\n{TOOL}\n```", "```python\nprint('Final Answer:', add(2, 3))\n```"]
    )
    options = StageOptions(prompts=load_prompt_dir(tmp_path))
    result = asyncio.run(
        METHODS["creator"](get("creation/0"), model=model, sandbox=sandbox, options=options)
    )
    assert result.answer == "5"
    creation, decided = model.calls
    assert [m.content for m in creation.messages[:1] + decided.messages[:1]] == [
        "SYSTEM FROM MY DIRECTORY\n"
    ] * 2
    assert "MY CREATION DEMONSTRATION" in creation.messages[1].content
    assert "dew_point" not in creation.messages[1].content  # the built-in demonstration
    assert decided.messages[1].content.startswith("# MY DECISION STAGE")


def test_solve_with_prompts_sends_them(tmp_path, capsys):
    write(tmp_path, "creator/creation.md", "CREATE A TOOL, PLEASE\n$examples\n$problem\n$hint")
    code = main(
        [
            "solve",
            "--problem",
            "creation/0",
            "--model",
            "reference",
            "--no-cache",
            "--json",
            "--prompts",
            str(tmp_path),
        ]
    )
    assert code == 0
    trace = json.loads(capsys.readouterr().out)["trace"]
    assert trace[0]["call"]["messages"][1]["content"].startswith("CREATE A TOOL, PLEASE\n")


def evaluate(
    config: EvalConfig, out: Path, sandbox: Sandbox, prompts: PromptSet | None = None
) -> dict[str, object]:
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


def test_a_changed_prompt_is_refused_on_resume_naming_the_file(tmp_path, sandbox):
    mine, out = tmp_path / "prompts", tmp_path / "run"
    write(mine, "creator/decision.md", builtin_text("creator/decision") + "\nBe careful.")
    config = EvalConfig(dataset="creation", model="reference", limit=1)
    evaluate(config, out, sandbox, load_prompt_dir(mine))
    recorded = json.loads((out / "config.json").read_text())["prompts"]
    assert recorded == load_prompt_dir(mine).hashes(method="creator", dataset="creation")
    assert "examples/creation/decision.md" in recorded and "pot/prompt.md" not in recorded
    write(mine, "pot/prompt.md", builtin_text("pot/prompt") + "\nA prompt creator never uses.")
    assert evaluate(config, out, sandbox, load_prompt_dir(mine))["resumed_from"] == 1
    write(mine, "creator/decision.md", builtin_text("creator/decision") + "\nBe very careful.")
    with pytest.raises(InputError) as caught:
        evaluate(config, out, sandbox, load_prompt_dir(mine))
    assert "different settings (prompts.creator/decision.md: " in str(caught.value)
    with pytest.raises(InputError, match=r"prompts\.creator/decision\.md"):
        evaluate(config, out, sandbox)  # the built-in prompts differ from the run's too


def test_a_run_recorded_before_prompt_hashes_resumes(tmp_path, sandbox):
    config = EvalConfig(dataset="creation", model="reference", limit=1)
    evaluate(config, tmp_path, sandbox)
    path = tmp_path / "config.json"
    old = json.loads(path.read_text())
    del old["prompts"]
    path.write_text(json.dumps(old))
    assert evaluate(config, tmp_path, sandbox)["resumed_from"] == 1
    assert "prompts" in json.loads(path.read_text())  # recorded from now on


class Recording(dict[str, str]):
    """The files of a prompt set, noting every one that is read."""

    def __init__(self, texts: dict[str, str]) -> None:
        super().__init__(texts)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        if key in self:
            self.read.add(key)
        return super().get(key, default)


BAD_TOOL = "```python\nimport no_such_module\n```"
FAILING = "```python\nprint(undefined)\n```"
GOOD_TOOL = f"```python\n{TOOL}\n```"
GOOD_CODE = "```python\nprint('Final Answer:', 5)\n```"
SCRIPTS: dict[str, list[str]] = {  # replies taking each method through its repair paths
    "creator": ["no code here", BAD_TOOL, GOOD_TOOL, FAILING, "still none", GOOD_CODE],
    "toolcreate-whole": [FAILING, "no code", GOOD_CODE],
    "pot": [FAILING],
    "cot": ["Two and three. Final Answer: 5"],
    "standard": ["Final Answer: 5"],
    "tooluse": ["Add them.\nQUERY: 2 + 3", "Final Answer: 5"],
}


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("problem_id", ["math/algebra/0", "tabmwp/0"])
def test_the_recorded_hashes_cover_every_prompt_a_run_renders(method, problem_id, sandbox):
    texts = Recording(dict(BUILTIN.texts))
    options = StageOptions(prompts=PromptSet(texts=texts))
    replies: Sequence[str] = SCRIPTS[method]
    model = ScriptedModel(replies)
    problem = get(problem_id)
    result = asyncio.run(METHODS[method](problem, model=model, sandbox=sandbox, options=options))
    assert model.pending == 0, result.error
    dataset = problem_id.split("/")[0]
    hashed = BUILTIN.hashes(method=method, dataset=dataset)
    read = {f"{name}.md" for name in texts.read}
    assert read and read <= set(hashed), read - set(hashed)
    assert f"examples/{dataset}/answer_format.md" in read


def test_an_invalid_prompt_directory_stops_eval_before_anything(tmp_path, capsys):
    write(tmp_path / "p", "creator/creation.md", "$problem only")
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
            str(tmp_path / "run"),
            "--prompts",
            str(tmp_path / "p"),
        ]
    )
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("creator: error: ") and "placeholder $examples" not in error
    assert "placeholder $hint is missing" in error
    assert not (tmp_path / "run").exists()


def test_reports_put_runs_of_one_prompt_set_on_different_datasets_in_one_row(tmp_path):
    from creator.report.runs import row_settings

    def settings(dataset: str, prompts: PromptSet) -> dict[str, str]:
        hashes = prompts.hashes(method="creator", dataset=dataset)
        return row_settings(EvalConfig(dataset=dataset, model="m", prompts=hashes))

    assert BUILTIN.hashes(method="creator", dataset="math") != BUILTIN.hashes(
        method="creator", dataset="tabmwp"
    )
    assert settings("math", BUILTIN) == settings("tabmwp", BUILTIN)
    write(tmp_path, "creator/system.md", "Another system prompt.")
    assert settings("math", load_prompt_dir(tmp_path)) != settings("tabmwp", BUILTIN)
