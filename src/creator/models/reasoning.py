"""Separating a reasoning model's thinking from its answer text.

Models served with inline thinking (Qwen3, DeepSeek-R1 and its distills, QwQ on llama.cpp or
Ollama, or vLLM without a reasoning parser) open their reply with ``<think> ... </think>``;
some chat templates put the opening tag in the prompt, so the reply holds only the closing one;
Kimi models use ``◁think▷ ... ◁/think▷``. Code drafts and ``Final Answer:`` lines inside the
thinking must never be read as the answer, so :func:`split_reasoning` takes every thinking
section out of the text (a section left open, because the reply was cut off, runs to the end).

:func:`is_reasoning_model` tells OpenAI's reasoning models by name (they take
``max_completion_tokens`` and no sampling parameters).

Deliberately left out: judging or summarising the reasoning, and tags other than these.
"""

from __future__ import annotations

import re

__all__ = ["is_reasoning_model", "split_reasoning"]

_REASONING_NAMES = re.compile(r"^(?:[\w.-]+/)?(?:o\d|gpt-5)(?:$|[-.:_])", re.IGNORECASE)
_OPEN = r"<think\b[^>\n]*>|◁think▷"
_CLOSE = r"</think\s*>|◁/think▷"
_TAG = re.compile(rf"(?P<open>{_OPEN})|(?P<close>{_CLOSE})", re.IGNORECASE)
_FENCE = re.compile(r"^[ \t]*```", re.MULTILINE)


def split_reasoning(text: str) -> tuple[str | None, str]:
    """``(reasoning, answer)``: the thinking sections of ``text`` and what is left of it.

    ``reasoning`` is ``None`` when ``text`` has no thinking (or only empty sections, as Qwen3
    writes with thinking turned off). A closing tag with no opening one before it and no code
    before it (the template opened the section) makes everything before it reasoning. Tags
    inside fenced code are code (``html = "</think>"``), not thinking; nested sections end at
    the matching closing tag.
    """
    parts: list[str] = []
    tags = list(_TAG.finditer(text))
    first = next((t for t in tags if not _in_code(text, t.start())), None)
    if first is not None and first.group("close") and "```" not in text[: first.start()]:
        parts.append(text[: first.start()])
        text = text[first.end() :]
        tags = list(_TAG.finditer(text))
    kept: list[str] = []
    position = 0
    depth = 0
    for tag in tags:
        if depth == 0:
            if not tag.group("open") or _in_code(text, tag.start()):
                continue
            kept.append(text[position : tag.start()])
            start, depth = tag.end(), 1
        else:
            depth += 1 if tag.group("open") else -1
            if depth == 0:
                parts.append(text[start : tag.start()])
                position = tag.end()
    if depth:
        parts.append(text[start:])  # cut off while thinking: the rest is thinking
        position = len(text)
    kept.append(text[position:])
    if not parts:
        return None, text
    reasoning = "\n\n".join(part.strip() for part in parts if part.strip())
    return reasoning or None, "".join(kept).strip("\n")


def _in_code(text: str, position: int) -> bool:
    """Whether ``position`` lies inside a fenced code block (an odd number of fences before)."""
    return len(_FENCE.findall(text, 0, position)) % 2 == 1


def is_reasoning_model(name: str) -> bool:
    """OpenAI's reasoning models (o1, o3, o4-mini, the gpt-5 family), by name."""
    return bool(_REASONING_NAMES.match(name.strip()))
