"""A run directory read for a report: its config and its records, read only, never repaired.

A run may still be in progress, so ``results.jsonl`` is read with ``repair=False`` (a torn last
line is skipped, not cut off) and nothing is ever written into the directory. A run that has
records for fewer problems than it selected (killed, or still running) is *partial*
(:class:`Coverage`): the selection is made again from the config and the shipped dataset, or,
for a dataset this version cannot select from, taken from ``summary.json``'s ``selected``.
That is the only thing read from ``summary.json`` (it is written at the end of a run and can be
stale; every figure of a report is computed from the records).

:func:`row_settings` and :func:`selection` split a run's defining settings into those that make
two runs incomparable (temperature, rounds, hint, limits, ...: never merged into one table row)
and those that only choose problems. Deliberately left out: any computation over the records
(see :mod:`creator.report.measures`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from creator import datasets
from creator.errors import CreatorError, InputError
from creator.eval.config import SAID_AT_DEFAULT, EvalConfig
from creator.eval.records import ProblemRecord, ResultsFile
from creator.eval.runner import load_config
from creator.eval.transfer import TRANSFER_DATASET, key_of, plan
from creator.methods import TOOL_METHODS
from creator.models.reference import REFERENCE_LABEL

__all__ = [
    "DATASET_TITLES",
    "HINT_TITLES",
    "METHOD_ORDER",
    "RECTIFYING_METHODS",
    "SELECTION_FIELDS",
    "Coverage",
    "Run",
    "load_run",
    "load_runs",
    "row_settings",
    "selection",
]

METHOD_ORDER = ("standard", "cot", "pot", "tooluse", "toolcreate-whole", "creator")
"""The paper's row order; methods not listed here come after, alphabetically."""
DATASET_TITLES = {
    "math": "MATH",
    "tabmwp": "TabMWP",
    "creation": "Creation Challenge",
    "transfer": "Tool Transfer",
}
HINT_TITLES = {"none": "no hint", "utility": "utility hint", "all": "all hints"}
RECTIFYING_METHODS = frozenset({"creator", "toolcreate-whole"})
"""The methods that repair failed code (see :mod:`creator.methods`): ``pot`` runs its program
once, ``cot``, ``standard`` and ``tooluse`` run none of theirs."""
SELECTION_FIELDS = ("subjects", "levels", "ids", "sample", "seed", "limit")
"""Config fields that choose which problems run, not how they are solved."""
_NOT_SETTINGS = frozenset({"dataset", "method", "model", "answer_kind", *SELECTION_FIELDS})
"""Left out of a row's settings: what the row and columns already say, what selects problems,
and what describes a custom dataset (how its answers are checked, like its ``dataset_...``)."""


@dataclass(frozen=True, slots=True)
class Coverage:
    """How many of the problems a run selected (jobs, in Tool Transfer) have a record."""

    done: int
    selected: int

    @property
    def partial(self) -> bool:
        return self.done < self.selected

    def __str__(self) -> str:
        return f"partial: {self.done:,} of {self.selected:,} selected"


@dataclass(frozen=True)
class Run:
    """One evaluation run: where it lives, its settings, and its records (one per key)."""

    path: Path
    name: str
    config: EvalConfig
    records: tuple[ProblemRecord, ...]

    @cached_property
    def coverage(self) -> Coverage | None:
        """How much of its selection the run has done (computed when first asked: it loads
        the dataset); None when the selection is unknown (a dataset this version cannot
        select from, and no summary)."""
        return _coverage(self.path, self.config, self.records)

    @property
    def partial(self) -> bool:
        """Fewer records than selected problems: the run was stopped or is still running."""
        return self.coverage is not None and self.coverage.partial

    @property
    def display_name(self) -> str:
        """The run's directory, with ``(partial: n of N selected)`` when it is partial."""
        return f"{self.name} ({self.coverage})" if self.partial else self.name

    @property
    def rectifies(self) -> bool:
        """Whether the method repairs failed code (or, whatever its name, some record did)."""
        return self.config.method in RECTIFYING_METHODS or any(
            r.rectifications for r in self.records
        )

    @property
    def rounds_allowed(self) -> int:
        """The rectification rounds this run could use: 0 for a method without any."""
        if not self.rectifies:
            return 0
        return max([self.config.rectify_rounds, *(r.rectifications for r in self.records)])

    @property
    def replay(self) -> bool:
        """True for the offline reference replay: its figures are never LLM accuracy."""
        return self.config.model == "reference" or any(r.replay for r in self.records)

    @property
    def model_label(self) -> str:
        """The model as every table, legend and title shows it (replays say so; a run whose
        tools another model made names both: ``gpt-4o-mini, tools by gpt-4o``)."""
        if self.replay:
            return REFERENCE_LABEL
        maker = self.config.creation_model
        return self.config.model + (f", tools by {maker}" if maker else "")

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


