"""Prompt templates, stored as package data files (``<method>/<name>.md``).

Templates use ``string.Template`` placeholders (``$question``); a literal dollar sign in a
template is written ``$$``. Values are inserted verbatim, so a question or code containing
``$`` is safe. Few-shot demonstrations are separate files, ``examples/<dataset>/<name>.md``,
falling back to ``examples/generic/<name>.md``; they are inserted as values, never as
templates. Choosing which template a stage uses is the stage's business, not this module's.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template

__all__ = ["examples", "load", "render"]


@cache
def _text(name: str) -> str | None:
    path = resources.files(__name__).joinpath(*f"{name}.md".split("/"))
    return path.read_text(encoding="utf-8") if path.is_file() else None


def load(name: str) -> Template:
    """The template ``name`` (e.g. ``"creator/creation"``); FileNotFoundError if missing."""
    text = _text(name)
    if text is None:
        raise FileNotFoundError(f"no prompt template {name!r}")
    return Template(text)


def examples(dataset: str | None, name: str) -> str:
    """Demonstrations ``name`` (e.g. ``"creation"``) for ``dataset``, else the generic ones."""
    text = _text(f"examples/{dataset}/{name}") if dataset else None
    if text is None:
        text = _text(f"examples/generic/{name}")
    if text is None:
        raise FileNotFoundError(f"no examples {name!r} for dataset {dataset!r}")
    return text.strip()


def render(name: str, /, **values: str) -> str:
    """Fill template ``name``; a missing value raises ``KeyError`` naming the placeholder."""
    return load(name).substitute(values).strip() + "\n"
