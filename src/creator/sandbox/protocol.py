"""Framing between the host and a sandbox worker: 4-byte big-endian length + UTF-8 JSON.

Both sides use it: the host over a Unix socket pair (the worker's stdin), the worker inside
the sandbox (so only the standard library is imported). A frame may carry file descriptors
(``SCM_RIGHTS``): that is how the worker hands the host the pipes of each forked job child,
so the host talks to the job directly. Deliberately left out: schemas (the messages are plain
dicts built and read in :mod:`worker` and :mod:`pool`), and streaming.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import struct
import time
from typing import Any

__all__ = ["MAX_FDS", "MAX_MESSAGE", "ProtocolError", "recv", "recv_fds", "send", "send_fds"]

MAX_MESSAGE = 256 * 1024 * 1024
MAX_FDS = 8
_HEADER = struct.Struct(">I")
_INT = struct.Struct("i")


class ProtocolError(Exception):
    """The peer sent something that is not a frame, or went away mid-frame."""


def send(fd: int, message: dict[str, Any]) -> None:
    """Write one framed message to ``fd`` (blocking)."""
    data = memoryview(_frame(message))
    while data:
        try:
            written = os.write(fd, data)
        except InterruptedError:
            continue
        data = data[written:]


def _frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return _HEADER.pack(len(body)) + body


def send_fds(sock: socket.socket, message: dict[str, Any], fds: list[int]) -> None:
    """Write one frame to the Unix socket ``sock``, with ``fds`` attached to its first byte."""
    data = memoryview(_frame(message))
    sent = sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, _ints(fds))])
    while sent < len(data):
        sent += sock.send(data[sent:])


def _ints(fds: list[int]) -> bytes:
    return struct.pack(f"{len(fds)}i", *fds)


_FIRST_READ = 1 << 16


def recv_fds(
    sock: socket.socket, *, deadline: float | None = None
) -> tuple[dict[str, Any] | None, list[int]]:
    """Read one frame from the Unix socket ``sock`` and the descriptors sent with it.

    The descriptors arrive close-on-exec. None (and no descriptors) on a clean end of stream.
    The peer must not send a second frame before this one is read (one read takes the frame,
    in one system call when it is small: the worker's are).
    """
    fd = sock.fileno()
    fds: list[int] = []
    if deadline is not None:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise TimeoutError("no answer from the sandbox worker in time")
    space = socket.CMSG_SPACE(MAX_FDS * _INT.size)
    got, ancillary, flags, _ = sock.recvmsg(_FIRST_READ, space, socket.MSG_CMSG_CLOEXEC)
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            usable = len(data) - len(data) % _INT.size
            fds.extend(struct.unpack(f"{usable // _INT.size}i", data[:usable]))
    try:
        if flags & socket.MSG_CTRUNC:
            raise ProtocolError("the sandbox worker sent too many descriptors")
        if not got:
            _close(fds)
            return None, []
        if len(got) < _HEADER.size:
            rest = _read_exact(fd, _HEADER.size - len(got), deadline)
            if rest is None:
                raise ProtocolError("the sandbox worker closed its socket mid-message")
            got += rest
        return _body(fd, got[: _HEADER.size], deadline, have=got[_HEADER.size :]), fds
    except BaseException:
        _close(fds)
        raise


def _close(fds: list[int]) -> None:
    for descriptor in fds:
        with contextlib.suppress(OSError):
            os.close(descriptor)


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes | None:
    chunks: list[bytes] = []
    missing = size
    while missing:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no answer from the sandbox worker in time")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
        chunk = os.read(fd, min(missing, 1 << 20))
        if not chunk:
            if missing == size and not chunks:
                return None
            raise ProtocolError("the sandbox worker closed its pipe mid-message")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def recv(fd: int, *, deadline: float | None = None) -> dict[str, Any] | None:
    """Read one message; None on a clean end of stream. TimeoutError past ``deadline``."""
    header = _read_exact(fd, _HEADER.size, deadline)
    if header is None:
        return None
    return _body(fd, header, deadline)


def _body(fd: int, header: bytes, deadline: float | None, *, have: bytes = b"") -> dict[str, Any]:
    """The message of ``header``: ``have`` (bytes of it already read), then the rest."""
    (size,) = _HEADER.unpack(header)
    if size > MAX_MESSAGE:
        raise ProtocolError(f"message of {size} bytes is over the limit")
    if len(have) > size:
        raise ProtocolError("the sandbox worker sent more than one message at once")
    rest = _read_exact(fd, size - len(have), deadline) if len(have) < size else b""
    if rest is None:
        raise ProtocolError("the sandbox worker closed its pipe mid-message")
    body = have + rest
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    return message
