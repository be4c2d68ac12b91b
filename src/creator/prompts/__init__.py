"""Prompt templates, stored as package data files (``<method>/<name>.md``).

Templates use ``string.Template`` placeholders (``$question``); a literal dollar sign in a
template is written ``$$``. Values are inserted verbatim, so a question or code containing
``$`` is safe. Choosing which template a stage uses is the stage's business, not this module's.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template

__all__ = ["load", "render"]


@cache
def load(name: str) -> Template:
    """The template ``name`` (e.g. ``"creator/creation"``), read once from package data."""
    path = resources.files(__name__).joinpath(*f"{name}.md".split("/"))
    return Template(path.read_text(encoding="utf-8"))


def render(name: str, /, **values: str) -> str:
    """Fill template ``name``; a missing value raises ``KeyError`` naming the placeholder."""
    return load(name).substitute(values).strip() + "\n"
