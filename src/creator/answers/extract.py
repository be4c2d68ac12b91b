"""Reading an answer out of what a program printed.

"Strict" extraction (the default): the text after the last ``Final Answer:`` marker, to the end
of its line - or further while brackets or ``\\begin``/``\\end`` are left open, for what numpy
prints over several lines; failing that, the last number printed. :func:`numbers_in` lists
every printed number, for the paper's lenient rule. Left out: deciding whether an answer is
right, and model prose (:mod:`creator.answers.prose` reads that without the last-number
fallback: in prose, numbers are mostly steps of the reasoning).
"""

from __future__ import annotations

import re

__all__ = ["extract_answer", "numbers_in"]

_MAX_LINES = 50
_MARKER = re.compile(r"final\s+answer\s*[:\uff1a]", re.IGNORECASE)  # ASCII or full-width colon
_NUM_TOKEN = re.compile(
    # The number is matched atomically, so "4.57m" gives 4.57 (not 4) and "-0.2i" gives -0.2:
    # a unit or an imaginary suffix glued to a number never cuts the number short.
    r"(?<![\w.])(?>[-+]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?)"
    r"|(?<![\w.])(?>[-+]?\.\d+(?:[eE][-+]?\d+)?)"
)


def extract_answer(stdout: str) -> str | None:
    """The answer printed by a program: after the last ``Final Answer:``, else the last number.

    None when nothing follows the last marker, or when there is no marker and no number.
    """
    markers = list(_MARKER.finditer(stdout))
    if markers:
        rest = stdout[markers[-1].end() :].strip()
        lines = rest.splitlines() if rest else [""]
        return _until_closed(lines).strip() or None
    numbers = numbers_in(stdout)
    return numbers[-1] if numbers else None


def _until_closed(lines: list[str]) -> str:
    """The first line, with the next ones while it opens more than it closes.

    ``[[1 2]`` continues to ``[3 4]]`` (numpy's 2-D arrays); a line that never closes within
    :data:`_MAX_LINES` lines stands alone.
    """
    depth = 0
    for end, line in enumerate(lines[:_MAX_LINES], start=1):
        depth += _opened(line)
        if depth <= 0:
            return "\n".join(lines[:end])
    return lines[0]


def _opened(line: str) -> int:
    opened = sum(map(line.count, "([{")) + line.count("\\begin")
    return opened - sum(map(line.count, ")]}")) - line.count("\\end")


def numbers_in(text: str) -> list[str]:
    """Every number written in ``text``, in order, as written (``1,000``, ``-2.5``, ``3e8``)."""
    return [m.group(0) for m in _NUM_TOKEN.finditer(text)]
