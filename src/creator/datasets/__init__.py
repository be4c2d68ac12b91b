"""The four datasets of the paper, shipped as compressed package data, loaded as Problems.

Ids are stable: ``math/<subject>/<i>``, ``tabmwp/<i>``, ``creation/<i>``,
``transfer/<group>/<scenario>`` (``i`` and ``group`` from 0, ``scenario`` 1..3, in file
order). Recorded tools and solutions become a :class:`~creator.problem.Reference` (code only,
the prose and output blocks around it dropped), which only the reference replay reads.
:func:`select` filters (subject, level, ids), samples reproducibly and limits, the problems
of a built-in dataset or of a user's own file (read by :mod:`creator.datasets.files`).
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections.abc import Iterator, Sequence
from functools import cache
from importlib import resources
from typing import Any

from creator.code import extract_code
from creator.datasets.values import answer_text as _answer
from creator.datasets.values import level_of as _level
from creator.errors import InputError
from creator.problem import Problem, Reference

__all__ = ["DATASETS", "MATH_SUBJECTS", "find_by_question", "get", "load", "select"]

DATASETS = ("math", "tabmwp", "creation", "transfer")
MATH_SUBJECTS = (
    "algebra",
    "counting_and_probability",
    "geometry",
    "intermediate_algebra",
    "number_theory",
    "prealgebra",
    "precalculus",
)
_NONE_TEXT = re.compile(r"^[\s\-*`]*(?:python)?\s*none(?![\w])", re.IGNORECASE)
"""A field that says "none" in one of its spellings: "- None.", "`none`: no constant used"."""


def _rows(relative: str) -> Iterator[dict[str, Any]]:
    path = resources.files(__name__).joinpath("data", *relative.split("/"))
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _field(text: str | None) -> str | None:
    """A Creation Challenge text field with its quirks removed (stray "s\\n", spelled-out none)."""
    if text is None:
        return None
    text = text.removeprefix("s\n").strip()
    return None if not text or _NONE_TEXT.match(text) else text


def _math() -> list[Problem]:
    problems = []
    for subject in MATH_SUBJECTS:
        for i, row in enumerate(_rows(f"math/{subject}.jsonl.gz")):
            problems.append(
                Problem(
                    id=f"math/{subject}/{i}",
                    question=row["question"],
                    answer=str(row["answer"]),
                    answer_kind="math",
                    metadata={"dataset": "math", "subject": subject, "level": _level(row["level"])},
                )
            )
    return problems


def _tabmwp() -> list[Problem]:
    return [
        Problem(
            id=f"tabmwp/{i}",
            question=row["question"],
            context=row["table"],
            answer=_answer(row["answer"]),
            metadata={"dataset": "tabmwp", "level": _level(row["level"]), "context_label": "Table"},
        )
        for i, row in enumerate(_rows("tabmwp.jsonl.gz"))
    ]


def _creation() -> list[Problem]:
    problems = []
    for i, row in enumerate(_rows("creation.jsonl.gz")):
        answer = _answer(row["answer"])
        problems.append(
            Problem(
                id=f"creation/{i}",
                question=row["question"],
                answer=answer,
                metadata={
                    "dataset": "creation",
                    "utility": _field(row.get("utility")),
                    "args": _field(row.get("args")),
                    "return": _field(row.get("return")),
                    "constant": _field(row.get("constant")),
                },
                reference=Reference(
                    tool=extract_code(row["tool"]),
                    solution=extract_code(row["solution"]),
                    answer=answer,
                ),
            )
        )
    return problems


def _transfer() -> list[Problem]:
    problems = []
    for group, row in enumerate(_rows("transfer.jsonl.gz")):
        tool = extract_code(row["tool"])
        for n in (1, 2, 3):
            title, _, body = row[f"scn{n}"].strip().partition("\n")
            answer = _answer(row[f"ans{n}"])
            problems.append(
                Problem(
                    id=f"transfer/{group}/{n}",
                    question=body.strip() or title,
                    answer=answer,
                    metadata={
                        "dataset": "transfer",
                        "group": group,
                        "scenario": n,
                        "title": title.strip(),
                        "intro": row["intro"],
                    },
                    reference=Reference(
                        tool=tool, solution=extract_code(row[f"sol{n}"]), answer=answer
                    ),
                )
            )
    return problems


_LOADERS = {"math": _math, "tabmwp": _tabmwp, "creation": _creation, "transfer": _transfer}


@cache
def _load(name: str) -> tuple[Problem, ...]:
    return tuple(_LOADERS[name]())


def load(name: str) -> list[Problem]:
    """All problems of dataset ``name`` (one of :data:`DATASETS`), in file order."""
    if name not in _LOADERS:
        raise InputError(f"unknown dataset {name!r}: choose from {', '.join(DATASETS)}")
    return list(_load(name))


@cache
def _index(name: str) -> dict[str, Problem]:
    return {p.id: p for p in _load(name)}


def get(problem_id: str) -> Problem:
    """The problem with id ``problem_id`` (e.g. ``creation/17``); InputError if there is none."""
    dataset = problem_id.partition("/")[0]
    if dataset not in _LOADERS:
        raise InputError(
            f"unknown problem id {problem_id!r}: ids start with one of {', '.join(DATASETS)}"
        )
    try:
        return _index(dataset)[problem_id]
    except KeyError:
        raise InputError(f"no problem {problem_id!r} in dataset {dataset!r}") from None


def _normalise(question: str) -> str:
    return " ".join(question.split()).lower()


@cache
def _by_question() -> dict[str, Problem]:
    index: dict[str, Problem] = {}
    for name in ("creation", "transfer"):
        for problem in _load(name):
            index.setdefault(_normalise(problem.question), problem)
    return index


def find_by_question(question: str) -> Problem | None:
    """The Creation Challenge or Tool Transfer problem whose question is ``question``, if any."""
    return _by_question().get(_normalise(question))


def select(
    name: str,
    *,
    subjects: Sequence[str] = (),
    levels: Sequence[int] = (),
    ids: Sequence[str] = (),
    sample: int | None = None,
    seed: int = 0,
    limit: int | None = None,
    problems: Sequence[Problem] | None = None,
) -> list[Problem]:
    """Problems of ``name`` filtered by subject, level and ids (all optional, combined with AND),
    then a reproducible random ``sample`` of N (by ``seed``, kept in file order), then the first
    ``limit``. Unknown subjects or ids are InputErrors, so a typo never yields an empty run.
    ``problems`` are those of a dataset that is not built in (a user's file, see
    :mod:`creator.datasets.files`), named ``name``; by default, the built-in ``name``'s.
    """
    problems = load(name) if problems is None else list(problems)
    if subjects:
        known = {str(p.metadata.get("subject")) for p in problems if p.metadata.get("subject")}
        unknown = sorted(set(subjects) - known)
        if unknown:
            choices = ", ".join(sorted(known)) or "none: this dataset has no subjects"
            raise InputError(f"unknown subject {unknown[0]!r} for {name}: choose from {choices}")
        problems = [p for p in problems if p.metadata.get("subject") in set(subjects)]
    if levels:
        problems = [p for p in problems if p.metadata.get("level") in set(levels)]
    if ids:
        index = {p.id: p for p in problems}
        missing = [i for i in ids if i not in index]
        if missing:
            raise InputError(f"no problem {missing[0]!r} in {name} (after the other filters)")
        problems = [index[i] for i in dict.fromkeys(ids)]
    if sample is not None:
        if sample < 1:
            raise InputError("--sample must be at least 1")
        chosen = set(random.Random(seed).sample(range(len(problems)), min(sample, len(problems))))
        problems = [p for i, p in enumerate(problems) if i in chosen]
    if limit is not None:
        if limit < 1:
            raise InputError("--limit must be at least 1")
        problems = problems[:limit]
    return problems
