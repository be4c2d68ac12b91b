"""Compiled bytecode for what the sandbox imports: its read-only interpreter cannot write any.

``scripts/setup`` compiles the whole environment (``uv sync --compile-bytecode``); this is
the fallback for an environment installed otherwise: before a worker starts, the warm-up
packages it will import (and this sandbox package) get their ``.pyc`` files, once per process,
where the host may write them. Starting workers is :mod:`pool`'s; what they import, :mod:`warmup`'s.
"""

from __future__ import annotations

import compileall
import importlib.util
import os
import sys
import threading
from pathlib import Path

from .launch import PACKAGE_DIR

__all__ = ["ensure_bytecode"]

_compiled: set[str] = set()
_compile_lock = threading.Lock()


def ensure_bytecode(modules: list[str]) -> None:
    """Precompile ``.pyc`` for the warm-up packages: the sandbox cannot write them itself."""
    with _compile_lock:
        for name in [*modules, "_creator_sandbox_package"]:
            if name in _compiled:
                continue
            _compiled.add(name)
            if name == "_creator_sandbox_package":
                compileall.compile_dir(PACKAGE_DIR, quiet=2, maxlevels=0)
                continue
            else:
                try:
                    spec = importlib.util.find_spec(name)
                except (ImportError, ValueError):
                    continue
                locations = spec.submodule_search_locations if spec else None
                directory: str | None = next(iter(locations), None) if locations else None
            if directory is None or not os.access(directory, os.W_OK):
                continue
            marker = Path(directory, "__pycache__", f"__init__.{sys.implementation.cache_tag}.pyc")
            if not marker.exists():
                compileall.compile_dir(directory, quiet=2, workers=os.cpu_count() or 1)
