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
_TAGS = (("<think>", "</think>"), ("◁think▷", "◁/think▷"))
_SECTION = re.compile(
    "|".join(
        rf"{re.escape(opening)}(.*?)(?:{re.escape(closing)}|\Z)" for opening, closing in _TAGS
    ),
    re.DOTALL,
)


def split_reasoning(text: str) -> tuple[str | None, str]:
    """``(reasoning, answer)``: the thinking sections of ``text`` and what is left of it.

    ``reasoning`` is ``None`` when ``text`` has no thinking (or only empty sections, as Qwen3
    writes with thinking turned off). A closing tag with no opening one
    (the template opened it) makes everything before it reasoning.
    """
    parts: list[str] = []
    for _, closing in _TAGS:
        head, found, tail = text.partition(closing)
        if found and not any(opening in head for opening, _ in _TAGS):
            parts.append(head)
            text = tail
    if any(opening in text for opening, _ in _TAGS):
        for match in _SECTION.finditer(text):
            parts.append(next(group for group in match.groups() if group is not None))
        text = _SECTION.sub("", text)
    if not parts:
        return None, text
    reasoning = "\n\n".join(part.strip() for part in parts if part.strip())
    return reasoning or None, text.strip("\n")


def is_reasoning_model(name: str) -> bool:
    """OpenAI's reasoning models (o1, o3, o4-mini, the gpt-5 family), by name."""
    return bool(_REASONING_NAMES.match(name.strip()))
