"""A run directory read for a report: its config and its records, read only, never repaired.

A run may still be in progress, so ``results.jsonl`` is read with ``repair=False`` (a torn last
line is skipped, not cut off) and nothing is ever written into the directory. Deliberately left
out: ``summary.json`` (it is written at the end of a run and can be stale; every figure of a
report is computed from the records) and any computation over the records (see
:mod:`creator.report.measures`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from creator.errors import InputError
from creator.eval.config import EvalConfig
from creator.eval.records import ProblemRecord, ResultsFile
from creator.eval.runner import load_config
from creator.models.reference import REFERENCE_LABEL

__all__ = ["DATASET_TITLES", "HINT_TITLES", "METHOD_ORDER", "Run", "load_run", "load_runs"]

METHOD_ORDER = ("standard", "cot", "pot", "tooluse", "toolcreate-whole", "creator")
"""The paper's row order; methods not listed here come after, alphabetically."""
DATASET_TITLES = {
    "math": "MATH",
    "tabmwp": "TabMWP",
    "creation": "Creation Challenge",
    "transfer": "Tool Transfer",
}
HINT_TITLES = {"none": "no hint", "utility": "utility hint", "all": "all hints"}


@dataclass(frozen=True, slots=True)
class Run:
    """One evaluation run: where it lives, its settings, and its records (one per key)."""

    path: Path
    name: str
    config: EvalConfig
    records: tuple[ProblemRecord, ...]

    @property
    def replay(self) -> bool:
        """True for the offline reference replay: its figures are never LLM accuracy."""
        return self.config.model == "reference" or any(r.replay for r in self.records)

    @property
    def model_label(self) -> str:
        """The model as every table, legend and title shows it (replays say so)."""
        return REFERENCE_LABEL if self.replay else self.config.model

    @property
    def method_label(self) -> str:
        """The method as tables show it; ``tooluse`` names its service (``tooluse (sympy)``):
        the paper's Tool Use called WolframAlpha, the offline service is another tool."""
        if self.config.method == "tooluse":
            return f"tooluse ({self.config.tool_service or 'sympy'})"
        return self.config.method

    @property
    def label(self) -> str:
        """``method · model`` (the legend of a plot line)."""
        return f"{self.method_label} · {self.model_label}"

    @property
    def dataset_label(self) -> str:
        """The dataset as a row shows it, with the hint mode of a Creation Challenge run."""
        title = DATASET_TITLES.get(self.config.dataset, self.config.dataset)
        if self.config.dataset == "creation" and self.config.hint != "none":
            title += f" ({HINT_TITLES[self.config.hint]})"
        return title

    @property
    def sort_key(self) -> tuple[int, str, str, str]:
        method = self.config.method
        rank = METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER)
        return rank, method, self.model_label, self.name


def load_run(path: Path) -> Run:
    """Read the run in ``path``; a missing, empty or corrupt run is an :class:`InputError`."""
    if not path.exists():
        raise InputError(f"{path} does not exist")
    if not path.is_dir():
        raise InputError(f"{path} is not a run directory (it is a file)")
    try:
        config = load_config(path)
    except OSError as exc:
        raise InputError(f"{path / 'config.json'} cannot be read: {exc.strerror or exc}") from None
    if config is None:
        raise InputError(f"{path} is not a run directory: it has no config.json")
    results = path / "results.jsonl"
    if not results.is_file():
        raise InputError(f"{path} has no results yet: {results} is missing")
    try:
        loaded = ResultsFile(results).load(repair=False)
    except OSError as exc:
        raise InputError(f"{results} cannot be read: {exc.strerror or exc}") from None
    if not loaded:
        raise InputError(f"{path} has no results yet: {results} holds no finished record")
    records = tuple(sorted(loaded.values(), key=lambda r: r.key))
    return Run(path=path, name=str(path), config=config, records=records)


def load_runs(paths: Iterable[Path]) -> list[Run]:
    """Read every run (a directory given twice is read once), in the paper's method order."""
    seen: set[Path] = set()
    runs: list[Run] = []
    for path in paths:
        resolved = path.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        runs.append(load_run(path))
    if not runs:
        raise InputError("no run directory given")
    return sorted(runs, key=lambda run: run.sort_key)
