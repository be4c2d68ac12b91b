"""Dataset cell values as a Problem holds them: answers as text, levels as integers.

Shared by the built-in loaders and the loader of a user's files. Left out: which column holds
what (the loaders decide) and checking answers (:mod:`creator.answers`).
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["answer_text", "level_of"]


def answer_text(value: Any) -> str:
    """A recorded answer as text: a whole float without its ``.0`` (``18.0`` is ``18``),
    infinities as ``inf`` / ``-inf``, anything else as ``str`` makes it."""
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
    return str(value)


def level_of(value: Any) -> int | None:
    """The first whole number in ``value`` (``"Level 3"`` is 3, grade ``5`` is 5), else None."""
    match = re.search(r"\d+", str(value))
    return int(match.group(0)) if match else None