def _text(value: object) -> str:
    """A setting's value as a label shows it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ",".join(_text(v) for v in value) if value else "all"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def row_settings(config: EvalConfig) -> dict[str, str]:
    """The settings that make two runs of one method and model incomparable, as text, by name
    (generation settings by their own name, ``temperature``, unless a config field has it:
    ``settings.seed``; the others ``limits.timeout_s``).
    Left out: the dataset, method and model, what selects problems, and what describes a
    custom dataset (``dataset_...`` fields, ``answer_kind``: the dataset, not a setting). The
    prompts are one short hash of the prompt files other than per-dataset demonstrations."""
    out: dict[str, str] = {}
    fields = config.fingerprint_fields()
    for name in SAID_AT_DEFAULT:  # left out of the fingerprint at their defaults: say them
        fields.setdefault(name, getattr(config, name))
    for name, value in fields.items():
        if name in _NOT_SETTINGS or name.startswith("dataset"):
            continue
        if name == "prompts" and isinstance(value, dict):  # demonstration files are per dataset
            value = {k: v for k, v in value.items() if not k.startswith("examples/")}
            digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
            out[name] = digest[:8]  # a label names the prompt set, not every file's hash
            continue
        if isinstance(value, dict) and name in ("settings", "limits"):
            for key, inner in value.items():
                own = name == "settings" and key not in EvalConfig.model_fields  # not "seed"
                out[key if own else f"{name}.{key}"] = _text(inner)
        else:
            out[name] = _text(value)
    return out


def selection(config: EvalConfig) -> dict[str, str]:
    """What chose the run's problems, as text (``all`` where nothing narrows them; the sample
    seed only with a sample)."""
    out = {name: _text(getattr(config, name, None)) for name in SELECTION_FIELDS}
    out["sample"] = "all" if config.sample is None else str(config.sample)
    out["limit"] = "all" if config.limit is None else str(config.limit)
    if config.sample is None:
        del out["seed"]
    if len(config.ids) > 3:
        out["ids"] = f"{len(config.ids)} ids"
    return out


def _selected_keys(config: EvalConfig) -> frozenset[str] | None:
    """The record keys the run's config selects, from the shipped dataset; None if it cannot
    be selected here."""
    try:
        problems = datasets.select(config.dataset, **config.selection())
        if config.dataset == TRANSFER_DATASET:
            jobs, _ = plan(problems, transfer_arm=config.method in TOOL_METHODS)
            return frozenset(job.key for job in jobs)
    except (CreatorError, OSError, ValueError):
        return None
    return frozenset(problem.id for problem in problems)


def _coverage(path: Path, config: EvalConfig, records: Iterable[ProblemRecord]) -> Coverage | None:
    if config.dataset == TRANSFER_DATASET:
        keys = {key_of(r.id, r.arm or "control") for r in records}
    else:
        keys = {r.key for r in records}
    selected = _selected_keys(config)
    if selected is not None:
        return Coverage(done=len(keys & selected), selected=len(selected))
    try:
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
        count = summary["selected"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        return None
    return Coverage(done=min(len(keys), count), selected=count)


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
