"""Isolated execution of model-written code: ``make_sandbox`` and what it returns.

>>> from creator.sandbox import CodePart, make_sandbox
>>> with make_sandbox() as box:  # doctest: +SKIP
...     result = box.run_sync([CodePart(name="decision", code="print(1 + 1)")])

``make_sandbox(level)`` picks an isolation level (``bwrap`` when bubblewrap works, else the
``rlimits`` fallback with a warning; ``none`` only by name), see :mod:`.levels`. Every
:class:`ExecResult` names the level it ran under in ``isolation``.
"""

from .base import CodePart, ExecResult, Limits, Sandbox
from .levels import LEVELS, IsolationReport, isolation_report, make_sandbox
from .none import SubprocessSandbox
from .pool import WorkerPool
from .startup import start_early

__all__ = [
    "LEVELS",
    "CodePart",
    "ExecResult",
    "IsolationReport",
    "Limits",
    "Sandbox",
    "SubprocessSandbox",
    "WorkerPool",
    "isolation_report",
    "make_sandbox",
    "start_early",
]
