"""The job runner: what executes model-written code parts inside an already sandboxed process.

Each part is compiled with its name as the file name (``tool``, ``decision``), registered in
:mod:`linecache` so tracebacks show its source, and executed in order in one fresh ``__main__``
namespace. On an exception the traceback keeps only frames of those parts, with line numbers
relative to each part and no host paths; a SyntaxError is reported the same way. stdout and
stderr are write-through, so nothing is lost when the code calls ``os._exit``. The outcome
(exit status, whether it was a MemoryError, the traceback) goes to a separate result
descriptor in a small text format (:func:`encode_report`, read back by :func:`decode_report`):
in a freshly forked process json costs ten times more, in page copies, than this does.

The code may raise a 10 MB message on purpose, so the traceback is bounded where it is made:
each exception's message to :data:`_MESSAGE_CAP` characters (before formatting, so a huge
message is not copied again), its notes to :data:`_NOTES_CAP`, any one formatted piece (a
frame, the exception line) to :data:`_PIECE_CAP`, and the whole to :data:`TRACEBACK_CAP`, each
by :func:`clip`, which keeps the head and the tail around a line saying how much was cut. The
exception's last line (its type and the start of its message) always survives. The host
uses :func:`clip` too, to bound what it shows the model.

Deliberately left out: any isolation. This module only runs code; it must be called in a
process that is already confined (see :mod:`creator.sandbox.worker`). It imports nothing
outside the standard library, because it is loaded inside the sandbox without the package.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import linecache
import os
import sys
import traceback
from collections.abc import Sequence
from types import TracebackType

__all__ = [
    "TRACEBACK_CAP",
    "clip",
    "decode_report",
    "encode_report",
    "format_trimmed",
    "prepare_streams",
    "run_parts",
    "write_all",
]

_HIDDEN_PREFIXES = tuple(
    sorted({p for p in (sys.prefix, sys.base_prefix, sys.exec_prefix) if p}, key=len, reverse=True)
)

TRACEBACK_CAP = 16_000
"""Most characters in a formatted traceback: realistic ones (a few dozen frames, a chained
exception) are far shorter and stay whole; a longer one keeps its first quarter and the rest
from its end, where the innermost frames and the exception are."""
_MESSAGE_CAP = 1_200
"""Most characters of one exception's message (and of a SyntaxError's source line)."""
_NOTES_CAP = 600
"""Most characters of one exception's ``__notes__``, all notes together."""
_NOTES_MAX = 20
"""Most notes of one exception read at all (the rest count as cut)."""
_PIECE_CAP = 2_000
"""Most characters of one piece of the formatted traceback: a frame, or the exception line
(which, with its clipped message and notes, fits at the end of every clipped traceback)."""


def clip(text: str, limit: int, *, head: float = 0.25) -> str:
    """``text`` if it has at most ``limit`` characters; else its start and its end joined by a
    marker line, ``[... 9,999,000 characters cut ...]``, at most ``limit`` characters in all.

    ``head`` is the share of the kept characters taken from the start. ``limit`` must leave
    room for the marker (about 40 characters).
    """
    if len(text) <= limit:
        return text
    room = limit - len(_cut_marker(len(text)))
    if room < 0:
        raise ValueError(f"limit {limit} leaves no room for the cut marker")
    first = int(room * head)
    last = room - first
    return text[:first] + _cut_marker(len(text) - room) + text[len(text) - last :]


def _cut_marker(cut: int) -> str:
    return f"\n[... {cut:,} characters cut ...]\n"


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd``, ignoring a closed or broken descriptor."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        except OSError:
            return
        view = view[written:]


