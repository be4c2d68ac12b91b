"""Figures checked by their content (lines, labels, titles, PNG metadata), never by pixels."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from xml.etree import ElementTree

import numpy
import pytest

from creator.errors import InputError
from creator.eval.config import EvalConfig
from creator.methods import METHODS
from creator.models import ScriptedModel
from creator.models.reference import REFERENCE_LABEL
from creator.problem import Problem
from creator.report.measures import wilson
from creator.report.plots import (
    MARKERS,
    PlotsUnavailableError,
    draw,
    level_figure,
    line_labels,
    metadata,
    offsets,
    parse_formats,
    rounds_figure,
    save,
)
from creator.report.runs import RECTIFYING_METHODS, Run, load_run, load_runs
from creator.report.usage import max_rounds, rounds_table
from creator.sandbox.base import Sandbox
from tests.report.conftest import MATH_RECORDS, rec, write_run


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
    # pot has one record per level drawn (n=1 each): its n is in the legend; creator's n
    # differ by level (2, 1, 1, 0, 2), so they are written by its points instead
    assert [line.get_label() for line in lines] == ["pot · gpt-4o-mini (n=1)",
                                                    "creator · gpt-4o-mini"]  # fmt: skip
    assert numpy.asarray(lines[1].get_ydata(), dtype=float)[:3].tolist() == [100.0, 0.0, 0.0]
    assert sorted(t.get_text() for t in axes.texts) == ["n=1", "n=1", "n=2", "n=2"]
    assert axes.get_title() == spec.title
    legend = figure.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == [s.legend for s in spec.series]


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
    other = write_run(tmp_path / "b", [rec("math/algebra/0", strict=True, level=1)],
                      dataset="math", ids=[r.id for r in MATH_RECORDS])  # fmt: skip
    runs = load_runs([math_run, other])
    assert line_labels(runs) == [f"creator · gpt-4o-mini ({run.name})" for run in runs]


def test_a_dollar_in_a_model_name_is_not_mathtext(tmp_path: Path) -> None:
    path = write_run(tmp_path / "d", [rec("math/algebra/0", strict=True, level=1)], dataset="math",
                     model="cheap$model$")  # fmt: skip
    spec = level_figure([load_run(path)])
    assert spec is not None
    figure = save(spec, tmp_path / "d.png")
    assert figure.axes[0].get_lines()[0].get_label() == r"creator · cheap\$model\$ (n=1)"


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


def test_same_labels_are_told_apart_by_their_settings(tmp_path: Path, math_run: Path) -> None:
    hot = write_run(tmp_path / "hot", [rec("math/algebra/0", strict=True, level=1)],
                    dataset="math", ids=[r.id for r in MATH_RECORDS],
                    settings={"temperature": 0.9})  # fmt: skip
    runs = load_runs([math_run, hot])
    assert dict(zip((r.path for r in runs), line_labels(runs), strict=True)) == {
        math_run: "creator · gpt-4o-mini (temperature=0.3)",
        hot: "creator · gpt-4o-mini (temperature=0.9)",
    }


def _twins(tmp_path: Path) -> list[Run]:
    """Two runs whose lines would coincide: the same records, another directory."""
    return load_runs(
        [write_run(tmp_path / name, MATH_RECORDS, dataset="math") for name in ("a", "b")]
    )


def test_identical_series_stay_distinguishable(tmp_path: Path) -> None:
    spec = rounds_figure(_twins(tmp_path), 3)
    assert spec is not None and spec.series[0].y == spec.series[1].y
    figure = draw(spec)
    first, second = figure.axes[0].get_lines()
    assert first.get_marker() != second.get_marker()
    assert first.get_marker() == MARKERS[0] and second.get_marker() == MARKERS[1]
    x1 = numpy.asarray(first.get_xdata(), dtype=float)
    x2 = numpy.asarray(second.get_xdata(), dtype=float)
    assert (x2 - x1 > 0.05).all() and numpy.abs(x1 - numpy.arange(4)).max() < 0.2
    assert numpy.asarray(first.get_ydata()).tolist() == numpy.asarray(second.get_ydata()).tolist()


def test_offsets_are_centred_and_bounded() -> None:
    assert offsets(1) == [0.0]
    spread = offsets(10)
    assert spread[0] == pytest.approx(-0.15) and spread[-1] == pytest.approx(0.15)
    assert sum(spread) == pytest.approx(0.0) and len(set(spread)) == 10


def test_points_have_wilson_error_bars_and_their_n(tmp_path: Path, math_run: Path) -> None:
    spec = rounds_figure([load_run(math_run)], 3)
    assert spec is not None
    (series,) = spec.series
    assert series.n == (6, 6, 6, 6) and series.same_n == 6
    # 1, 2, 3, 3 of 6 correct within r rounds
    for k, low, high in zip((1, 2, 3, 3), series.low, series.high, strict=True):
        assert (low, high) == pytest.approx(wilson(k, 6))
    figure = draw(spec)
    axes = figure.axes[0]
    assert axes.get_lines()[0].get_label() == "creator · gpt-4o-mini · MATH (n=6)"
    from matplotlib.collections import LineCollection

    (bars,) = [c for c in axes.collections if isinstance(c, LineCollection)]
    for segment, k in zip(bars.get_segments(), (1, 2, 3, 3), strict=True):
        low, high = wilson(k, 6) or (0, 0)
        assert sorted(segment[:, 1].tolist()) == pytest.approx([low * 100, high * 100])


def test_methods_without_rectification_are_one_point_at_zero(
    tmp_path: Path, math_run: Path, pot_run: Path
) -> None:
    cot = write_run(tmp_path / "cot", [rec("math/algebra/0", strict=True, level=1)],
                    dataset="math", method="cot")  # fmt: skip
    one = write_run(tmp_path / "one", MATH_RECORDS[:3], dataset="math", rectify_rounds=1,
                    settings={"temperature": 0})  # fmt: skip
    runs = load_runs([math_run, pot_run, cot, one])
    spec = rounds_figure(runs, max_rounds(runs))
    assert spec is not None and spec.x == (0, 1, 2, 3)
    by_label = {s.label: s for s in spec.series}
    pot = by_label["pot · gpt-4o-mini · MATH (no rectification: r = 0 only)"]
    assert pot.y == (0.5, None, None, None)
    assert by_label["cot · gpt-4o-mini · MATH (no rectification: r = 0 only)"].y[1:] == (None,) * 3
    allowed_one = next(s for s in spec.series if "rectify_rounds=1" in s.label)
    assert allowed_one.y[2:] == (None, None)  # it could not use 2 or 3 rounds
    figure = draw(spec)
    for line in figure.axes[0].get_lines():
        finite = numpy.isfinite(numpy.asarray(line.get_ydata(), dtype=float))
        if "no rectification" in str(line.get_label()):
            assert finite.tolist() == [True, False, False, False]  # no segment to draw
    table = rounds_table(runs)
    (pot_row,) = [dict(zip(table.header, r, strict=True)) for r in table.rows if r[0] == "pot"]
    assert pot_row["≤ 0 rounds"] == 0.5
    assert [pot_row[f"≤ {r} rounds"] for r in (1, 2, 3)] == [None, None, None]
    assert any("cot, pot: no rectification" in note for note in table.notes)


def test_only_non_rectifying_runs_have_no_rounds_axis(pot_run: Path) -> None:
    runs = load_runs([pot_run])
    assert max_rounds(runs) == 0
    spec = rounds_figure(runs, max_rounds(runs))
    assert spec is not None and spec.x == (0,)


def test_rectifying_methods_are_the_ones_that_repair(sandbox: Sandbox) -> None:
    """RECTIFYING_METHODS against the methods themselves: a program that always fails is
    repaired by toolcreate-whole and run once by pot."""
    failing = "```python\nraise ValueError('no')\n```"
    problem = Problem(question="What is 1 + 1?", answer="2")
    options = EvalConfig(dataset="math", model="m", rectify_rounds=1).stage_options()
    rounds = {}
    for name in ("toolcreate-whole", "pot"):
        model = ScriptedModel(responder=lambda *_: failing)
        result = asyncio.run(METHODS[name](problem, model=model, sandbox=sandbox, options=options))
        rounds[name] = result.rectifications
    assert rounds == {"toolcreate-whole": 1, "pot": 0}
    assert sorted(RECTIFYING_METHODS) == ["creator", "toolcreate-whole"]
    assert set(METHODS) >= RECTIFYING_METHODS


def test_metadata_carries_n_and_intervals(math_run: Path) -> None:
    spec = level_figure([load_run(math_run)])
    assert spec is not None
    for fmt, key in (("png", "Description"), ("svg", "Description"), ("pdf", "Subject")):
        described = json.loads(metadata(spec, fmt)[key])
        (line,) = described["lines"]
        assert line["n"] == [2, 1, 1, 0, 2] and line["low"][3] is None
        assert line["high"][0] == pytest.approx(1.0)


def test_figures_in_svg_and_pdf(tmp_path: Path, math_run: Path) -> None:
    spec = level_figure([load_run(math_run)])
    assert spec is not None
    save(spec, tmp_path / "f.svg")
    save(spec, tmp_path / "f.pdf")
    root = ElementTree.parse(tmp_path / "f.svg").getroot()
    assert root.tag.endswith("svg")
    svg = (tmp_path / "f.svg").read_text()
    assert spec.title in svg and "creator report" in svg
    pdf = (tmp_path / "f.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
    with pytest.raises(InputError, match="not a figure format"):
        save(spec, tmp_path / "f.gif")


@pytest.mark.parametrize(
    ("text", "formats"),
    [("png", ("png",)), ("svg,PDF", ("svg", "pdf")), (" png , svg,png", ("png", "svg"))],
)
def test_parse_formats(text: str, formats: tuple[str, ...]) -> None:
    assert parse_formats(text) == formats


@pytest.mark.parametrize("text", ["gif", "png,jpg", "", " , "])
def test_unknown_formats_are_one_line_errors(text: str) -> None:
    with pytest.raises(InputError, match="is not a figure format") as caught:
        parse_formats(text)
    assert "\n" not in str(caught.value)
