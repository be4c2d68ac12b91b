"""A prompt set: every template and demonstration file one run uses, as one value.

A :class:`PromptSet` maps file names (``creator/creation``, ``examples/math/pot``; always
without ``.md``) to their text. The built-in set is the package's files
(:meth:`PromptSet.builtin`); a directory of the user's files overlays it file by file (see
:mod:`creator.prompts.overlay`), and a file of the user's own demonstrations replaces the
demonstrations a method shows (see :mod:`creator.prompts.user_examples`). The set flows with
the run in :class:`~creator.stages.common.StageOptions`; nothing here is global but the cached
built-in set.

Templates use ``string.Template`` placeholders (``$question``; ``$$`` is a literal dollar
sign) and values are inserted verbatim. Demonstrations (``examples/<dataset>/<name>``, falling
back to ``examples/generic/<name>``) are values, never templates.

:meth:`PromptSet.hashes` names and hashes the files a method can use on a dataset (the
run's identity: a resumed run with a changed prompt is refused). Which files a method uses is
the table :data:`METHOD_PROMPTS`, checked against real runs by the tests. Left out: choosing
which template a stage renders (the stage's business) and reading directories (``overlay``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from creator.errors import ConfigError

if TYPE_CHECKING:
    from creator.prompts.user_examples import UserExamples

__all__ = [
    "DEMONSTRATED_BY",
    "DROPPABLE",
    "EXAMPLES_DIR",
    "METHOD_PROMPTS",
    "OPTIONAL_TEMPLATES",
    "MethodPrompts",
    "PromptSet",
    "is_template",
    "placeholders",
    "text_hash",
]

EXAMPLES_DIR = "examples"
"""The directory of demonstration files (``examples/<dataset>/<name>.md``)."""

DROPPABLE = frozenset({"examples"})
"""Placeholders a user's template may leave out: ``$examples``, for a prompt without
demonstrations (zero-shot). Every other placeholder of a built-in template must stay."""


@dataclass(frozen=True, slots=True)
class MethodPrompts:
    """The templates a method renders and the demonstration names its templates show."""

    templates: tuple[str, ...]
    examples: tuple[str, ...]


_CREATOR_TEMPLATES = (
    "creator/system",
    "creator/creation",
    "creator/creation_retry",
    "creator/creation_reuse",
    "creator/decision",
    "creator/no_code",
    "creator/rectification",
    "creator/reuse_failed",
    "creator/reuse_unknown",
)
_REPAIR = ("creator/system", "creator/rectification")  # execute-and-repair asks with these

METHOD_PROMPTS: dict[str, MethodPrompts] = {
    "creator": MethodPrompts(
        _CREATOR_TEMPLATES, ("creation", "decision", "rectification", "answer_format")
    ),
    "toolcreate-whole": MethodPrompts(
        ("whole/system", "whole/prompt", *_REPAIR), ("whole", "rectification", "answer_format")
    ),
    "pot": MethodPrompts(("pot/system", "pot/prompt"), ("pot", "answer_format")),
    "cot": MethodPrompts(("cot/system", "cot/prompt"), ("cot", "answer_format")),
    "standard": MethodPrompts(
        ("standard/system", "standard/prompt"), ("standard", "answer_format")
    ),
    "tooluse": MethodPrompts(
        ("tooluse/system", "tooluse/prompt", "tooluse/result", "tooluse/no_result"),
        ("tooluse", "answer_format"),
    ),
}
"""What each method (by its command-line name) can render on any dataset."""

OPTIONAL_TEMPLATES = ("creator/no_answer",)
"""Templates only some runs render, whatever their method (``creator/no_answer``: with
``--rectify-on no-answer``); a run's hashes name them only then, so that the prompt hashes of
runs made before they existed stay the same."""

DEMONSTRATED_BY: dict[str, tuple[str, ...]] = {
    "creation": ("creator/creation", "creator/creation_reuse"),
    "decision": ("creator/decision",),
    "rectification": ("creator/rectification",),
    "whole": ("whole/prompt",),
    "pot": ("pot/prompt",),
    "cot": ("cot/prompt",),
    "standard": ("standard/prompt",),
    "tooluse": ("tooluse/prompt",),
}
"""The templates whose ``$examples`` shows each demonstration name."""


def is_template(name: str) -> bool:
    """Whether file ``name`` is a template (else a demonstration file, a plain value)."""
    return not name.startswith(f"{EXAMPLES_DIR}/")


def text_hash(text: str) -> str:
    """The short hash recorded for a prompt's text (16 hex digits of its SHA-256)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _walk(root: Traversable, prefix: str = "") -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in root.iterdir():
        if entry.is_dir() and not entry.name.startswith(("_", ".")):
            found.update(_walk(entry, f"{prefix}{entry.name}/"))
        elif entry.is_file() and entry.name.endswith(".md"):
            found[prefix + entry.name[: -len(".md")]] = entry.read_text(encoding="utf-8")
    return found