def _trim(exc: traceback.TracebackException, names: frozenset[str]) -> None:
    """Drop frames outside the parts from ``exc`` and every exception chained to it, and
    clip their messages (:func:`_clip_message`)."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        kept = [frame for frame in current.stack if frame.filename in names]
        current.stack = traceback.StackSummary.from_list(kept)
        _clip_message(current)
        if current.__cause__ is not None:
            pending.append(current.__cause__)
        if current.__context__ is not None:
            pending.append(current.__context__)
        for group_member in getattr(current, "exceptions", None) or ():
            pending.append(group_member)


def _clip_message(exc: traceback.TracebackException) -> None:
    """Clip the texts the code controls in ``exc`` before they are formatted (and copied).

    The message is the private ``_str`` (3.11 to 3.13): were a later Python to drop it, the
    piece cap in :func:`format_trimmed` would still bound the exception line.
    """
    message = getattr(exc, "_str", None)
    if isinstance(message, str):
        setattr(exc, "_str", clip(message, _MESSAGE_CAP, head=0.5))  # noqa: B010
    syntax_message = getattr(exc, "msg", None)  # only a SyntaxError has these
    if isinstance(syntax_message, str):
        exc.msg = clip(syntax_message, _MESSAGE_CAP, head=0.5)
    text = getattr(exc, "text", None)
    if isinstance(text, str) and len(text) > _MESSAGE_CAP:
        exc.text = clip(text, _MESSAGE_CAP, head=0.5)
        # the carets would point past the clipped line (typeshed types these as int)
        setattr(exc, "offset", None)  # noqa: B010
        setattr(exc, "end_offset", None)  # noqa: B010
    notes = getattr(exc, "__notes__", None)
    if notes is not None:
        setattr(exc, "__notes__", [clip(_notes_text(notes), _NOTES_CAP, head=0.5)])  # noqa: B010


def _notes_text(notes: object) -> str:
    """The notes as one text, as the traceback module shows them (each note of a sequence, or
    the repr of anything else); at most :data:`_NOTES_MAX` notes are read, each clipped to
    half of :data:`_NOTES_CAP`."""
    try:
        if not isinstance(notes, Sequence) or isinstance(notes, str | bytes):
            return repr(notes)
        shown = [clip(str(note), _NOTES_CAP // 2, head=0.5) for note in notes[:_NOTES_MAX]]
        if len(notes) > _NOTES_MAX:
            shown.append(f"[... {len(notes) - _NOTES_MAX:,} more notes cut ...]")
        return "\n".join(shown)
    except Exception:  # a note's __str__, or the sequence itself, misbehaves
        return "(notes unavailable)"


def _hide_prefixes(text: str) -> str:
    for prefix in _HIDDEN_PREFIXES:
        text = text.replace(prefix, "<python>")
    return text


def format_trimmed(
    exc_type: type[BaseException],
    exc: BaseException,
    tb: TracebackType | None,
    names: frozenset[str],
) -> str:
    """The traceback of ``exc`` limited to frames whose file name is one of ``names``, at most
    :data:`TRACEBACK_CAP` characters (see the module's docstring for how it is clipped)."""
    te = traceback.TracebackException(exc_type, exc, tb, capture_locals=False)
    _trim(te, names)
    pieces = (clip(_hide_prefixes(piece), _PIECE_CAP, head=0.5) for piece in te.format())
    return clip("".join(pieces), TRACEBACK_CAP)


def _stream(fd: int) -> io.TextIOWrapper:
    raw = io.FileIO(fd, "w", closefd=False)  # unbuffered, like ``python -u``
    return io.TextIOWrapper(
        raw,
        encoding="utf-8",
        errors="backslashreplace",
        write_through=True,
    )


_prepared: list[io.TextIOWrapper] = []


def prepare_streams() -> None:
    """Make the job's stdout and stderr objects (on fds 1 and 2) now, in a process that will
    fork job children: each child then starts with them instead of building its own."""
    _prepared[:] = [_stream(1), _stream(2)]


def encode_report(status: int, *, memory_error: bool, traceback: str | None) -> bytes:
    """The runner's report: ``"<status> <memory_error> <has_traceback>\n"`` + the traceback."""
    head = f"{status} {int(memory_error)} {int(traceback is not None)}\n"
    return head.encode() + (traceback or "").encode("utf-8", "backslashreplace")


def decode_report(raw: bytes) -> dict[str, object] | None:
    """``{"status", "memory_error", "traceback"}`` from a report; None if it is not one (a job
    may have written anything to the report descriptor before dying). The job may also have
    forged a report, so its traceback is clipped to :data:`TRACEBACK_CAP` here too."""
    head, newline, rest = raw.partition(b"\n")
    fields = head.split(b" ")
    if not newline or len(fields) != 3 or not all(f.isdigit() and len(f) <= 4 for f in fields):
        return None
    status, memory_error, has_traceback = (int(f) for f in fields)
    if memory_error > 1 or has_traceback > 1:
        return None
    traceback = clip(rest.decode("utf-8", "replace"), TRACEBACK_CAP) if has_traceback else None
    return {"status": status, "memory_error": bool(memory_error), "traceback": traceback}


def _flush_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # the code may have replaced or closed them
            pass


def run_parts(parts: Sequence[tuple[str, str]], *, result_fd: int) -> int:
    """Run ``parts`` (name, source) in one namespace; return the process exit status.

    Writes the report (:func:`encode_report`) to ``result_fd``, then closes fds 1, 2 and
    ``result_fd`` so the reader sees the end of the job without waiting for the process to be
    torn down.
    """
    sys.stdout, sys.stderr = _prepared if _prepared else (_stream(1), _stream(2))
    setattr(sys, "__stdout__", sys.stdout)  # noqa: B010 - typeshed marks it Final
    setattr(sys, "__stderr__", sys.stderr)  # noqa: B010
    names = frozenset(name for name, _ in parts)
    namespace: dict[str, object] = {"__name__": "__main__", "__builtins__": builtins}
    sys.argv = [parts[-1][0] if parts else ""]
    # Generated code may print huge integers (2**64 factorials...): the job's CPU and output
    # limits bound the cost, so Python's 4,300-digit conversion guard is not needed here.
    sys.set_int_max_str_digits(0)
    status = 0
    memory_error = False
    trace: str | None = None
    try:
        for name, source in parts:
            linecache.cache[name] = (len(source), None, source.splitlines(True), name)
            code = compile(source, name, "exec", dont_inherit=True)
            exec(code, namespace)  # confined child process: this is the sandbox's purpose
    except SystemExit as stop:
        status = _exit_status(stop.code)
    except BaseException as exc:  # everything else is the code's failure, reported as such
        status = 1
        memory_error = isinstance(exc, MemoryError)
        try:
            trace = format_trimmed(type(exc), exc, exc.__traceback__, names)
        except BaseException:  # formatting itself failed (e.g. out of memory)
            trace = clip(f"{type(exc).__name__}: (traceback unavailable)", _PIECE_CAP)
    _flush_streams()
    write_all(result_fd, encode_report(status, memory_error=memory_error, traceback=trace))
    for fd in (1, 2, result_fd):
        with contextlib.suppress(OSError):
            os.close(fd)
    return status


def _exit_status(code: object) -> int:
    """The exit status ``sys.exit(code)`` would give, printing a message code as CPython does."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    with contextlib.suppress(Exception):
        print(code, file=sys.stderr)
    return 1
