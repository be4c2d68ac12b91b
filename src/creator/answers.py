"""Reading an answer out of program output, and deciding whether two answers agree.

Extraction ("strict", the default): the text after the last ``Final Answer:`` marker; failing
that, the last number printed. The lenient ``paper`` rule (any printed number may match) is
:func:`any_number_matches`. Equivalence here is numeric (tolerance, fractions, thousands
separators, case-insensitive strings); LaTeX-aware equivalence for MATH belongs to the
evaluation harness. Nothing in this module evaluates model output as code.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

__all__ = [
    "ABS_TOLERANCE",
    "any_number_matches",
    "extract_answer",
    "is_numeric_equivalent",
    "numbers_in",
    "parse_number",
]

ABS_TOLERANCE = 1e-2
"""The paper's absolute tolerance for numeric answers."""
REL_TOLERANCE = 1e-6

_MARKER = re.compile(r"final\s+answer\s*[:\uff1a]", re.IGNORECASE)  # ASCII or full-width colon
_NUM_TOKEN = re.compile(
    r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])"
    r"|(?<![\w.])[-+]?\.\d+(?![\w])"
)


def extract_answer(stdout: str) -> str | None:
    """The answer printed by a program: after the last ``Final Answer:``, else the last number."""
    markers = list(_MARKER.finditer(stdout))
    if markers:
        rest = stdout[markers[-1].end() :].strip()
        line = rest.splitlines()[0].strip() if rest else ""
        return line or None
    numbers = numbers_in(stdout)
    return numbers[-1] if numbers else None


def numbers_in(text: str) -> list[str]:
    """Every number written in ``text``, in order, as written (``1,000``, ``-2.5``, ``3e8``)."""
    return [m.group(0) for m in _NUM_TOKEN.finditer(text)]


def parse_number(text: str) -> float | None:
    """A number from an answer string: ``$1,234.50``, ``3/4``, ``45%``, ``-inf``; else None."""
    cleaned = text.strip().strip(".").replace("$", "").replace("\\$", "").strip()
    cleaned = cleaned.removesuffix("%").removesuffix("\\%").strip()
    cleaned = re.sub(r"(?<=\d),(?=\d{3}\b)", "", cleaned)
    if not cleaned:
        return None
    if "/" in cleaned:
        num, _, den = cleaned.partition("/")
        try:
            return float(Fraction(num.strip()) / Fraction(den.strip()))
        except (ValueError, ZeroDivisionError):
            return None
    try:
        return float(cleaned)
    except ValueError:
        return None


def is_numeric_equivalent(prediction: str, target: str) -> bool:
    """Numeric agreement within 1e-2 absolute (or 1e-6 relative for large values).

    Non-numeric answers compare as case-insensitive, whitespace-normalised strings.
    """
    pred, want = parse_number(prediction), parse_number(target)
    if pred is None or want is None:
        norm = " ".join(prediction.lower().split()).strip(" .")
        return bool(norm) and norm == " ".join(target.lower().split()).strip(" .")
    if math.isinf(pred) or math.isinf(want):
        return pred == want
    if math.isnan(pred) or math.isnan(want):
        return False
    return math.isclose(pred, want, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)


def any_number_matches(stdout: str, target: str) -> bool:
    """The original implementation's lenient rule: solved if ANY printed number matches."""
    return any(is_numeric_equivalent(n, target) for n in numbers_in(stdout))