@cache
def _builtin_texts() -> Mapping[str, str]:
    return dict(sorted(_walk(resources.files("creator.prompts")).items()))


@cache
def placeholders(text: str) -> frozenset[str]:
    """The placeholders of template ``text`` (``$$`` is a literal, not one)."""
    return frozenset(Template(text).get_identifiers())


@dataclass(frozen=True, eq=False)
class PromptSet:
    """The templates and demonstrations of one run (see the module docstring).

    ``texts`` holds every file by name; ``sources`` the user's file each overriding one came
    from; ``user_examples`` the demonstrations of ``--examples FILE``, which replace the files'
    demonstrations of those names for every dataset.
    """

    texts: Mapping[str, str]
    sources: Mapping[str, Path] = field(default_factory=dict)
    user_examples: UserExamples | None = None

    @staticmethod
    def builtin() -> PromptSet:
        """The package's own prompts."""
        return _builtin()

    @property
    def is_builtin(self) -> bool:
        """Whether every file is the package's (no override, no user demonstrations)."""
        return not self.sources and self.user_examples is None

    def names(self) -> tuple[str, ...]:
        """Every file name, sorted."""
        return tuple(sorted(self.texts))

    def load(self, name: str) -> Template:
        """Template ``name`` (e.g. ``"creator/creation"``); FileNotFoundError if missing."""
        text = self.texts.get(name) if is_template(name) else None
        if text is None:
            raise FileNotFoundError(f"no prompt template {name!r}")
        return Template(text)

    def render(self, name: str, /, **values: str) -> str:
        """Fill template ``name``; a missing value raises ``KeyError`` naming the placeholder."""
        return self.load(name).substitute(values).strip() + "\n"

    def examples(self, dataset: str | None, name: str) -> str:
        """Demonstrations ``name`` (e.g. ``"creation"``) for ``dataset``, else the generic ones;
        the user's, when ``--examples`` gave some of that name."""
        if self.user_examples is not None:
            shown = self.user_examples.texts.get(name)
            if shown is not None:
                return shown
        text = self.texts.get(self.example_file(dataset, name))
        if text is None:
            raise FileNotFoundError(f"no examples {name!r} for dataset {dataset!r}")
        return text.strip()

    def example_file(self, dataset: str | None, name: str) -> str:
        """The file that holds demonstrations ``name`` for ``dataset`` (its own, else generic)."""
        own = f"{EXAMPLES_DIR}/{dataset}/{name}"
        return own if dataset and own in self.texts else f"{EXAMPLES_DIR}/generic/{name}"

    def hashes(
        self, *, method: str | None = None, dataset: str | None = None, extra: Sequence[str] = ()
    ) -> dict[str, str]:
        """``{file: hash}`` of every prompt ``method`` can use on ``dataset`` (every file for a
        method not in :data:`METHOD_PROMPTS`), and the ``extra`` templates a run's options add
        (:data:`OPTIONAL_TEMPLATES`). Files are named with ``.md``
        (``creator/creation.md``, ``examples/math/creation.md``); the user's demonstrations
        are ``--examples/<name>``, hashed as rendered."""
        uses = METHOD_PROMPTS.get(method or "")
        if uses is None:
            return {f"{n}.md": text_hash(self.texts[n]) for n in self.names()}
        found = {f"{n}.md": text_hash(self.texts[n]) for n in (*uses.templates, *extra)}
        for name in uses.examples:
            shown = self.user_examples.texts.get(name) if self.user_examples else None
            if shown is not None:
                found[f"--examples/{name}"] = text_hash(shown)
            else:
                file = self.example_file(dataset, name)
                found[f"{file}.md"] = text_hash(self.texts[file])
        return dict(sorted(found.items()))

    def with_examples(self, examples: UserExamples) -> PromptSet:
        """This set with ``examples`` replacing the demonstrations of their names."""
        for name in examples.texts:
            for template in DEMONSTRATED_BY.get(name, ()):
                if "examples" not in placeholders(self.texts[template]):
                    where = self.sources.get(template, f"{template}.md")
                    raise ConfigError(
                        f"--examples {examples.path}: the template {where} has no $examples, "
                        "so the examples would never be shown; put $examples back in it"
                    )
        return replace(self, user_examples=examples)


@cache
def _builtin() -> PromptSet:
    return PromptSet(texts=_builtin_texts())
