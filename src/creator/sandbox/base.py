"""The sandbox interface: run model-written code parts under limits, get an ExecResult.

Code arrives as named parts (``tool``, ``decision``) that run in order in one namespace, as
if they were one file. A traceback in the result is trimmed to frames of those parts, with
line numbers relative to each part and no host paths, at most
:data:`~creator.sandbox.runner.TRACEBACK_CAP` characters. What the model is shown of a failure
(:attr:`ExecResult.error`) is at most :data:`ERROR_CAP` characters, however much the code
wrote. Implementations (isolation levels) live in sibling modules; this module defines only
the records and the protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from .runner import clip

__all__ = ["ERROR_CAP", "CodePart", "ExecResult", "Limits", "Sandbox"]

ERROR_CAP = 4_000
"""Most characters of :attr:`ExecResult.error`: about 1,000 tokens, room for any realistic
trimmed traceback; a longer text keeps its start and, mostly, its end (see
:func:`~creator.sandbox.runner.clip`)."""


class CodePart(BaseModel):
    """A named piece of code; ``name`` appears in tracebacks as the file name."""

    model_config = ConfigDict(frozen=True)

    name: str
    code: str


class Limits(BaseModel):
    """Per-execution limits. ``None`` fields use the sandbox's defaults."""

    model_config = ConfigDict(frozen=True)

    timeout_s: float = 10.0
    memory_mb: int = 1024
    max_output_bytes: int = 1_000_000
    max_processes: int = 64
    max_file_mb: int = 64


class ExecResult(BaseModel):
    """What happened when code ran."""

    model_config = ConfigDict(frozen=True)

    stdout: str = ""
    stderr: str = ""
    traceback: str | None = None
    """Trimmed traceback of the generated code, e.g. ``File "decision", line 3``; None if none.
    At most :data:`~creator.sandbox.runner.TRACEBACK_CAP` characters."""
    exit_code: int | None = 0
    timed_out: bool = False
    memory_exceeded: bool = False
    output_truncated: bool = False
    duration_s: float = 0.0
    isolation: str = ""

    @property
    def ok(self) -> bool:
        """True when the code ran to completion without an exception or a limit hit."""
        return (
            self.exit_code == 0
            and self.traceback is None
            and not self.timed_out
            and not self.memory_exceeded
        )

    @property
    def error(self) -> str | None:
        """A text describing the failure for the model (traceback or limit; else the last 5
        lines of stderr), at most :data:`ERROR_CAP` characters; None when ok."""
        if self.ok:
            return None
        if self.timed_out:
            return "TimeoutError: execution exceeded the time limit"
        if self.memory_exceeded:
            return "MemoryError: execution exceeded the memory limit"
        if self.traceback:
            return clip(self.traceback, ERROR_CAP)
        tail = "\n".join(self.stderr.strip().splitlines()[-5:])
        return clip(tail, ERROR_CAP) or f"process exited with status {self.exit_code}"


@runtime_checkable
class Sandbox(Protocol):
    """Runs code parts. ``isolation`` names the level actually in force (e.g. ``bwrap``)."""

    @property
    def isolation(self) -> str: ...

    async def run(self, parts: Sequence[CodePart], *, limits: Limits | None = None) -> ExecResult:
        """Run the parts in order in one fresh namespace and return what happened."""
        ...

    def run_sync(self, parts: Sequence[CodePart], *, limits: Limits | None = None) -> ExecResult:
        """Blocking form of :meth:`run`, for scripts and the CLI."""
        ...

    async def aclose(self) -> None:
        """Stop the sandbox's processes; a closed sandbox refuses new jobs."""
        ...

    def close(self) -> None:
        """Blocking form of :meth:`aclose`."""
        ...
