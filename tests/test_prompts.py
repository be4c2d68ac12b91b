import pytest

from creator import prompts


def test_templates_exist_and_fill():
    text = prompts.render("creator/decision", problem="What is $5 + $$3?", tool="def f(): ...")
    assert "What is $5 + $$3?" in text and "def f(): ..." in text
    assert "Final Answer" in text


def test_missing_value_is_named():
    with pytest.raises(KeyError, match="tool"):
        prompts.render("creator/decision", problem="x")


@pytest.mark.parametrize(
    "name", ["system", "creation", "creation_retry", "decision", "rectification", "no_code"]
)
def test_every_creator_template_renders_with_its_values(name):
    values = {"problem": "P", "tool": "T", "code": "C", "error": "E"}
    assert prompts.render(f"creator/{name}", **values).strip()
