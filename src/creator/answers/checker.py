"""A small pool of math-verify helper processes, with a timeout that works from any thread.

math-verify's own timeout uses ``SIGALRM``, which only works in the main thread, and a sympy
simplification can run for minutes. Here every check runs in a persistent helper process (see
:mod:`creator.answers._worker`); the calling thread waits on the reply with a deadline, and on
a timeout (or a crash) the helper is killed, the check counts as not equivalent, and a fresh
helper is started for the next check. Calls are safe from many threads at once: each takes an
idle helper or waits for one. Definite results are remembered (LRU), timeouts never are.
Several checks can share one round trip (:meth:`MathChecker.batch`), as a matrix's entries do.

Left out: anything about *what* to compare (normalisation lives in :mod:`creator.answers.latex`).
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CheckerStats", "CheckerUnavailable", "MathChecker", "default_checker"]

DEFAULT_TIMEOUT = 5.0
"""Seconds one math-verify check may take before it counts as not equivalent."""
STARTUP_TIMEOUT = 60.0
_WORKER = Path(__file__).with_name("_worker.py")
_CACHE_SIZE = 8192


class CheckerUnavailable(RuntimeError):
    """The helper process could not be started (math-verify missing or broken)."""


class _Timeout(Exception):
    pass


class _Died(Exception):
    pass


@dataclass(frozen=True)
class CheckerStats:
    """Counters since the checker was made: checks sent to a helper, and how some ended."""

    checks: int = 0
    cached: int = 0
    timeouts: int = 0
    crashes: int = 0
    started: int = 0


class _Helper:
    """One helper process and the pipe protocol to it. Used by one thread at a time."""

    def __init__(self, startup_timeout: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-P", str(_WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._stdin = self.proc.stdin
        self._fd = self.proc.stdout.fileno()
        os.set_blocking(self._fd, False)
        self._buffer = b""
        try:
            hello = self._read(startup_timeout)
        except (_Timeout, _Died) as exc:
            self.kill()
            raise CheckerUnavailable(f"the math-verify helper did not start ({exc!r})") from exc
        if not hello.get("ready"):
            self.kill()
            raise CheckerUnavailable(f"the math-verify helper failed: {hello.get('error')}")

    def ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        try:
            self._stdin.write(json.dumps(request).encode() + b"\n")
            self._stdin.flush()
        except OSError as exc:
            raise _Died(str(exc)) from exc
        return self._read(timeout)

    def _read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self._fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise _Timeout(f"no reply within {timeout:g} s")
                try:
                    chunk = os.read(self._fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    raise _Died(f"helper exited with {self.proc.poll()}")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            reply = json.loads(line)
        except ValueError as exc:
            raise _Died(f"garbled reply {line[:80]!r}") from exc
        if not isinstance(reply, dict):
            raise _Died(f"garbled reply {line[:80]!r}")
        return reply

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


class MathChecker:
    """Runs math-verify checks in up to ``workers`` helper processes, ``timeout`` s each."""

    def __init__(
        self,
        *,
        workers: int = 2,
        timeout: float = DEFAULT_TIMEOUT,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        if workers < 1 or timeout <= 0:
            raise ValueError("workers must be >= 1 and timeout > 0")
        self.workers = workers
        self.timeout = timeout
        self.startup_timeout = startup_timeout
        self._cond = threading.Condition()
        self._idle: list[_Helper] = []
        self._all: set[_Helper] = set()
        self._live = 0
        self._closed = False
        self._counts = {"checks": 0, "cached": 0, "timeouts": 0, "crashes": 0, "started": 0}
        self._cache: OrderedDict[tuple[str, ...], Any] = OrderedDict()
        atexit.register(self.close)  # (so a checker lives until exit: make few of them)
        os.register_at_fork(after_in_child=self._after_fork)

    def verify(self, gold: str, pred: str, *, timeout: float | None = None) -> bool:
        """math-verify on two LaTeX strings (each wrapped in ``$...$``); False on timeout."""
        result = self._call({"op": "verify", "gold": gold, "pred": pred}, timeout)
        return bool(result)

    def value(self, latex: str, *, timeout: float | None = None) -> float | None:
        """The real value of a constant LaTeX expression (``2\\sqrt{3}``), else None."""
        result = self._call({"op": "value", "expr": latex}, timeout)
        return float(result) if isinstance(result, int | float) else None

    def batch(
        self, requests: Sequence[dict[str, str]], *, timeout: float | None = None
    ) -> list[Any]:
        """Several ``verify``/``value`` requests in one helper round trip, ``timeout`` s in all.

        Each request is ``{"op": "verify", "gold": ..., "pred": ...}`` or ``{"op": "value",
        "expr": ...}``; the results come back in order, raw (a bool for ``verify``, a float or
        None for ``value``), None for a request that failed. On a timeout every request not
        already cached gets None. Cached requests are not sent again.
        """
        keys = [_key(request) for request in requests]
        results: list[Any] = [None] * len(requests)
        wanted: dict[tuple[str, ...], list[int]] = {}
        with self._cond:
            for i, key in enumerate(keys):
                if key in self._cache:
                    self._cache.move_to_end(key)
                    self._counts["cached"] += 1
                    results[i] = self._cache[key]
                else:
                    wanted.setdefault(key, []).append(i)
        if not wanted:
            return results
        sent = [requests[places[0]] for places in wanted.values()]
        definite, reply = self._send({"op": "batch", "requests": sent}, timeout)
        if not (isinstance(reply, list) and len(reply) == len(sent)):
            return results
        for (key, places), result in zip(wanted.items(), reply, strict=True):
            for i in places:
                results[i] = result
            if definite:
                self._remember(key, result)
        return results

    def stats(self) -> CheckerStats:
        """A snapshot of the counters."""
        with self._cond:
            return CheckerStats(**self._counts)

    def close(self) -> None:
        """Stop the helpers: idle ones now, busy ones when their check returns."""
        with self._cond:
            self._closed = True
            helpers, self._idle = self._idle, []
            self._all.difference_update(helpers)
            self._live -= len(helpers)
            self._cond.notify_all()
        for helper in helpers:
            helper.kill()

    def _call(self, request: dict[str, str], timeout: float | None) -> Any:
        key = _key(request)
        with self._cond:
            if key in self._cache:
                self._cache.move_to_end(key)
                self._counts["cached"] += 1
                return self._cache[key]
        definite, result = self._send(request, timeout)
        if definite:
            self._remember(key, result)
        return result

    def _send(self, request: dict[str, Any], timeout: float | None) -> tuple[bool, Any]:
        """One round trip: (whether the helper answered, its result or None)."""
        helper = self._acquire()
        outcome = "ok"
        try:
            reply = helper.ask(request, self.timeout if timeout is None else timeout)
        except _Timeout:
            outcome, reply = "timeouts", {"ok": False}
        except _Died:
            outcome, reply = "crashes", {"ok": False}
        finally:
            self._release(helper, outcome)
        return outcome == "ok", reply.get("result") if reply.get("ok") else None

    def _remember(self, key: tuple[str, ...], result: Any) -> None:
        with self._cond:
            self._cache[key] = result
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)

    def _acquire(self) -> _Helper:
        with self._cond:
            while True:
                if self._closed:
                    raise CheckerUnavailable("the math checker is closed")
                if self._idle:
                    return self._idle.pop()
                if self._live < self.workers:
                    self._live += 1
                    break
                self._cond.wait()
        try:
            helper = _Helper(self.startup_timeout)
        except BaseException:
            with self._cond:
                self._live -= 1
                self._cond.notify()
            raise
        with self._cond:
            self._all.add(helper)
            self._counts["started"] += 1
        return helper

    def _release(self, helper: _Helper, outcome: str) -> None:
        with self._cond:
            self._counts["checks"] += 1
            keep = outcome == "ok" and not self._closed
            if outcome != "ok":
                self._counts[outcome] += 1
            if keep:
                self._idle.append(helper)
            else:
                self._all.discard(helper)
                self._live -= 1
            self._cond.notify()
        if not keep:
            helper.kill()

    def _after_fork(self) -> None:
        """In a forked child: fresh lock, and the parent's helpers forgotten (not killed)."""
        self._cond = threading.Condition()
        self._idle, self._all, self._live = [], set(), 0


def _key(request: dict[str, str]) -> tuple[str, ...]:
    return tuple(str(v) for v in request.values())


_default: MathChecker | None = None
_default_lock = threading.Lock()


def default_checker() -> MathChecker:
    """The process-wide checker used by :func:`creator.answers.is_equivalent` (made lazily)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = MathChecker()
        return _default
