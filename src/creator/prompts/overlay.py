"""The user's prompt directory (``--prompts DIR``) over the built-in prompts, and exporting them.

:func:`load_prompt_dir` overlays the built-in set file by file: ``DIR/creator/creation.md``
replaces ``creator/creation.md``, ``DIR/examples/math/creation.md`` replaces those
demonstrations, and every file not in ``DIR`` stays the package's. Everything is checked before
a run starts, and the first problem is one line naming the file:

- a file whose name is not one of the package's (a typo must not be silently ignored; hidden
  files and directories, such as ``.git``, are skipped), found without looking further: a
  directory the package does not have is refused before it is entered (``--prompts ~`` stops
  at once), and a link to a directory is refused, never followed;
- a file that is a link to a file outside DIR (whatever DIR holds is sent to the model), one
  that is not a regular file (a named pipe, a device) or larger than 1 MiB;
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
from collections.abc import Iterator
from pathlib import Path
from string import Template

from creator.errors import ConfigError, InputError
from creator.files import ensure_dir, reason, write_text
from creator.inputs import MIB, read_input
from creator.prompts.sets import DROPPABLE, PromptSet, is_template, placeholders

__all__ = ["MAX_PROMPT_BYTES", "check_template", "export_prompts", "load_prompt_dir"]


MAX_PROMPT_BYTES = MIB
"""The largest prompt file read (1 MiB, far more than any model's context)."""


def _files(root: Path, names: list[str]) -> Iterator[tuple[str, Path]]:
    """The files under ``root`` as (name relative to ``root``, path), found one directory at a
    time, so that the first entry outside the built-in layout (``names``) is an error before
    anything else is looked at: an unknown directory is not entered, a link to a directory is
    not followed, and a file that is a link out of ``root`` is refused. Hidden entries are
    skipped."""
    known_dirs = {name.rsplit("/", n)[0] for name in names for n in range(1, name.count("/") + 1)}
    inside = root.resolve()

    def walk(directory: str) -> Iterator[tuple[str, Path]]:
        try:
            with os.scandir(root / directory if directory else root) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            raise InputError(
                f"--prompts {root}: cannot list {directory or '.'}: {reason(exc)}"
            ) from None
        for entry in entries:
            if entry.name.startswith("."):
                continue
            relative = f"{directory}/{entry.name}" if directory else entry.name
            if entry.is_dir():  # through a link too: its name says what it is meant to be
                if relative not in known_dirs:
                    raise _unknown(root, f"{relative}/", sorted(f"{d}/" for d in known_dirs))
                if entry.is_symlink():
                    raise ConfigError(
                        f"--prompts {root}: {relative} is a link to a directory, which is not "
                        "followed: copy the files there instead"
                    )
                yield from walk(relative)
                continue
            if relative not in names:
                raise _unknown(root, relative, names)
            path = Path(entry.path)
            if entry.is_symlink() and not path.resolve().is_relative_to(inside):
                raise ConfigError(
                    f"--prompts {root}: {relative} is a link to {path.resolve()}, outside "
                    f"{root}: only files inside the directory are read"
                )
            yield relative, path

    return walk("")


def _unknown(root: Path, relative: str, names: list[str]) -> ConfigError:
    close = difflib.get_close_matches(relative, names, n=1, cutoff=0.8)
    hint = f"did you mean {close[0]}? " if close else ""
    what = "directory" if relative.endswith("/") else "file"
    return ConfigError(
        f"--prompts {root}: {relative} is not a prompt {what} of creator ({hint}the names are "
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
    for relative, path in _files(root, names):
        name = relative.removesuffix(".md")
        data = read_input(path, label=f"--prompts {root}: {relative}", cap=MAX_PROMPT_BYTES)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{path} is not UTF-8 text") from None
        if is_template(name):
            check_template(name, text, where=str(path), builtin=PromptSet.builtin().texts[name])
        texts[name], sources[name] = text, path
    return PromptSet(texts=texts, sources=sources, user_examples=base.user_examples)


def _invalid_line(text: str) -> int:
    for match in Template.pattern.finditer(text):
        if match.group("invalid") is not None:
            return text.count("\n", 0, match.start("invalid")) + 1
    return 1


def _placeholder_line(text: str, placeholder: str) -> int:
    for match in Template.pattern.finditer(text):
        if placeholder in (match.group("named"), match.group("braced")):
            return text.count("\n", 0, match.start()) + 1
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
            f"{where}:{_placeholder_line(text, unknown[0])}: unknown placeholder "
            f"${unknown[0]} ({name}.md takes {takes}; write $$ for a literal $)"
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
    existing = [path for path, _ in targets if os.path.lexists(path)]  # a dangling link too
    if existing and not force:
        raise InputError(
            f"{root} already holds {len(existing)} of the {len(targets)} prompt files (e.g. "
            f"{existing[0]}): pass --force to overwrite them, or choose another directory"
        )
    for path, text in targets:
        ensure_dir(path.parent)
        write_text(path, text)
    return [path for path, _ in targets]
