"""Figures checked by their content (lines, labels, titles, PNG metadata), never by pixels."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy
import pytest

from creator.models.reference import REFERENCE_LABEL
from creator.report.plots import (
    PlotsUnavailableError,
    draw,
    level_figure,
    line_labels,
    rounds_figure,
    save,
)
from creator.report.runs import load_run, load_runs
from tests.report.conftest import rec, write_run


def test_level_figure_has_one_line_per_math_run(
    tmp_path: Path, math_run: Path, pot_run: Path, creation_runs: list[Path]
) -> None:
    runs = load_runs([math_run, pot_run, *creation_runs])
    spec = level_figure(runs)
    assert spec is not None and spec.x == (1, 2, 3, 4, 5)
    assert [s.label for s in spec.series] == ["pot · gpt-4o-mini", "creator · gpt-4o-mini"]
    assert spec.series[1].y == (1.0, 0.0, 0.0, None, 0.5)
    assert "replay" not in spec.title
    figure = save(spec, tmp_path / "level.png")
    (axes,) = figure.axes
    lines = axes.get_lines()
    assert len(lines) == 2
    assert [line.get_label() for line in lines] == [s.label for s in spec.series]
    assert numpy.asarray(lines[1].get_ydata(), dtype=float)[:3].tolist() == [100.0, 0.0, 0.0]
    assert axes.get_title() == spec.title
    legend = figure.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == [s.label for s in spec.series]


def test_no_level_figure_without_math(creation_runs: list[Path]) -> None:
    assert level_figure(load_runs(creation_runs)) is None


def test_the_png_carries_its_title_and_lines(tmp_path: Path, math_run: Path) -> None:
    from PIL import Image

    spec = rounds_figure([load_run(math_run)], 3)
    assert spec is not None
    save(spec, tmp_path / "rounds.png")
    with Image.open(tmp_path / "rounds.png") as image:
        assert image.format == "PNG"
        text = dict(image.text)  # type: ignore[attr-defined]
    assert text["Title"] == spec.title
    described = json.loads(text["Description"])
    assert described["x"] == [0, 1, 2, 3]
    assert [line["label"] for line in described["lines"]] == ["creator · gpt-4o-mini · MATH"]
    assert described["lines"][0]["y"] == pytest.approx([1 / 6, 2 / 6, 3 / 6, 3 / 6])


def test_replays_are_named_in_the_title_and_the_legend(tmp_path: Path) -> None:
    replay = write_run(tmp_path / "r", [rec("math/algebra/0", strict=True, level=2, replay=True)],
                       dataset="math", model="reference")  # fmt: skip
    llm = write_run(tmp_path / "l", [rec("math/algebra/0", strict=False, level=2)], dataset="math")
    runs = load_runs([replay, llm])
    for spec in (level_figure(runs), rounds_figure(runs, 3)):
        assert spec is not None
        assert "replay" in spec.title and "not an LLM" in spec.title
        figure = draw(spec)
        assert "not an LLM" in figure.axes[0].get_title()
        labels = [str(line.get_label()) for line in figure.axes[0].get_lines()]
        assert len(labels) == 2 and any(REFERENCE_LABEL in label for label in labels)
        styles = {line.get_label(): line.get_linestyle() for line in figure.axes[0].get_lines()}
        assert sorted(styles.values()) == ["-", "--"]  # the replay dashed


def test_same_labels_are_told_apart_by_run(tmp_path: Path, math_run: Path) -> None:
    other = write_run(tmp_path / "b", [rec("math/algebra/0", strict=True, level=1)], dataset="math")
    runs = load_runs([math_run, other])
    assert line_labels(runs) == [f"creator · gpt-4o-mini ({run.name})" for run in runs]


def test_a_dollar_in_a_model_name_is_not_mathtext(tmp_path: Path) -> None:
    path = write_run(tmp_path / "d", [rec("math/algebra/0", strict=True, level=1)], dataset="math",
                     model="cheap$model$")  # fmt: skip
    spec = level_figure([load_run(path)])
    assert spec is not None
    figure = save(spec, tmp_path / "d.png")
    assert figure.axes[0].get_lines()[0].get_label() == r"creator · cheap\$model\$"


def test_without_matplotlib_drawing_is_a_typed_error(
    monkeypatch: pytest.MonkeyPatch, math_run: Path
) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    spec = level_figure([load_run(math_run)])
    assert spec is not None
    with pytest.raises(PlotsUnavailableError, match=r"creator\[report\]"):
        draw(spec)
