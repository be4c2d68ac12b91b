import pytest

from creator import prompts
from creator.datasets import get
from creator.stages.common import StageOptions, hint_text, render_prompt

ALL = {"problem": "P", "tool": "T", "code": "C", "error": "E", "examples": "X"}
ALL |= {"answer_format": "F", "hint": "", "tools": "L", "name": "N"}


def test_values_are_inserted_verbatim():
    text = prompts.render("creator/decision", **(ALL | {"problem": "What is $5 + $$3?"}))
    assert "What is $5 + $$3?" in text and "Final Answer" in text


def test_missing_value_is_named():
    with pytest.raises(KeyError, match="tool"):
        prompts.render("creator/decision", **{k: v for k, v in ALL.items() if k != "tool"})


@pytest.mark.parametrize(
    "name",
    [
        "creator/system",
        "creator/creation",
        "creator/creation_retry",
        "creator/decision",
        "creator/rectification",
        "creator/no_code",
        "creator/creation_reuse",
        "creator/reuse_unknown",
        "creator/reuse_failed",
        "whole/system",
        "whole/prompt",
        "pot/system",
        "pot/prompt",
        "cot/system",
        "cot/prompt",
        "standard/system",
        "standard/prompt",
    ],
)
def test_every_template_renders(name):
    assert prompts.render(name, **ALL).strip()


def test_examples_fall_back_to_generic():
    assert prompts.examples("no-such-dataset", "creation") == prompts.examples(None, "creation")
    with pytest.raises(FileNotFoundError):
        prompts.examples(None, "no-such-stage")


def test_hints_reveal_utility_then_args_and_return_but_never_the_tool():
    problem = get("creation/0")
    assert hint_text(problem, "none") == ""
    utility = hint_text(problem, "utility")
    assert "polygon" in utility and "sides (int)" not in utility
    full = hint_text(problem, "all")
    assert "sides (int)" in full and "perimeter" in full
    for mode in ("utility", "all"):
        text = render_prompt(
            "creator/creation",
            examples="creation",
            problem=problem,
            options=StageOptions(hint=mode),
        )
        assert "def polygon_perimeter" not in text and "Hint." in text
