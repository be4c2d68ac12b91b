"""The math-verify helper process: reads JSON requests on stdin, answers JSON lines on stdout.

Run as a script by :mod:`creator.answers.checker` (``python -P <this file>``), so it imports
nothing from ``creator`` and starts as fast as math-verify allows (about 0.5 s). It has no
timeout of its own (math-verify's SIGALRM timeouts are disabled): the host kills and replaces
it when a check runs too long. It exits when stdin closes or its parent goes away.

Requests and replies, one JSON object per line::

    {"op": "verify", "gold": "<latex>", "pred": "<latex>"}  ->  {"ok": true, "result": bool}
    {"op": "value", "expr": "<latex>"}                      ->  {"ok": true, "result": float|null}
    {"op": "batch", "requests": [<verify or value>, ...]}   ->  {"ok": true, "result": [...]}

A reply ``{"ok": false, "error": "..."}`` reports a failure of the check itself; in a batch, a
failed item's result is ``null`` and the others still count. The first line
written is ``{"ready": true}`` (or ``{"ready": false, "error": ...}`` if math-verify is missing).
"""

from __future__ import annotations

import json
import logging
import os
import resource
import signal
import sys
import threading
import time
from typing import Any

MEMORY_LIMIT = 2 << 30
"""Address-space cap (bytes): a runaway sympy computation fails with MemoryError, not the host."""


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def _reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> None:
    """Serve requests until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the host handles Ctrl-C and closes our stdin
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    try:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or hard > MEMORY_LIMIT:
            resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, hard))
    except (ValueError, OSError):  # pragma: no cover - a platform without RLIMIT_AS
        pass
    try:
        import sympy  # type: ignore[import-untyped]
        from math_verify import (  # type: ignore[import-untyped]
            LatexExtractionConfig,
            parse,
            verify,
        )
    except Exception as exc:  # pragma: no cover - math-verify is a dependency
        _reply({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    for name in ("math_verify", "latex2sympy2_extended"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    # Only the LaTeX extractor: the plain-expression one feeds text to sympy's parse_expr (eval).
    config = [LatexExtractionConfig()]

    def parsed(latex: str) -> list[Any]:
        return list(parse(f"${latex}$", extraction_config=config, parsing_timeout=None))

    def value(latex: str) -> float | None:
        for item in parsed(latex):
            if isinstance(item, sympy.Basic) and getattr(item, "is_number", False):
                number = complex(sympy.N(item, 20))
                if number.imag == 0:
                    return number.real
                return None
        return None

    def handle(request: dict[str, Any]) -> Any:
        if request["op"] == "verify":
            gold, pred = parsed(request["gold"]), parsed(request["pred"])
            return bool(gold and pred and verify(gold, pred, timeout_seconds=None))
        if request["op"] == "value":
            return value(request["expr"])
        raise ValueError(f"unknown op {request['op']!r}")

    def handle_each(requests: list[dict[str, Any]]) -> list[Any]:
        results = []
        for item in requests:
            try:
                results.append(handle(item))
            except (Exception, MemoryError, RecursionError):
                results.append(None)
        return results

    _reply({"ready": True})
    for line in sys.stdin.buffer:
        try:
            request = json.loads(line)
            if request["op"] == "batch":
                result: Any = handle_each(request["requests"])
            else:
                result = handle(request)
            _reply({"ok": True, "result": result})
        except (Exception, MemoryError, RecursionError) as exc:
            _reply({"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]})


if __name__ == "__main__":
    main()
