"""The user's prompt directory (``--prompts DIR``) over the built-in prompts, and exporting them.

:func:`load_prompt_dir` overlays the built-in set file by file: ``DIR/creator/creation.md``
replaces ``creator/creation.md``, ``DIR/examples/math/creation.md`` replaces those
demonstrations, and every file not in ``DIR`` stays the package's. Everything is checked before
a run starts, and the first problem is one line naming the file:

- a file whose name is not one of the package's (a typo must not be silently ignored; hidden
  files and directories, such as ``.git``, are skipped);
- a template with a ``$`` that starts no placeholder, with a placeholder the built-in template
  does not have, or without one it has. Only ``$examples`` may be left out (a prompt with no
  demonstrations); leaving out ``$problem`` would silently ask the model about nothing.

Demonstration files are values shown as they are: any text is accepted. :func:`export_prompts`
writes the built-in files in the same layout, a directory to start editing from. Left out:
checking that edited demonstrations still run (``--examples FILE`` rows are run; see
:mod:`creator.prompts.user_examples`).
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from string import Template

from creator.errors import ConfigError, InputError
from creator.files import ensure_dir, write_text
from creator.prompts.sets import DROPPABLE, PromptSet, is_template, placeholders

__all__ = ["check_template", "export_prompts", "load_prompt_dir"]


def _files(root: Path) -> list[Path]:
    found: list[Path] = []
    for top, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += (Path(top) / f for f in sorted(files) if not f.startswith("."))
    return found


def _unknown(root: Path, relative: str, names: list[str]) -> ConfigError:
    close = difflib.get_close_matches(relative, names, n=1, cutoff=0.8)
    hint = f"did you mean {close[0]}? " if close else ""
    return ConfigError(
        f"--prompts {root}: {relative} is not a prompt file of creator ({hint}the names are "
        "those `creator prompts export DIR` writes, e.g. creator/creation.md)"
    )


def load_prompt_dir(root: Path, *, base: PromptSet | None = None) -> PromptSet:
    """``base`` (default: the built-in prompts) with the files of ``root`` over it, checked."""
    base = base if base is not None else PromptSet.builtin()
    if not root.is_dir():
        what = "is not a directory" if root.exists() else "does not exist"
        raise InputError(f"--prompts {root} {what}")
    texts, sources = dict(base.texts), dict(base.sources)
    names = [f"{n}.md" for n in base.names()]
    for path in _files(root):
        relative = path.relative_to(root).as_posix()
        name = relative.removesuffix(".md")
        if not relative.endswith(".md") or name not in base.texts:
            raise _unknown(root, relative, names)
        if not path.is_file():
            raise InputError(f"--prompts {root}: {relative} is not a regular file")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{path} is not UTF-8 text") from None
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
        if is_template(name):
            check_template(name, text, where=str(path), builtin=PromptSet.builtin().texts[name])
        texts[name], sources[name] = text, path
    return PromptSet(texts=texts, sources=sources, user_examples=base.user_examples)


def _invalid_line(text: str) -> int:
    for match in Template.pattern.finditer(text):
        if match.group("invalid") is not None:
            return text.count("\n", 0, match.start("invalid")) + 1
    return 1


def check_template(name: str, text: str, *, where: str, builtin: str) -> None:
    """Refuse ``text`` as template ``name`` unless its placeholders are the ``builtin``
    template's (``$examples`` may be left out); the error names ``where`` (the file)."""
    if not Template(text).is_valid():
        raise ConfigError(
            f"{where}:{_invalid_line(text)}: a $ that starts no placeholder "
            "(write $$ for a literal $)"
        )
    have, want = placeholders(text), placeholders(builtin)
    takes = ", ".join(f"${p}" for p in sorted(want)) or "no placeholder"
    unknown = sorted(have - want)
    if unknown:
        raise ConfigError(
            f"{where}: unknown placeholder ${unknown[0]} ({name}.md takes {takes}; "
            "write $$ for a literal $)"
        )
    missing = sorted(want - have - DROPPABLE)
    if missing:
        raise ConfigError(
            f"{where}: placeholder ${missing[0]} is missing ({name}.md needs {takes}; only "
            "$examples may be left out, for a prompt without demonstrations)"
        )


def export_prompts(
    root: Path, *, force: bool = False, prompts: PromptSet | None = None
) -> list[Path]:
    """Write every file of ``prompts`` (default: the built-in ones) under ``root``; the files
    written. Existing files are refused unless ``force``; each file is written whole or not
    at all, and a failure is one line (:class:`~creator.errors.OutputError`)."""
    prompts = prompts if prompts is not None else PromptSet.builtin()
    ensure_dir(root)
    targets = [(root / f"{name}.md", prompts.texts[name]) for name in prompts.names()]
    existing = [path for path, _ in targets if path.exists()]
    if existing and not force:
        raise InputError(
            f"{root} already holds {len(existing)} of the {len(targets)} prompt files (e.g. "
            f"{existing[0]}): pass --force to overwrite them, or choose another directory"
        )
    for path, text in targets:
        ensure_dir(path.parent)
        write_text(path, text)
    return [path for path, _ in targets]
