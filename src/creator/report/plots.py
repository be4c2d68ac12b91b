"""The report's figures: accuracy by MATH level, and accuracy by rectification rounds.

A figure is first described as data (:class:`FigureSpec`: title, axes, one :class:`Series` per
line), which needs no plotting library; :func:`draw` then builds a matplotlib figure on the Agg
backend (no display, no pyplot global state) and :func:`save` writes it as a PNG whose text
metadata repeat the title and the lines, so tests and tools can check a figure without reading
pixels. matplotlib is an optional extra, imported only when drawing. Titles mention a replay
when a line is one, and legends carry the replay label. Deliberately left out: styling
options, other formats than PNG.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from creator.errors import ConfigError
from creator.report.measures import MATH_LEVELS, accuracy_by_rounds, by_level
from creator.report.runs import Run

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "INSTALL_HINT",
    "FigureSpec",
    "PlotsUnavailableError",
    "Series",
    "draw",
    "level_figure",
    "line_labels",
    "metadata",
    "rounds_figure",
    "save",
]

INSTALL_HINT = "pip install 'creator[report]' (or: uv sync --extra report)"
REPLAY_TITLE = " (includes the reference replay: recorded solutions, not an LLM)"


class PlotsUnavailableError(ConfigError):
    """matplotlib (the ``report`` extra) is not installed."""


@dataclass(frozen=True, slots=True)
class Series:
    """One line: its legend label and y per x (``None`` where there is no value)."""

    label: str
    y: tuple[float | None, ...]
    replay: bool = False


@dataclass(frozen=True, slots=True)
class FigureSpec:
    """A line chart: x values shared by every series, y as fractions (drawn as %)."""

    name: str
    title: str
    xlabel: str
    ylabel: str
    x: tuple[int, ...]
    series: tuple[Series, ...]


def line_labels(runs: Sequence[Run], *, with_dataset: bool = False) -> list[str]:
    """``method · model`` (``· dataset`` when asked) per run, plus the run's name where that
    alone would be ambiguous."""
    labels = [f"{run.label} · {run.dataset_label}" if with_dataset else run.label for run in runs]
    return [
        f"{label} ({run.name})" if labels.count(label) > 1 else label
        for label, run in zip(labels, runs, strict=True)
    ]


def _title(base: str, runs: Sequence[Run]) -> str:
    return base + (REPLAY_TITLE if any(run.replay for run in runs) else "")


def level_figure(runs: Sequence[Run]) -> FigureSpec | None:
    """Accuracy (strict) by MATH level, one line per MATH run; ``None`` without MATH levels."""
    chosen = [
        r
        for r in runs
        if r.config.dataset == "math" and any(x.level is not None for x in r.records)
    ]
    if not chosen:
        return None
    series = tuple(
        Series(
            label=label,
            y=tuple(s.accuracy for s in by_level(run.records, MATH_LEVELS).values()),
            replay=run.replay,
        )
        for run, label in zip(chosen, line_labels(chosen), strict=True)
    )
    return FigureSpec(
        name="accuracy_by_level",
        title=_title("Accuracy by MATH difficulty level", chosen),
        xlabel="MATH level",
        ylabel="accuracy (strict, %)",
        x=MATH_LEVELS,
        series=series,
    )


def rounds_figure(runs: Sequence[Run], max_rounds: int) -> FigureSpec | None:
    """Accuracy (strict) had at most r rectification rounds been allowed, one line per run."""
    if not runs:
        return None
    series = tuple(
        Series(label=label, y=tuple(accuracy_by_rounds(run.records, max_rounds)), replay=run.replay)
        for run, label in zip(runs, line_labels(runs, with_dataset=True), strict=True)
    )
    return FigureSpec(
        name="accuracy_by_rounds",
        title=_title("Accuracy by rectification rounds allowed", runs),
        xlabel="rectification rounds allowed",
        ylabel="accuracy (strict, %)",
        x=tuple(range(max_rounds + 1)),
        series=series,
    )


def _literal(text: str) -> str:
    """Text matplotlib shows as is (a ``$`` would otherwise start mathtext)."""
    return text.replace("$", r"\$")


def draw(spec: FigureSpec) -> Figure:
    """A matplotlib figure of ``spec`` on the Agg canvas; one Line2D per series."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotsUnavailableError(f"figures need matplotlib: {INSTALL_HINT}") from None
    figure = Figure(figsize=(8, 4.5 + 0.2 * len(spec.series)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for series in spec.series:
        ys = [math.nan if v is None else v * 100 for v in series.y]
        axes.plot(
            spec.x,
            ys,
            marker="o",
            linestyle="--" if series.replay else "-",
            label=_literal(series.label),
        )
    axes.set_title(_literal(spec.title), fontsize=10, wrap=True)
    axes.set_xlabel(spec.xlabel)
    axes.set_ylabel(spec.ylabel)
    axes.set_xticks(list(spec.x))
    axes.set_ylim(-3, 103)
    axes.grid(alpha=0.3)
    figure.legend(loc="outside lower center", fontsize=8)
    return figure


def metadata(spec: FigureSpec) -> dict[str, str]:
    """The PNG text chunks: the title, and the lines with their values as JSON."""
    lines = [{"label": s.label, "replay": s.replay, "y": list(s.y)} for s in spec.series]
    return {
        "Title": spec.title,
        "Description": json.dumps({"x": list(spec.x), "lines": lines}, ensure_ascii=False),
        "Software": "creator report",
    }


def save(spec: FigureSpec, path: Path) -> Figure:
    """Draw ``spec`` and write it to ``path`` (PNG); returns the figure for inspection."""
    figure = draw(spec)
    figure.savefig(path, format="png", dpi=120, metadata=metadata(spec))
    return figure
