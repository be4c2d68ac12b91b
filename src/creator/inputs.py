"""Opening a file the user names as input (a dataset, demonstrations, a prompt) safely.

:func:`open_input` refuses anything that is not a regular file once symbolic links are
followed (a named pipe, which would block the open for ever; ``/dev/zero``, which never ends;
a directory; a socket), before opening it, and opens it without blocking and checks it again,
so a file swapped in between is refused too. A file larger than the caller's cap is refused
from its size, before any of it is read; :func:`read_input` then reads at most the cap (a file
that grows while read is refused, not slurped). Every failure is one
:class:`~creator.errors.InputError` line naming the file.

Left out: what the bytes mean (each reader decodes and parses its own format), and files
creator writes (:mod:`creator.files`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from creator.errors import InputError

__all__ = ["MIB", "open_input", "read_input", "size_text"]

MIB = 1024 * 1024


def size_text(size: int) -> str:
    """``size`` bytes as a cap is written in errors: ``1 GiB``, ``16 MiB``, ``512 bytes``."""
    for unit, scale in (("GiB", MIB * 1024), ("MiB", MIB), ("KiB", 1024)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _checked(info: os.stat_result, label: str, cap: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{label}: not a regular file ({_kind(info.st_mode)})")
    if info.st_size > cap:
        raise InputError(
            f"{label}: the file is {info.st_size:,} bytes, larger than the {size_text(cap)} limit"
        )


def _failure(label: str, exc: OSError) -> InputError:
    if isinstance(exc, FileNotFoundError):
        return InputError(f"{label}: no such file")
    return InputError(f"{label}: cannot read it: {exc.strerror or exc}")


@contextmanager
def open_input(path: Path, *, label: str, cap: int) -> Iterator[tuple[BinaryIO, os.stat_result]]:
    """The regular file ``path`` open for reading in binary, and its status (from the open
    file); ``label`` starts every error (the path as the user wrote it, say)."""
    try:
        _checked(os.stat(path), label, cap)  # a FIFO is never opened: the open would block
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise _failure(label, exc) from None
    try:
        info = os.fstat(fd)
        _checked(info, label, cap)  # swapped for something else since the stat
        os.set_blocking(fd, True)
        handle = os.fdopen(fd, "rb")
    except OSError as exc:
        os.close(fd)
        raise _failure(label, exc) from None
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle, info


def read_input(path: Path, *, label: str, cap: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``cap`` of them (see :func:`open_input`)."""
    try:
        with open_input(path, label=label, cap=cap) as (handle, _):
            data = handle.read(cap + 1)
    except OSError as exc:
        raise _failure(label, exc) from None
    if len(data) > cap:
        raise InputError(f"{label}: the file grew past the {size_text(cap)} limit while read")
    return data
