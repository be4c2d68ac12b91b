"""Framing between the host and a sandbox worker: 4-byte big-endian length + UTF-8 JSON.

Both sides use it: the host over the worker's stdin/stdout pipes, the worker inside the
sandbox (so only the standard library is imported). Deliberately left out: schemas (the
messages are plain dicts built and read in :mod:`worker` and :mod:`pool`), and streaming.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

__all__ = ["MAX_MESSAGE", "ProtocolError", "recv", "send"]

MAX_MESSAGE = 256 * 1024 * 1024
_HEADER = struct.Struct(">I")


class ProtocolError(Exception):
    """The peer sent something that is not a frame, or went away mid-frame."""


def send(fd: int, message: dict[str, Any]) -> None:
    """Write one framed message to ``fd`` (blocking)."""
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    data = memoryview(_HEADER.pack(len(body)) + body)
    while data:
        try:
            written = os.write(fd, data)
        except InterruptedError:
            continue
        data = data[written:]


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
    (size,) = _HEADER.unpack(header)
    if size > MAX_MESSAGE:
        raise ProtocolError(f"message of {size} bytes is over the limit")
    body = _read_exact(fd, size, deadline)
    if body is None:
        raise ProtocolError("the sandbox worker closed its pipe mid-message")
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    return message
