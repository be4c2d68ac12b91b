"""Which kind of worker a job needs: light (standard library warm) or full (numpy & co. warm).

Forking and tearing down a worker with numpy, sympy, scipy and pandas loaded costs several
milliseconds of CPU per job (page tables for ~125 MB); a worker with only the standard
library warm forks several times faster. Many generated tools need nothing else.

The decision is a text scan for import statements, never a parse or run of the code on the
host. It errs towards the full worker: anything that is not clearly standard-library-only
(a non-stdlib import, ``__import__``, ``importlib``, relative imports, huge code) goes there.
A wrong guess only costs time: every worker can import every installed module.

Deliberately left out: exact import resolution (conditional, dynamic or string imports).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

from .base import CodePart

__all__ = ["needed_units", "needs_full_worker"]

_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import\b|import[ \t]+([^#\n;]+))", re.M)
_DYNAMIC = re.compile(r"__import__|importlib|import_module|exec\s*\(|eval\s*\(")
_MAX_SCAN = 200_000
_STDLIB = frozenset(sys.stdlib_module_names)


def _roots(code: str) -> set[str] | None:
    """Top-level names of modules the code imports; None when that cannot be told."""
    roots: set[str] = set()
    for match in _IMPORT.finditer(code):
        source, names = match.groups()
        modules = [source] if source is not None else [n for n in names.split(",") if n.strip()]
        for module in modules:
            name = module.strip().split(" as ")[0].strip().rstrip("\\(")
            if not name or name.startswith("."):
                return None
            roots.add(name.split(".")[0])
    return roots


def needs_full_worker(parts: Sequence[CodePart]) -> bool:
    """True unless every part clearly imports only standard-library modules."""
    for part in parts:
        if len(part.code) > _MAX_SCAN or _DYNAMIC.search(part.code):
            return True
        roots = _roots(part.code)
        if roots is None or not roots <= _STDLIB:
            return True
    return False


_FROM = re.compile(r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+\(?([^#\n;]+)", re.M)


def needed_units(parts: Sequence[CodePart], units: Sequence[str]) -> list[str]:
    """Which of the warm-up ``units`` (``numpy``, ``scipy.optimize``, ...) the parts import,
    directly or through a submodule (``from scipy.optimize import brentq`` needs
    ``scipy.optimize``; ``from scipy import stats`` needs ``scipy`` and ``scipy.stats``).
    A guess from the text, like :func:`needs_full_worker`: imports it cannot see (dynamic,
    conditional ones alike) are not waited for, and the job imports them itself."""
    if not units:
        return []
    names: set[str] = set()
    for part in parts:
        code = part.code[:_MAX_SCAN]
        for match in _IMPORT.finditer(code):
            source, listed = match.groups()
            if source is None:
                names.update(n.strip().split(" as ")[0].strip() for n in listed.split(","))
            else:
                names.add(source)
        for match in _FROM.finditer(code):
            source, listed = match.groups()
            for name in listed.strip().rstrip(")\\").split(","):
                names.add(f"{source}.{name.strip().split(' as ')[0].strip()}")
    return [u for u in units if any(n == u or n.startswith(u + ".") for n in names)]
