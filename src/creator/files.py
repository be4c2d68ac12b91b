"""Writing files so that a failed write costs nothing: whole files atomically, lines whole.

Every file creator writes for a user (a run's ``config.json`` and ``summary.json``, a
report's Markdown, CSV and PNG files, the HTML viewer, a tool export) goes through
:func:`atomic_open` (or :func:`write_text`): the content goes to a hidden
temporary file in the same directory, is flushed and ``fsync``-ed, and is renamed over the
target only when complete, so a reader sees the old file or the new one, never half of one,
and the temporary file is removed on any failure. ``results.jsonl`` grows by
:func:`append_bytes`, which cuts the file back to its old length when a line could not be
written whole (a full disk), so the file never ends in half a line.

A symlink is written through (the file it points to is replaced; the link stays a link),
and a target that is not a regular file (``/dev/stdout``, a named pipe, a device) is written
in place, not replaced by a regular file.

Any ``OSError`` met while writing becomes an :class:`~creator.errors.OutputError` whose
message is one line naming the file and the system's reason (``cannot write
report/report.md: No space left on device``); :func:`ensure_dir` does the same for the
directory a command writes into (``--out`` that is a file, a read-only place). The SQLite
files (the tool library, the response cache) are SQLite's to write;
:func:`creator.sqlite.write_failure` words their failed writes the same way.

Deliberately left out: ``fsync`` of the directory after a rename (a crash of the machine, not
of creator, may still lose the newest rename), locking (one writer per file is the callers'
business: a run directory's lock, a report's own directory), and retrying a failed write.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal, TextIO, overload

from creator.errors import OutputError

__all__ = [
    "ENVIRONMENT_ERRNOS",
    "append_bytes",
    "atomic_open",
    "ensure_dir",
    "reason",
    "write_failure",
    "write_text",
]

ENVIRONMENT_ERRNOS: frozenset[int] = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.EFBIG,
        errno.EIO,
    }
)
"""Failures that are the machine's, not a bug of creator's: a full disk or quota, a read-only
file system, a permission, a file size limit, an I/O error."""


def reason(exc: OSError) -> str:
    """The system's words for ``exc`` on one line (``No space left on device``)."""
    text = exc.strerror or str(exc) or type(exc).__name__
    return " ".join(text.split())


def write_failure(path: Path | str, exc: OSError) -> OutputError:
    """The one-line error for a failed write of ``path``."""
    return OutputError(f"cannot write {path}: {reason(exc)}")


def ensure_dir(path: Path) -> None:
    """Create the directory ``path`` (and its parents) unless it exists; an
    :class:`OutputError` when it is a file or cannot be created."""
    if path.exists() and not path.is_dir():
        raise OutputError(f"cannot write into {path}: it is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the directory {path}: {reason(exc)}") from None


def _temporary(path: Path) -> Path:
    """A fresh hidden name next to ``path`` (same file system, so the rename is atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


@overload
def atomic_open(path: Path, mode: Literal["w"] = "w") -> AbstractContextManager[TextIO]: ...
@overload
def atomic_open(path: Path, mode: Literal["wb"]) -> AbstractContextManager[BinaryIO]: ...
def atomic_open(path: Path, mode: Literal["w", "wb"] = "w") -> AbstractContextManager[IO[Any]]:
    """A file handle whose content replaces ``path`` when the block ends without an error.

    Text mode writes UTF-8 with ``\\n`` line ends. On any failure (an ``OSError`` while
    writing, flushing or renaming, or any exception raised in the block) the temporary file
    is removed and ``path`` is left as it was; an ``OSError`` is raised as
    :class:`OutputError` naming ``path``.
    """
    return _atomic(Path(path), mode)


def _handle(fd: int, mode: str) -> IO[Any]:
    if mode == "wb":
        return os.fdopen(fd, "wb")
    return os.fdopen(fd, "w", encoding="utf-8", newline="\n")


@contextmanager
def _atomic(path: Path, mode: str) -> Iterator[IO[Any]]:
    # A symlink is written through (the file it names is replaced, the link stays); a
    # device, a pipe or a socket is written to in place, as a shell's `>` would (renaming a
    # file over /dev/stdout would replace the device node itself).
    target = Path(os.path.realpath(path))
    try:
        kind = os.stat(target).st_mode
    except FileNotFoundError:
        kind = stat.S_IFREG
    except OSError as exc:
        raise write_failure(path, exc) from None
    if stat.S_ISDIR(kind):
        raise write_failure(path, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)))
    if not stat.S_ISREG(kind):
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CLOEXEC)
            with _handle(fd, mode) as handle:
                yield handle
        except OSError as exc:
            raise write_failure(path, exc) from None
        return
    tmp = _temporary(target)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise write_failure(path, exc) from None
    renamed = False
    try:
        with _handle(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        renamed = True
    except OSError as exc:
        raise write_failure(path, exc) from None
    finally:
        if not renamed:
            with suppress(OSError):
                os.unlink(tmp)


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) atomically; see :func:`atomic_open`."""
    with atomic_open(path) as handle:
        handle.write(text)


def append_bytes(path: Path, data: bytes) -> None:
    """Append ``data`` to ``path`` (created if missing) whole or not at all.

    The bytes go out in as few ``write`` calls as the system allows on an append-only
    descriptor, without ``fsync`` (a killed process loses nothing written; the machine's crash
    is another matter). When a write fails part way (a full disk), the file is cut back to its
    length before, so it never ends in a fragment; the failure is an :class:`OutputError`.
    One writer at a time: the cut assumes no one else appended meanwhile.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise write_failure(path, exc) from None
    written = 0
    try:
        start = os.fstat(fd).st_size
        view = memoryview(data)
        while written < len(data):
            count = os.write(fd, view[written:])
            if count <= 0:
                raise OSError(errno.EIO, "the system accepted none of the bytes")
            written += count
    except OSError as exc:
        if written:
            with suppress(OSError):  # not a regular file (a device): nothing to cut
                os.ftruncate(fd, start)
        raise write_failure(path, exc) from None
    finally:
        os.close(fd)
