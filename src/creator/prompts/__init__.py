"""Prompt templates and demonstrations, stored as package data files (``<method>/<name>.md``).

Templates use ``string.Template`` placeholders (``$question``); a literal dollar sign in a
template is written ``$$``. Values are inserted verbatim, so a question or code containing
``$`` is safe. Few-shot demonstrations are separate files, ``examples/<dataset>/<name>.md``,
falling back to ``examples/generic/<name>.md``; they are inserted as values, never as
templates.

A run's prompts are one value, a :class:`PromptSet` (:mod:`creator.prompts.sets`): the
built-in files, overlaid file by file by a directory of the user's (``--prompts DIR``,
:func:`load_prompt_dir`), with the user's own demonstrations (``--examples FILE``,
:func:`read_examples`, run in the sandbox by :func:`check_examples`). The stages render
through the set in their options. The module-level :func:`load`, :func:`render` and
:func:`examples` use the built-in set. Choosing which template a stage uses is the stage's
business, not this package's.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

from creator.prompts.overlay import check_template, export_prompts, load_prompt_dir
from creator.prompts.sets import (
    METHOD_PROMPTS,
    OPTIONAL_TEMPLATES,
    PromptSet,
    is_template,
    placeholders,
)
from creator.prompts.user_examples import UserExamples, check_examples, read_examples

__all__ = [
    "METHOD_PROMPTS",
    "OPTIONAL_TEMPLATES",
    "PromptSet",
    "UserExamples",
    "check_examples",
    "check_template",
    "examples",
    "export_prompts",
    "is_template",
    "load",
    "load_prompt_dir",
    "placeholders",
    "prompt_set",
    "read_examples",
    "render",
]


def prompt_set(
    *, directory: Path | None = None, examples: Path | None = None, method: str = "creator"
) -> PromptSet:
    """The prompts of a run of ``method``: the built-in ones, with the files of ``directory``
    over them and the demonstrations of the JSONL file ``examples`` (read and checked, not yet
    run: see :func:`check_examples`)."""
    prompts = PromptSet.builtin()
    if directory is not None:
        prompts = load_prompt_dir(directory)
    if examples is not None:
        prompts = prompts.with_examples(read_examples(examples, method=method))
    return prompts


def load(name: str) -> Template:
    """The built-in template ``name`` (e.g. ``"creator/creation"``); FileNotFoundError if
    missing."""
    return PromptSet.builtin().load(name)


def examples(dataset: str | None, name: str) -> str:
    """Built-in demonstrations ``name`` (e.g. ``"creation"``) for ``dataset``, else the generic
    ones."""
    return PromptSet.builtin().examples(dataset, name)


def render(name: str, /, **values: str) -> str:
    """Fill built-in template ``name``; a missing value raises ``KeyError`` naming the
    placeholder."""
    return PromptSet.builtin().render(name, **values)
