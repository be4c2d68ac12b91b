"""The user's own few-shot demonstrations (``--examples FILE``): read, rendered, run.

FILE is JSON Lines (a regular file of at most :data:`MAX_EXAMPLES_BYTES`: a named pipe or a
device is refused unread), one demonstration per line (blank lines are skipped), each an
object of strings:

- ``problem`` (always), with an optional ``context`` (a table, say) shown under
  ``context_label`` (default ``Context``), as a dataset problem's context is shown;
- ``tool`` and ``decision`` for ``creator`` (shown at Creation and at Decision) and
  ``toolcreate-whole`` (shown as one program): a general tool, and code that calls it with
  the problem's values and prints ``Final Answer: <value>``;
- ``program`` for ``pot``: a program printing ``Final Answer: <value>``;
- ``reasoning`` and ``answer`` for ``cot``, ``answer`` for ``standard``.

A row may carry the fields of several methods (one file for every method); a method takes what
it needs, and a row without one of those is refused, naming FILE:LINE. Code is given without
```` ``` ```` fences. The rows are rendered in the layout of the built-in demonstration files of
that method and replace them for every dataset; the other demonstrations a method shows (the
repairs of the rectification stage, the answer format) stay those of the prompt set. The Tool
Use baseline takes no user rows: its demonstrations need a query and the service's result
(override ``examples/<dataset>/tooluse.md`` with ``--prompts DIR`` instead).

:func:`check_examples` runs each row's code in the sandbox (tool then decision, or the
program) before the run's first model call: it must finish without an error and print a
``Final Answer:`` line, or the run stops naming the first such row in file order (without
waiting for the rows after it). Prose rows (``cot``, ``standard``) run
nothing. Left out: judging whether a demonstration's answer is right.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from creator.answers import extract_answer
from creator.errors import ConfigError, InputError
from creator.inputs import MIB, read_input
from creator.sandbox.base import CodePart, ExecResult, Limits, Sandbox

__all__ = [
    "FIELDS",
    "MAX_EXAMPLES_BYTES",
    "NEEDS",
    "SHOWS",
    "UserExample",
    "UserExamples",
    "check_examples",
    "read_examples",
]

FIELDS: tuple[str, ...] = ("problem", "context", "context_label", "tool", "decision")
FIELDS += ("program", "reasoning", "answer")
"""Every field a row may have."""

NEEDS: dict[str, tuple[str, ...]] = {
    "creator": ("problem", "tool", "decision"),
    "toolcreate-whole": ("problem", "tool", "decision"),
    "pot": ("problem", "program"),
    "cot": ("problem", "reasoning", "answer"),
    "standard": ("problem", "answer"),
}
"""The fields each method needs of a row (methods not listed take no user rows)."""

SHOWS: dict[str, tuple[str, ...]] = {
    "creator": ("creation", "decision"),
    "toolcreate-whole": ("whole",),
    "pot": ("pot",),
    "cot": ("cot",),
    "standard": ("standard",),
}
"""The demonstration names the rows replace, by method."""

MAX_EXAMPLES_BYTES = 16 * MIB
"""The largest examples file read (16 MiB); a larger one, or anything but a regular file (a
named pipe, a device), is refused before it is read."""
SEPARATOR = "\n\n---\n\n"
_FINAL = re.compile(r"final\s+answer\s*[:\uff1a]", re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class UserExample:
    """One row of the file; ``line`` is its line number (from 1)."""

    line: int
    problem: str
    context: str | None = None
    context_label: str = "Context"
    tool: str | None = None
    decision: str | None = None
    program: str | None = None
    reasoning: str | None = None
    answer: str | None = None

    def shown_problem(self) -> str:
        """The problem as a demonstration shows it (its context under its label)."""
        if self.context:
            return f"{self.problem}\n\n{self.context_label}:\n{self.context}"
        return self.problem

    def code_parts(self, method: str) -> list[CodePart]:
        """What runs to check this row for ``method`` (nothing for prose methods)."""
        if method in ("creator", "toolcreate-whole"):
            assert self.tool is not None and self.decision is not None
            return [
                CodePart(name="tool", code=self.tool),
                CodePart(name="decision", code=self.decision),
            ]
        if method == "pot":
            assert self.program is not None
            return [CodePart(name="program", code=self.program)]
        return []


@dataclass(frozen=True, slots=True)
class UserExamples:
    """The rows of ``path`` for ``method``, and ``texts``: the demonstrations they render, by
    name (``creation``, ``decision``, ``pot``, ...)."""

    path: Path
    method: str
    rows: tuple[UserExample, ...]
    texts: Mapping[str, str] = field(default_factory=dict)


def _fenced(code: str) -> str:
    return f"```python\n{code}\n```"


def _render(name: str, rows: tuple[UserExample, ...]) -> str:
    def one(row: UserExample) -> str:
        head = f"Problem:\n{row.shown_problem()}\n\n"
        if name == "creation":
            return f"{head}Tool:\n{_fenced(row.tool or '')}"
        if name == "decision":
            tool, decision = _fenced(row.tool or ""), _fenced(row.decision or "")
            return f"{head}Tool:\n{tool}\n\nDecision:\n{decision}"
        if name == "whole":
            program = f"{row.tool}\n\n\n{row.decision}"
            return f"{head}Program:\n{_fenced(program)}"
        if name == "pot":
            return f"{head}Program:\n{_fenced(row.program or '')}"
        if name == "cot":
            return f"{head}Solution:\n{row.reasoning}\nFinal Answer: {row.answer}"
        return f"{head}Final Answer: {row.answer}"

    return SEPARATOR.join(one(row) for row in rows)


def _row(path: Path, line: int, number: int, text: str, method: str) -> UserExample:
    where = f"{path}:{line}"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(value, dict):
        raise InputError(f"{where}: a row must be a JSON object, not {type(value).__name__}")
    unknown = sorted(set(value) - set(FIELDS))
    if unknown:
        raise InputError(
            f'{where}: unknown field "{unknown[0]}" (the fields are {", ".join(FIELDS)})'
        )
    values: dict[str, str] = {}
    for key, item in value.items():
        if key == "answer" and isinstance(item, int | float) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str) or not item.strip():
            raise InputError(f'{where}: "{key}" must be a non-empty string')
        values[key] = item.strip()
    needs = NEEDS[method]
    for key in needs:
        if key not in values:
            raise InputError(
                f'{where}: example {number} has no "{key}" (--method {method} needs '
                f"{', '.join(needs)})"
            )
    for key in ("tool", "decision", "program"):
        if values.get(key, "").startswith("```"):
            raise InputError(f'{where}: give "{key}" as plain code, without ``` fences')
    if "\n" in values.get("answer", ""):
        raise InputError(f'{where}: "answer" must be one line')
    if _FINAL.search(values.get("reasoning", "")):
        raise InputError(
            f'{where}: "reasoning" must not hold the Final Answer line (it is written from '
            '"answer")'
        )
    return UserExample(line=line, **values)


def read_examples(path: Path, *, method: str) -> UserExamples:
    """The rows of JSONL file ``path`` for ``method``, checked (not yet run) and rendered."""
    if method not in NEEDS:
        why = (
            "its demonstrations need a query and the service's result: override "
            "examples/<dataset>/tooluse.md with --prompts DIR instead"
            if method == "tooluse"
            else f"it takes them for {', '.join(NEEDS)}"
        )
        raise ConfigError(f"--examples is not supported for --method {method} ({why})")
    if not path.exists():
        raise InputError(f"examples file not found: {path}")
    data = read_input(path, label=f"examples file {path}", cap=MAX_EXAMPLES_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"examples file {path} is not UTF-8 text") from None
    rows: list[UserExample] = []
    for line, row in enumerate(text.split("\n"), start=1):  # JSON may hold a raw U+2028
        if row.strip():
            rows.append(_row(path, line, len(rows) + 1, row, method))
    if not rows:
        raise InputError(f"examples file {path} holds no examples (one JSON object per line)")
    texts = {name: _render(name, tuple(rows)) for name in SHOWS[method]}
    return UserExamples(path=path, method=method, rows=tuple(rows), texts=texts)


def _failure(result: ExecResult) -> str | None:
    """Why a row's run does not count, in one line; None when it printed a final answer."""
    if not result.ok:
        lines = [line.strip() for line in (result.error or "").splitlines() if line.strip()]
        return f"failed: {lines[-1] if lines else 'it did not finish'}"
    if _FINAL.search(result.stdout) is None or extract_answer(result.stdout) is None:
        if result.output_truncated:
            return (
                "printed more than the sandbox keeps, and its output was cut before any "
                "`Final Answer: <value>` line"
            )
        return "printed no `Final Answer: <value>` line"
    return None


async def check_examples(
    examples: UserExamples, *, sandbox: Sandbox, limits: Limits | None = None
) -> None:
    """Run every row's code in ``sandbox`` (all started at once); raise :class:`InputError`
    naming the first row, in file order, that fails or prints no final answer (``FILE:LINE:
    example 3 failed: ...``) as soon as that row and those before it have finished: the
    rows still running are cancelled, not waited for."""
    limits = limits if limits is not None else Limits()
    jobs = [
        (number, row, asyncio.ensure_future(sandbox.run(parts, limits=limits)))
        for number, row in enumerate(examples.rows, start=1)
        if (parts := row.code_parts(examples.method))
    ]
    try:
        for number, row, job in jobs:
            failure = _failure(await job)
            if failure is not None:
                raise InputError(f"{examples.path}:{row.line}: example {number} {failure}")
    finally:
        running = [job for *_, job in jobs if not job.done()]
        for job in running:
            job.cancel()
        await asyncio.gather(*running, return_exceptions=True)
