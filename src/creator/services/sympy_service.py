"""The offline computation service: Wolfram-style queries answered by sympy in the sandbox.

The query is model-written text, so this process never parses or evaluates it: it sends the
calculator's source (:mod:`creator.services.cas_read`, :mod:`~creator.services.cas_math`,
:mod:`~creator.services.cas_solve` and :mod:`~creator.services.cas`, read once as package
data, never imported) and ``main(<query as a string literal>)`` to the sandbox as code parts
run in one namespace, and reads back the calculator's two-part output: a first line ``ok``
or ``error``, then the answer or a one-line reason. A query that is empty or longer than
:data:`~creator.services.base.QUERY_CAP` is refused without running anything.

Deliberately left out: what the calculator understands (see :mod:`creator.services.cas`),
retries (a query that fails fails the same way again) and any handling of a sandbox that
cannot run jobs at all: its error propagates, as it does for every other method.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from importlib import resources

from creator.sandbox.base import CodePart, ExecResult, Limits, Sandbox
from creator.services.base import QUERY_CAP, ServiceReply, clip_reply

__all__ = ["SympyService"]

_PARTS = ("cas_read", "cas_math", "cas_solve", "cas")
"""The calculator's modules, in the order they run in one namespace: the parser, operators
and functions, the ``solve`` and ``maximize`` verbs, then the other verbs, the printing of
answers and ``main``. Each uses the others' names as globals."""
_ERROR_CAP = 300
"""Most characters of an error reply (they are one line)."""
_OUTPUT_BYTES = 64_000
"""Most bytes of the calculator's output read back (the reply is clipped far shorter)."""


@functools.cache
def _sources() -> tuple[CodePart, ...]:
    package = resources.files(__package__ or "creator.services")
    return tuple(
        CodePart(name=name, code=package.joinpath(f"{name}.py").read_text(encoding="utf-8"))
        for name in _PARTS
    )


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _ERROR_CAP else line[: _ERROR_CAP - 3] + "..."


@dataclass(frozen=True, kw_only=True)
class SympyService:
    """The ``sympy`` service: each query runs as one sandbox job of at most ``timeout_s``
    seconds (or the given limits' timeout, when shorter)."""

    timeout_s: float = 10.0

    @property
    def name(self) -> str:
        return "sympy"

    async def ask(self, query: str, *, sandbox: Sandbox, limits: Limits) -> ServiceReply:
        """Answer ``query`` in ``sandbox``; a query without an answer gets ``error``."""
        started = time.perf_counter()
        text = query.strip()
        if not text:
            return self._reply(query, started, error="the query is empty")
        if len(text) > QUERY_CAP:
            return self._reply(
                query,
                started,
                error=f"the query is too long ({len(text):,} characters; at most {QUERY_CAP:,})",
            )
        timeout = min(limits.timeout_s, self.timeout_s)
        job_limits = limits.model_copy(
            update={
                "timeout_s": timeout,
                "max_output_bytes": min(limits.max_output_bytes, _OUTPUT_BYTES),
            }
        )
        parts = [*_sources(), CodePart(name="query", code=f"main({text!r})")]
        result = await sandbox.run(parts, limits=job_limits)
        return self._read(query, started, result, timeout)

    def _read(self, query: str, started: float, result: ExecResult, timeout: float) -> ServiceReply:
        if result.timed_out:
            return self._reply(
                query, started, error=f"the computation took longer than {timeout:g} s"
            )
        if result.memory_exceeded:
            return self._reply(query, started, error="the computation used too much memory")
        status, _, rest = result.stdout.partition("\n")
        if result.ok and status == "ok" and rest.strip():
            return self._reply(query, started, text=clip_reply(rest))
        if result.ok and status == "error" and rest.strip():
            return self._reply(query, started, error=_one_line(rest))
        lines = (result.error or result.stderr or "no output").strip().splitlines()
        return self._reply(
            query, started, error=_one_line(f"the computation failed: {lines[-1] if lines else ''}")
        )

    def _reply(
        self, query: str, started: float, *, text: str | None = None, error: str | None = None
    ) -> ServiceReply:
        return ServiceReply(
            service=self.name,
            query=query,
            text=text,
            error=error,
            duration_s=time.perf_counter() - started,
        )
