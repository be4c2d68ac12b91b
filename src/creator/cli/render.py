"""Showing steps and results in the terminal with rich. Presentation only: no decisions.

Text a model or its code wrote (code, output, queries, service replies, errors, answers) may
hold terminal control sequences meant to retitle the window, recolour the screen or write the
clipboard: their control characters (and bidirectional overrides) are shown escaped, as
``\x1b``, never sent to the terminal.
"""

from __future__ import annotations

import re

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.text import Text

from creator.models.base import Completion
from creator.tools.records import ToolRecord
from creator.trace import Result, Step

__all__ = ["clean_text", "render_library", "render_result", "render_step"]

_TITLES = {
    "creation": "1 · Creation",
    "decision": "2 · Decision",
    "execution": "3 · Execution",
    "rectification": "4 · Rectification",
    "whole": "Tool and program",
    "program": "Program",
    "answer": "Answer",
    "query": "Reasoning and query",
    "service": "Computation service",
}


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """``text`` with control characters (all but newline and tab) shown as escapes."""
    return _CONTROL.sub(lambda m: ascii(m[0])[1:-1], text)


def _code(code: str) -> Syntax:
    return Syntax(clean_text(code.rstrip()), "python", line_numbers=True, word_wrap=True)


def _output(text: str, *, limit: int = 4000) -> Text:
    text = text.rstrip()
    if len(text) > limit:
        text = text[:limit] + f"\n… ({len(text) - limit} more characters)"
    return Text(clean_text(text))


def render_step(console: Console, step: Step) -> None:
    """Print one step as a panel: its code, output and error."""
    title = _TITLES.get(step.stage, step.stage)
    if step.round and step.stage != "rectification":
        title += f" (attempt {step.round + 1})"
    elif step.stage == "rectification":
        title += f" (round {step.round})"
    parts: list[RenderableType] = []
    if step.offered_tools:
        parts.append(Text("library tools offered: " + ", ".join(step.offered_tools), style="dim"))
    if step.reused_tool is not None:
        parts.append(Text.assemble(("reused library tool ", "bold"), step.reused_tool))
    if step.stage != "execution" and step.code:
        parts.append(_code(step.code))
    if step.stage == "execution" and step.execution is not None:
        result = step.execution
        if result.stdout.strip():
            parts.append(_output(result.stdout))
        parts.append(Text(f"ran in {result.duration_s * 1000:.0f} ms", style="dim"))
    elif step.stage == "creation" and step.execution is not None and step.error is None:
        parts.append(Text("tool defined without errors", style="dim"))
    if step.service is not None:
        reply = step.service
        parts.append(Text.assemble(("query: ", "bold"), clean_text(reply.query)))
        if reply.text is not None:
            parts.append(_output(reply.text))
        ms = f"{reply.duration_s * 1000:.0f} ms"
        took = f"{reply.service} answered in {ms}" if reply.ok else f"{reply.service}: {ms}"
        parts.append(Text(took, style="dim"))
    if step.error:
        parts.append(Text(clean_text(step.error.rstrip()), style="red"))
    if step.answer is not None:
        parts.append(Text(f"answer: {clean_text(step.answer)}", style="bold green"))
    if step.call is not None:
        parts.extend(_call_notes(step.call.completion))
    border = "red" if step.error else "cyan"
    console.print(Panel(Group(*parts), title=title, title_align="left", border_style=border))


def _call_notes(completion: Completion) -> list[RenderableType]:
    """The reply's reasoning (its length only: the viewer shows it whole), why it stopped
    early, its tokens and time."""
    notes: list[RenderableType] = []
    usage = completion.usage
    if completion.reasoning:
        size = (
            f"{usage.reasoning_tokens:,} tokens"
            if usage.reasoning_tokens
            else f"{len(completion.reasoning):,} characters"
        )
        kept = "the trace keeps it: --json, creator view"
        notes.append(Text(f"reasoned for {size} ({kept})", style="dim"))
    cut_off = completion.cut_off_message()
    if cut_off is not None:
        notes.append(Text(cut_off, style="yellow"))
    if completion.cached:
        timing = "cached"
    else:
        timing = f"{completion.latency_s:.1f} s"
        if completion.queue_s >= 0.05:
            timing += f" (+{completion.queue_s:.1f} s queued)"
    notes.append(Text(f"{usage.total_tokens} tokens, {timing}", style="dim"))
    return notes


def render_result(console: Console, result: Result, *, correct: bool | None = None) -> None:
    """Print the final line(s): answer or failure, and the comparison with a known answer."""
    if result.answer is not None:
        answer = clean_text(result.answer)
        console.print(Text.assemble(("Final answer: ", "bold"), (answer, "bold green")))
    else:
        reason = result.error.strip().splitlines()[-1] if result.error else "no answer printed"
        console.print(Text(f"No answer ({result.status}): {clean_text(reason)}", style="bold red"))
    if correct is not None and result.problem.answer is not None:
        verdict = ("matches", "green") if correct else ("does not match", "red")
        console.print(Text.assemble("Recorded answer: ", result.problem.answer, " (", verdict, ")"))
    usage = result.usage
    console.print(
        Text(
            f"{result.rectifications} rectification(s), {usage.total_tokens} tokens, "
            f"{result.duration_s:.2f} s, sandbox: {result.sandbox}",
            style="dim",
        )
    )


def render_library(
    console: Console, result: Result, record: ToolRecord | None, *, path: str
) -> None:
    """One line on what the tool library got from this result."""
    if record is None:
        console.print(Text(f"tool library {path}: nothing written", style="dim"))
    elif result.reused_tool is not None:
        console.print(
            Text(f"tool library {path}: reuse of {record.name} ({record.ref}) counted", style="dim")
        )
    else:
        flags = (
            f"ran: {'yes' if record.ran else 'no'}, verified: {'yes' if record.verified else 'no'}"
        )
        console.print(
            Text(
                f"tool library {path}: saved as {record.name} ({record.ref}; {flags})", style="dim"
            )
        )
