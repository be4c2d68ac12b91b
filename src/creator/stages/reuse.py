"""Offering library tools at Creation: how they are shown, and reading the reuse marker.

With ``--reuse-tools`` the Creation prompt lists tools retrieved from the tool library, and
the model either writes a new tool or replies with a line ``REUSE: <tool name>``. The marker
is read only from the prose of the reply (never from inside a fenced block), may be decorated
(``**Reuse:** `interest()` ``, ``reuse = #3``) and may name a tool by name or by ``#id``. A
marker naming ``none`` or ``new`` means "create": it is ignored.

Deliberately left out: retrieving tools and counting offers or reuses (the library's job, see
:mod:`creator.tools.reuse`), and running anything: a reused tool is test-run by the Creation
stage in the sandbox, like a new one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from creator.code import prose
from creator.tools.records import ToolRecord

__all__ = ["ReuseChoice", "offered_label", "read_reuse", "render_offered"]

_MARKER = re.compile(r"^[\s>*_#`-]*reuse[\s*_`]*[:=][\s*_`]*(?P<rest>.*)$", re.IGNORECASE)
_NAME = re.compile(r"#\s*\d+|[A-Za-z_][A-Za-z0-9_]*|\d+")
_DECLINE = frozenset({"none", "no", "nothing", "new", "create", "n/a", "na"})


@dataclass(frozen=True, slots=True)
class ReuseChoice:
    """What a reply's marker asked for: ``tool`` when it names an offered tool, else ``error``."""

    named: str
    tool: ToolRecord | None = None
    error: str | None = None


def offered_label(tool: ToolRecord) -> str:
    """How an offered tool is named in the trace and the prompt: ``name (#id)``."""
    return f"{tool.name} ({tool.ref})"


def render_offered(tools: Sequence[ToolRecord]) -> str:
    """The library tools as the Creation prompt shows them: name, id, then the whole code."""
    parts = []
    for i, tool in enumerate(tools, start=1):
        parts.append(f"### {i}. `{tool.name}` ({tool.ref})\n\n```python\n{tool.code.strip()}\n```")
    return "\n\n".join(parts)


def _lookup(named: str, tools: Sequence[ToolRecord]) -> ToolRecord | str:
    """The offered tool ``named`` refers to, or why there is none."""
    choices = ", ".join(offered_label(t) for t in tools)
    digits = named.lstrip("#").strip()
    if digits.isdigit():
        for tool in tools:
            if tool.id == int(digits):
                return tool
        return (
            f"the reply asked to reuse tool #{digits}, which was not offered (offered: {choices})"
        )
    for exact in (True, False):
        found = [
            t for t in tools if (t.name == named if exact else t.name.lower() == named.lower())
        ]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            ids = ", ".join(t.ref for t in found)
            return f"several offered tools are named {named!r} ({ids}): name one by its #id"
    return f"the reply asked to reuse {named!r}, which is not one of the offered tools ({choices})"


def read_reuse(reply: str, tools: Sequence[ToolRecord]) -> ReuseChoice | None:
    """The reuse marker of ``reply`` resolved against the offered ``tools``; None if there is no
    marker (or it declines: ``REUSE: none``), so the reply is read as a new tool.

    The first marker line counts. Of the words after it, the first that names an offered tool
    (by name or ``#id``) is taken, so ``REUSE: the `interest` tool`` finds ``interest``.
    """
    if not tools:
        return None
    for line in prose(reply).splitlines():
        match = _MARKER.match(line)
        if match is None:
            continue
        rest = match.group("rest")
        if rest.strip().strip("*_`'\".").lower() in _DECLINE:
            return None
        words = [w.group(0).replace(" ", "") for w in _NAME.finditer(rest)]
        if not words:
            return ReuseChoice(named="", error="the reply's REUSE line names no tool")
        if words[0].lower() in _DECLINE:
            return None
        errors: list[str] = []
        for word in words:
            resolved = _lookup(word, tools)
            if isinstance(resolved, str):
                errors.append(resolved)
            else:
                return ReuseChoice(named=word, tool=resolved)
        return ReuseChoice(named=words[0], error=errors[0])
    return None
