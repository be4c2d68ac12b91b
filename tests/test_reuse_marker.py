"""Reading the ``REUSE: <tool>`` marker of a Creation reply against the offered tools."""

from __future__ import annotations

from pathlib import Path

import pytest

from creator.stages.reuse import offered_label, read_reuse, render_offered
from creator.tools import ToolLibrary, ToolRecord
from tests.tools.conftest import CIRCLE, INTEREST, SPEED

TWIN = '''
def circle_area(r: float) -> float:
    """Area of a circle (a second tool of the same name, another body)."""
    return 3.14159 * r * r
'''


@pytest.fixture
def offered(tmp_path: Path) -> list[ToolRecord]:
    with ToolLibrary(tmp_path / "lib.sqlite") as library:
        return [library.add(code, problem="p", verified=True) for code in (INTEREST, CIRCLE, SPEED)]


@pytest.mark.parametrize(
    "reply",
    [
        "REUSE: circle_area",
        "reuse: circle_area",
        "I looked at the library.\n\n**REUSE:** `circle_area`\n",
        "REUSE = circle_area()",
        "- Reuse: circle_area(radius)",
        "REUSE: the circle_area tool",
    ],
)
def test_a_marker_names_an_offered_tool(reply: str, offered: list[ToolRecord]) -> None:
    choice = read_reuse(reply, offered)
    assert choice is not None and choice.error is None
    assert choice.tool is not None and choice.tool.name == "circle_area"


def test_a_marker_may_name_a_tool_by_its_id(offered: list[ToolRecord]) -> None:
    speed = offered[2]
    choice = read_reuse(f"REUSE: #{speed.id}", offered)
    assert choice is not None and choice.tool == speed
    missing = read_reuse("REUSE: #999", offered)
    assert missing is not None and missing.tool is None
    assert "#999" in (missing.error or "") and "was not offered" in (missing.error or "")


def test_an_unknown_name_is_an_error_listing_the_offered_tools(offered: list[ToolRecord]) -> None:
    choice = read_reuse("REUSE: triangle_area", offered)
    assert choice is not None and choice.tool is None
    assert choice.error is not None
    assert "'triangle_area'" in choice.error
    for tool in offered:
        assert offered_label(tool) in choice.error


def test_no_marker_declined_marker_and_marker_inside_code_mean_create(
    offered: list[ToolRecord],
) -> None:
    assert read_reuse("```python\ndef f(x):\n    return x\n```", offered) is None
    assert read_reuse("REUSE: none\n```python\ndef f(x):\n    return x\n```", offered) is None
    inside = "```python\n# REUSE: circle_area\ndef f(x):\n    return x\n```"
    assert read_reuse(inside, offered) is None
    assert read_reuse("We could reuse: circle_area, but no.", offered) is None
    assert read_reuse("REUSE: circle_area", []) is None  # nothing was offered


def test_a_name_shared_by_two_offered_tools_must_be_given_by_id(tmp_path: Path) -> None:
    with ToolLibrary(tmp_path / "lib.sqlite") as library:
        tools = [library.add(code, problem="p") for code in (CIRCLE, TWIN)]
    choice = read_reuse("REUSE: circle_area", tools)
    assert choice is not None and choice.tool is None
    assert "name one by its #id" in (choice.error or "")
    by_id = read_reuse(f"REUSE: {tools[1].ref}", tools)
    assert by_id is not None and by_id.tool == tools[1]


def test_offered_tools_are_shown_with_name_id_and_code(offered: list[ToolRecord]) -> None:
    text = render_offered(offered)
    for tool in offered:
        assert f"`{tool.name}` ({tool.ref})" in text
        assert tool.code.strip() in text
