"""The report's figures: accuracy by MATH level, and accuracy by rectification rounds (the
equal-cost figure, accuracy against tokens, is built in :mod:`creator.report.equal_cost`).

A figure is first described as data (:class:`FigureSpec`: title, axes, one :class:`Series` per
line, each point with its n and 95% Wilson interval), which needs no plotting library;
:func:`draw` then builds a matplotlib figure on the Agg backend (no display, no pyplot global
state) and :func:`save` writes it as PNG, SVG or PDF (:data:`FORMATS`) with metadata that repeat
the title and the lines, so tests and tools can check a figure without reading pixels.
matplotlib is an optional extra, imported only when drawing.

What a reader must be able to see: every point's interval (error bars) and n (in the legend
when it is the same for every point of a line, else written by each point); lines that would
lie on top of each other (two runs with the same accuracy) told apart by their marker and a
small sideways offset; a run that could not rectify (``pot``, ``cot``, ...) as one point at
r = 0, never a flat line over rounds it never had. Titles mention a replay when a line is one,
legends carry the replay label, and a replay is dashed. Deliberately left out: styling options.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from creator.errors import ConfigError, InputError
from creator.files import atomic_open
from creator.report.measures import MATH_LEVELS, Score, by_level, rounds_scores
from creator.report.rows import labels as row_labels
from creator.report.runs import Run

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FORMATS",
    "INSTALL_HINT",
    "MARKERS",
    "REPLAY_TITLE",
    "FigureSpec",
    "PlotsUnavailableError",
    "Series",
    "draw",
    "level_figure",
    "line_labels",
    "metadata",
    "offsets",
    "parse_formats",
    "rounds_figure",
    "save",
]

INSTALL_HINT = "pip install 'creator[report]' (or: uv sync --extra report)"
REPLAY_TITLE = " (includes the reference replay: recorded solutions, not an LLM)"
FORMATS = ("png", "svg", "pdf")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")
"""One marker per line, in order, so that lines are told apart even where they coincide."""
NO_ROUNDS = "no rectification: r = 0 only"


class PlotsUnavailableError(ConfigError):
    """matplotlib (the ``report`` extra) is not installed."""


def parse_formats(text: str) -> tuple[str, ...]:
    """``png,svg,pdf`` (any of :data:`FORMATS`, comma-separated, each once) -> the formats."""
    names = [part.strip().lower() for part in text.split(",")]
    unknown = [name for name in names if name not in FORMATS]
    if not text.strip() or unknown:
        shown = ", ".join(repr(name) for name in unknown) or "nothing"
        raise InputError(
            f"--format {text!r}: {shown} is not a figure format: choose from "
            f"{', '.join(FORMATS)} (comma-separated)"
        )
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True, slots=True)
class Series:
    """One line: its legend label, and per x its y, its n and the 95% Wilson interval of y
    (``None`` / 0 where there is no value). ``x``: the line's own x values, when the lines of
    a figure do not share them (then the figure's ``x`` is empty and nothing is shifted)."""

    label: str
    y: tuple[float | None, ...]
    replay: bool = False
    n: tuple[int, ...] = ()
    low: tuple[float | None, ...] = ()
    high: tuple[float | None, ...] = ()
    x: tuple[float, ...] = ()

    @classmethod
    def of(cls, label: str, scores: Sequence[Score | None], *, replay: bool) -> Series:
        """A line through ``scores`` (strict accuracy; ``None`` draws no point)."""
        intervals = [None if s is None else s.interval for s in scores]
        return cls(
            label=label,
            y=tuple(None if s is None else s.accuracy for s in scores),
            replay=replay,
            n=tuple(0 if s is None else s.n for s in scores),
            low=tuple(None if i is None else i[0] for i in intervals),
            high=tuple(None if i is None else i[1] for i in intervals),
        )

    @property
    def same_n(self) -> int | None:
        """The n of every point with a value, when they all share it."""
        counts = {n for n, y in zip(self.n, self.y, strict=False) if y is not None}
        return counts.pop() if len(counts) == 1 else None

    @property
    def legend(self) -> str:
        """The label, with ``n=...`` when every point has the same n."""
        return f"{self.label} (n={self.same_n:,})" if self.same_n is not None else self.label


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
    """``method · model`` (``· dataset`` when asked) per run, plus, where that alone would be
    ambiguous, the settings that tell the runs apart (``temperature=0.7``), or the run's name
    when nothing does."""
    base = [f"{run.label} · {run.dataset_label}" if with_dataset else run.label for run in runs]
    differ = row_labels(
        [((b, ""), {run.dataset_label: run}) for b, run in zip(base, runs, strict=True)]
    )
    out: list[str] = []
    for label, diff, run in zip(base, differ, runs, strict=True):
        if base.count(label) < 2:
            out.append(label)
        elif diff and "repeat" not in diff:
            out.append(f"{label} ({diff})")
        else:
            out.append(f"{label} ({run.name})")
    return out


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
        Series.of(label, list(by_level(run.records, MATH_LEVELS).values()), replay=run.replay)
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
    """Accuracy (strict) had at most r rectification rounds been allowed, one line per run, up
    to the rounds the run could use (a method without rectification: one point at r = 0)."""
    if not runs:
        return None
    series = []
    for run, label in zip(runs, line_labels(runs, with_dataset=True), strict=True):
        scores = rounds_scores(run.records, max_rounds)
        allowed = run.rounds_allowed
        kept = [s if r <= allowed else None for r, s in enumerate(scores)]
        series.append(
            Series.of(
                f"{label} ({NO_ROUNDS})" if not run.rectifies else label, kept, replay=run.replay
            )
        )
    return FigureSpec(
        name="accuracy_by_rounds",
        title=_title("Accuracy by rectification rounds allowed", runs),
        xlabel="rectification rounds allowed",
        ylabel="accuracy (strict, %)",
        x=tuple(range(max_rounds + 1)),
        series=tuple(series),
    )


def _literal(text: str) -> str:
    """Text matplotlib shows as is (a ``$`` would otherwise start mathtext)."""
    return text.replace("$", r"\$")


def offsets(count: int) -> list[float]:
    """The sideways shift of each of ``count`` lines (x units): spread evenly over at most 0.3,
    centred on the true x, so coinciding points stay apart and near their x."""
    if count < 2:
        return [0.0] * count
    width = min(0.3, 0.08 * (count - 1))
    return [-width / 2 + width * i / (count - 1) for i in range(count)]


def draw(spec: FigureSpec) -> Figure:
    """A matplotlib figure of ``spec`` on the Agg canvas: one Line2D per series (its marker
    from :data:`MARKERS`, shifted by :func:`offsets`), error bars for the intervals, and
    ``n=`` written by each point of a line whose points differ in n."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotsUnavailableError(f"figures need matplotlib: {INSTALL_HINT}") from None
    figure = Figure(figsize=(8, 4.5 + 0.2 * len(spec.series)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for index, (series, shift) in enumerate(
        zip(spec.series, offsets(len(spec.series)), strict=True)
    ):
        xs = list(series.x) if series.x else [x + shift for x in spec.x]
        ys = [math.nan if v is None else v * 100 for v in series.y]
        (line,) = axes.plot(
            xs,
            ys,
            marker=MARKERS[index % len(MARKERS)],
            linestyle="--" if series.replay else "-",
            label=_literal(series.legend),
        )
        _intervals(axes, series, xs, color=line.get_color())
    axes.set_title(_literal(spec.title), fontsize=10, wrap=True)
    axes.set_xlabel(spec.xlabel)
    axes.set_ylabel(spec.ylabel)
    if spec.x:
        axes.set_xticks(list(spec.x))
    axes.set_ylim(-3, 103)
    axes.grid(alpha=0.3)
    figure.legend(loc="outside lower center", fontsize=8)
    return figure


def _intervals(axes: Any, series: Series, xs: Sequence[float], *, color: Any) -> None:
    """Error bars from each point's interval; ``n=`` by each point when the n differ."""
    if not len(series.y) == len(series.n) == len(series.low) == len(series.high):
        return  # a series given without n and intervals: a plain line
    points = [
        (x, y * 100, low * 100, high * 100, n)
        for x, y, low, high, n in zip(xs, series.y, series.low, series.high, series.n, strict=True)
        if y is not None and low is not None and high is not None
    ]
    if not points:
        return
    axes.errorbar(
        [p[0] for p in points],
        [p[1] for p in points],
        yerr=[[max(0.0, p[1] - p[2]) for p in points], [max(0.0, p[3] - p[1]) for p in points]],
        fmt="none",
        ecolor=color,
        elinewidth=1,
        capsize=0,
        alpha=0.6,
    )
    if series.same_n is None:
        for x, y, _, _, n in points:
            axes.annotate(
                f"n={n:,}",
                (x, y),
                textcoords="offset points",
                xytext=(0, 6),
                ha="center",
                fontsize=6,
                color=color,
            )


def metadata(spec: FigureSpec, fmt: str = "png") -> dict[str, str]:
    """The file's metadata in ``fmt``: the title, and the lines with their values, n and
    intervals as JSON (PNG and SVG: ``Description``; PDF: ``Subject``)."""
    lines = [
        {
            "label": s.label,
            "replay": s.replay,
            **({"x": list(s.x)} if s.x else {}),
            "y": list(s.y),
            "n": list(s.n),
            "low": list(s.low),
            "high": list(s.high),
        }
        for s in spec.series
    ]
    described = json.dumps({"x": list(spec.x), "lines": lines}, ensure_ascii=False)
    if fmt == "pdf":
        return {"Title": spec.title, "Subject": described, "Creator": "creator report"}
    if fmt == "svg":
        return {"Title": spec.title, "Description": described, "Creator": "creator report"}
    return {"Title": spec.title, "Description": described, "Software": "creator report"}


def save(spec: FigureSpec, path: Path, *, fmt: str | None = None) -> Figure:
    """Draw ``spec`` and write it to ``path`` as ``fmt`` (one of :data:`FORMATS`; default: the
    path's suffix); returns the figure for inspection."""
    fmt = fmt or path.suffix.lstrip(".").lower() or "png"
    if fmt not in FORMATS:
        raise InputError(f"{path}: {fmt!r} is not a figure format ({', '.join(FORMATS)})")
    figure = draw(spec)
    with atomic_open(path, "wb") as handle:  # a failed write leaves no half a figure
        figure.savefig(handle, format=fmt, dpi=120, metadata=metadata(spec, fmt))
    return figure
