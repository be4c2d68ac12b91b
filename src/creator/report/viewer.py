"""The trace viewer: one self-contained HTML file showing every problem of a run and its trace.

:func:`write_view` reads a run directory (``config.json``, ``results.jsonl``; never writing
to either: a run may still be in progress) and writes one HTML file that works from
``file://`` with no network: a filterable, searchable list of problems, and for each problem
its stages in order with prompts, replies, code, outputs, tracebacks, and a unified diff of
what each rectification (or creation retry) changed. A reasoning model's thinking is shown
folded above its reply, why a reply stopped early beside it, and the time a request waited in
the server's queue beside its latency. A problem of a sampled run (``--samples K``) shows
its vote (rule, chosen attempt, votes, early stop, fallback) above its attempts side by side,
each with its status, answer, answer group and eligibility, and its own trace.

To open fast with thousands of problems, the file embeds a small index parsed at load and
each problem's detail as one JSON line parsed only when the problem is opened; paragraphs of
prompt text found in several traces (instructions, demonstrations, the question asked again
by every attempt of a sampled problem) are stored once. All run text is untrusted model
output: it is embedded as JSON with ``<``, ``>`` and ``&`` escaped (so nothing can close the
script element) and the page renders it as text nodes only, under a Content-Security-Policy
that allows no network and only the page's own script.

Texts are embedded whole, except reasoning: it can run to tens of thousands of characters per
call, so each call keeps its first and last characters (``reasoning_chars`` in all, 3:1) and
the page says how many were left out (the full text stays in ``results.jsonl``).

Deliberately left out: scoring, re-scoring or re-voting (records and votes are shown as
recorded), live refresh of a run in progress (rebuild the file), and syntax highlighting.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import html
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TextIO

from creator import datasets
from creator.errors import InputError
from creator.eval.records import ProblemRecord, SampleRecord
from creator.files import atomic_open
from creator.models.base import Completion
from creator.report.runs import Run, load_run
from creator.trace import ModelCall, Step

__all__ = [
    "ERROR_STATUSES",
    "REASONING_CHARS",
    "Category",
    "ViewFile",
    "category",
    "embed_json",
    "write_view",
]

Category = Literal["correct", "wrong", "error", "unscored"]
ERROR_STATUSES = frozenset({"execution_error", "creation_failed", "model_error"})
_SHARED_MIN_CHARS = 40
"""Prompt paragraphs at least this long, found in two or more problems, are stored once."""
_PROGRAM_STAGES = frozenset({"decision", "whole", "program", "rectification"})
"""Stages whose code is the program run next (``program``: the ``pot`` baseline's one program;
``whole``: ``toolcreate-whole``'s tool and its use in one reply)."""
REASONING_CHARS = 10_000
"""Default: at most this many characters of each call's reasoning are embedded (0: all)."""
_CODE_FIELDS = frozenset({"trace", "tool_code", "decision_code"})
"""Record fields the page shows through its steps instead (the code is in them)."""
_SHOWN_STEP_FIELDS = frozenset(
    {"stage", "round", "call", "code", "execution", "answer", "error", "service"}
)


def category(record: ProblemRecord) -> Category:
    """``unscored`` (its problem has no answer to check: a row of a user's dataset without
    one, whatever became of it); ``correct``; ``error`` (the attempt failed: execution error,
    creation failed, model error); otherwise ``wrong`` (it finished without an error but is
    not correct)."""
    if not record.scored:
        return "unscored"
    if record.correct:
        return "correct"
    return "error" if record.status in ERROR_STATUSES else "wrong"


@dataclass(frozen=True, slots=True)
class ViewFile:
    """What :func:`write_view` wrote."""

    path: Path
    problems: int
    size_bytes: int
    counts: Mapping[str, int]
    """Problems per filter: ``correct``, ``wrong``, ``error``, ``rectified``."""


def embed_json(value: object) -> str:
    """``value`` as JSON that is safe inside a ``<script>`` element: ASCII only (U+2028/2029
    and every non-ASCII character escaped), and ``<``, ``>``, ``&`` written as ``\\u003c``
    ..., so no ``</script>`` or ``<!--`` can appear in it."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _traces(record: ProblemRecord) -> list[list[Step]]:
    """The traces the page shows: every attempt's in a sampled run (the record's own trace is
    the chosen attempt's, shown in its pane), else the record's."""
    return [sample.trace for sample in record.samples] if record.samples else [record.trace]


class _SharedText:
    """Paragraphs (split on blank lines) of prompt text that recur across traces."""

    def __init__(self, records: Iterable[ProblemRecord]) -> None:
        seen: Counter[str] = Counter()
        for record in records:
            for trace in _traces(record):
                paragraphs: set[str] = set()
                for step in trace:
                    if step.call is not None:
                        for message in step.call.messages:
                            paragraphs.update(
                                p
                                for p in message.content.split("\n\n")
                                if len(p) >= _SHARED_MIN_CHARS
                            )
                seen.update(paragraphs)
        self._shared = {p for p, n in seen.items() if n >= 2}
        self._ids: dict[str, int] = {}
        self.table: list[str] = []

    def encode(self, text: str) -> str | list[int | str]:
        """``text`` itself, or a list of shared-paragraph numbers and literal runs that the
        page joins with blank lines."""
        out: list[int | str] = []
        literal: list[str] = []
        for paragraph in text.split("\n\n"):
            if paragraph not in self._shared:
                literal.append(paragraph)
                continue
            if literal:
                out.append("\n\n".join(literal))
                literal = []
            if paragraph not in self._ids:
                self._ids[paragraph] = len(self.table)
                self.table.append(paragraph)
            out.append(self._ids[paragraph])
        if literal:
            out.append("\n\n".join(literal))
        return out if any(isinstance(item, int) for item in out) else text


def _diff(before: str, after: str, *, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), fromfile=old, tofile=new, lineterm=""
    )
    return "\n".join(lines)


def _reasoning(completion: Completion, limit: int) -> dict[str, Any]:
    """The reasoning as the page shows it: ``text`` (and, when it is longer than ``limit``,
    only its head, the number of characters ``omitted`` and the ``tail``), its length in
    characters and, when the endpoint reported them, its tokens."""
    text = completion.reasoning or ""
    out: dict[str, Any] = {"chars": len(text)}
    if completion.usage.reasoning_tokens:
        out["tokens"] = completion.usage.reasoning_tokens
    if limit <= 0 or len(text) <= limit:
        out["text"] = text
        return out
    tail = limit // 4
    head = limit - tail
    out["text"] = text[:head]
    out["omitted"] = len(text) - head - tail
    out["tail"] = text[len(text) - tail :] if tail else ""
    return out


def _call(item: dict[str, Any], call: ModelCall, shared: _SharedText, reasoning_chars: int) -> None:
    completion = call.completion
    item["messages"] = [
        {"role": m.role, "content": shared.encode(m.content)} for m in call.messages
    ]
    if completion.reasoning:
        item["reasoning"] = _reasoning(completion, reasoning_chars)
    item["reply"] = completion.text
    usage = completion.usage
    item["usage"] = [usage.prompt_tokens, usage.completion_tokens]
    if usage.reasoning_tokens:
        item["usage"].append(usage.reasoning_tokens)
    item["finish"] = completion.finish_reason
    cut_off = completion.cut_off_message()
    if cut_off:
        item["cut_off"] = cut_off
    item["latency"] = round(completion.latency_s, 3)
    if completion.queue_s > 0:
        item["queue"] = round(completion.queue_s, 3)
    item["cached"] = completion.cached


def _steps(
    trace: list[Step], shared: _SharedText, reasoning_chars: int = REASONING_CHARS
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    tool: tuple[str, str] | None = None  # (label, code) of the last created tool
    program: tuple[str, str] | None = None  # (label, code) of the last decision/repair code
    for step in trace:
        item: dict[str, Any] = {"stage": step.stage, "round": step.round}
        if step.call is not None:
            _call(item, step.call, shared, reasoning_chars)
        label = f"{step.stage} {step.round}" if step.round else step.stage
        if step.code is not None:
            if step.stage == "execution" and program is not None and step.code == program[1]:
                item["ran"] = program[0]
            else:
                item["code"] = step.code
            if step.stage == "creation":
                if tool is not None:
                    item["diff"] = _diff(tool[1], step.code, old=tool[0], new=label)
                    item["diff_of"] = tool[0]
                tool = (label, step.code)
            elif step.stage in _PROGRAM_STAGES:
                if step.stage == "rectification" and program is not None:
                    item["diff"] = _diff(program[1], step.code, old=program[0], new=label)
                    item["diff_of"] = program[0]
                program = (label, step.code)
        if step.execution is not None:
            item["exec"] = step.execution.model_dump(mode="json")
        if step.service is not None:
            item["service"] = step.service.model_dump(mode="json")
        if step.answer is not None:
            item["answer"] = step.answer
        if step.error is not None:
            item["error"] = step.error
        extra = step.model_dump(mode="json", exclude=set(_SHOWN_STEP_FIELDS), exclude_defaults=True)
        if extra:
            item["extra"] = extra  # fields added to Step later are shown, not dropped
        out.append(item)
    return out


def _question(record: ProblemRecord) -> tuple[str | None, str | None]:
    """The question and context from the shipped dataset, when the id is one of its ids."""
    try:
        problem = datasets.get(record.id)
    except InputError:
        return None, None
    return problem.question, problem.context


def _natural(key: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(p)) if p.isdecimal() else (1, p) for p in re.split(r"(\d+)", key) if p)


def _last_line(text: str | None, limit: int = 200) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1][:limit] if lines else ""


def _run_info(run: Run, records: list[ProblemRecord]) -> dict[str, Any]:
    counts = Counter(category(r) for r in records)
    path = run.path.resolve()
    return {
        "name": path.name,
        "path": str(path),
        "dataset": run.config.dataset,
        "method": run.config.method,
        "model": run.model_label,
        "replay": run.replay,
        "config": run.config.model_dump(mode="json"),
        "arms": sorted({r.arm for r in records if r.arm}),
        "counts": {
            "all": len(records),
            "correct": counts["correct"],
            "wrong": counts["wrong"],
            "error": counts["error"],
            "unscored": counts["unscored"],
            "rectified": sum(r.rectifications > 0 for r in records),
        },
    }


def _index_row(record: ProblemRecord, question: str | None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "k": record.key,
        "a": record.arm,
        "c": category(record),
        "s": record.status,
        "r": record.rectifications,
        "q": (question or "")[:2000],
        "p": (record.prediction or "")[:200],
        "t": (record.target or "")[:200],
        "e": _last_line(record.error),
    }
    if record.samples and record.vote is not None:
        row["v"] = [record.vote.votes, len(record.samples)]  # "2/3 agree" in the list
    return row


def _sample(sample: SampleRecord, shared: _SharedText, reasoning_chars: int) -> dict[str, Any]:
    return {
        **sample.model_dump(mode="json", exclude=set(_CODE_FIELDS)),
        "steps": _steps(sample.trace, shared, reasoning_chars),
    }


def _detail(
    record: ProblemRecord,
    question: tuple[str | None, str | None],
    shared: _SharedText,
    reasoning_chars: int,
) -> dict[str, Any]:
    """A sampled record's steps are empty: its trace is the chosen attempt's, in ``samples``."""
    return {
        **record.model_dump(mode="json", exclude={*_CODE_FIELDS, "samples"}),
        "key": record.key,
        "category": category(record),
        "question": question[0],
        "context": question[1],
        "steps": [] if record.samples else _steps(record.trace, shared, reasoning_chars),
        "samples": [_sample(s, shared, reasoning_chars) for s in record.samples],
    }


def _asset(name: str) -> str:
    return resources.files("creator.report").joinpath("viewer_assets", name).read_text("utf-8")


def _fill(template: str, values: Mapping[str, str]) -> str:
    """Replace ``@@NAME@@`` markers in one pass (inserted text is never scanned again)."""
    return re.sub(r"@@([A-Z]+)@@", lambda m: values[m.group(1)], template)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _write(
    handle: TextIO, run: Run, records: list[ProblemRecord], reasoning_chars: int
) -> dict[str, Any]:
    """Stream the page to ``handle``; return the run information shown in its header."""
    info = _run_info(run, records)
    questions = [_question(r) for r in records]
    shared = _SharedText(records)
    script, style = _asset("viewer.js"), _asset("viewer.css")
    csp = (
        f"default-src 'none'; script-src {_sha256(script)}; style-src {_sha256(style)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    head, _, tail = _asset("viewer.html").partition("@@DETAILS@@")
    rows = [_index_row(r, q[0]) for r, q in zip(records, questions, strict=True)]
    handle.write(
        _fill(
            head,
            {
                "CSP": html.escape(csp),
                "TITLE": html.escape(f"creator view: {info['name']}"),
                "STYLE": style,
                "RUN": embed_json(info),
                "INDEX": embed_json(rows),
            },
        )
    )
    for record, question in zip(records, questions, strict=True):
        handle.write(embed_json(_detail(record, question, shared, reasoning_chars)))
        handle.write("\n")
    handle.write(_fill(tail, {"CHUNKS": embed_json(shared.table), "SCRIPT": script}))
    return info


def write_view(
    run_dir: Path, *, out: Path | None = None, reasoning_chars: int = REASONING_CHARS
) -> ViewFile:
    """Write the viewer of ``run_dir`` to ``out`` (default ``run_dir/view.html``) atomically.

    ``reasoning_chars`` bounds the reasoning embedded per model call (0: no bound).

    Reads the run with :func:`creator.report.runs.load_run` (never repairing or writing it):
    InputError when the directory, its config or its results are missing, empty or corrupt."""
    run = load_run(run_dir)
    records = sorted(run.records, key=lambda r: _natural(r.key))
    target = out if out is not None else run_dir / "view.html"
    with atomic_open(target) as handle:  # an OutputError naming the file if it fails
        info = _write(handle, run, records, reasoning_chars)
    counts = info["counts"]
    return ViewFile(
        path=target,
        problems=len(records),
        size_bytes=target.stat().st_size,
        counts={k: v for k, v in counts.items() if k != "all"},
    )
