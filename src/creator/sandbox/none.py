"""The ``none`` level: one plain ``python`` subprocess per job, with only the timeout.

Used only when asked for by name (``--sandbox none``). It is the original approach - a
fresh interpreter per execution - plus the same runner as the other levels, so tracebacks are
trimmed the same way and output is capped. The subprocess inherits the environment and can
reach the network and every file the user can: nothing is isolated.

Even here, model code never runs inside the host process (project policy): an in-process
``exec`` would let a job hang, crash or rewrite the host, and no timeout could stop a long C
call. Deliberately left out: rlimits, seccomp, environment scrubbing (that is ``rlimits``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

from . import launch
from .base import CodePart, ExecResult, Limits
from .collect import collect

__all__ = ["SubprocessSandbox"]

_BOOTSTRAP = (
    "import sys, types, json, os; m = types.ModuleType('_creator_sandbox'); "
    "m.__path__ = [sys.argv[1]]; sys.modules[m.__name__] = m; "
    "from _creator_sandbox import runner; job = json.loads(sys.stdin.buffer.read()); "
    "null = os.open(os.devnull, os.O_RDONLY); os.dup2(null, 0); "
    "sys.exit(runner.run_parts([(p['name'], p['code']) for p in job['parts']], "
    "result_fd=int(sys.argv[2])))"
)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


class SubprocessSandbox:
    """A fresh interpreter per job; implements ``Sandbox`` with isolation ``none``."""

    def __init__(self, *, limits: Limits | None = None) -> None:
        self._limits = limits or Limits()

    @property
    def isolation(self) -> str:
        return "none"

    def run_sync(self, parts: Sequence[CodePart], *, limits: Limits | None = None) -> ExecResult:
        limits = limits or self._limits
        job = json.dumps({"parts": [p.model_dump() for p in parts]}).encode()
        workdir = tempfile.mkdtemp(prefix="creator-none-")
        pipes = [os.pipe() for _ in range(3)]
        argv = [sys.executable, "-I", "-B", "-c", _BOOTSTRAP, launch.PACKAGE_DIR, str(pipes[2][1])]
        started = time.monotonic()
        try:
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.PIPE,
                    stdout=pipes[0][1],
                    stderr=pipes[1][1],
                    pass_fds=(pipes[2][1],),
                    cwd=workdir,
                    start_new_session=True,
                )
            except BaseException:
                for read_end, _ in pipes:
                    os.close(read_end)
                raise
            finally:
                for _, write_end in pipes:
                    os.close(write_end)
            assert proc.stdin is not None
            try:
                proc.stdin.write(job)
                proc.stdin.close()
            except OSError:
                pass
            reply = collect(
                proc.pid, [r for r, _ in pipes], limits.model_dump(), started, kill=_kill_group
            )
            _kill_group(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired, ChildProcessError):
                proc.wait(timeout=5)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return ExecResult(**reply, isolation="none")

    async def run(self, parts: Sequence[CodePart], *, limits: Limits | None = None) -> ExecResult:
        call = functools.partial(self.run_sync, list(parts), limits=limits)
        return await asyncio.get_running_loop().run_in_executor(None, call)

    def start(self) -> None:
        """Nothing to start: every job gets a fresh process."""

    def close(self) -> None:
        """Nothing to release: there are no long-lived processes."""

    async def aclose(self) -> None:
        self.close()

    def __enter__(self) -> SubprocessSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> SubprocessSandbox:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
