"""Numbers in answer strings, and the numeric equivalence used for TabMWP, Creation Challenge
and Tool Transfer.

Parsing is by regular expressions and :class:`fractions.Fraction`, never ``eval``. Left out:
LaTeX beyond ``\\frac{a}{b}`` and ``\\$`` (see :mod:`creator.answers.latex`).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

__all__ = [
    "ABS_TOLERANCE",
    "REL_TOLERANCE",
    "is_numeric_equivalent",
    "normalise_text",
    "parse_fraction",
    "parse_number",
]

ABS_TOLERANCE = 1e-2
"""The paper's absolute tolerance for numeric answers."""
REL_TOLERANCE = 1e-6
"""Relative tolerance, which takes over from the absolute one for magnitudes above 10,000."""

_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")
_ASSIGNMENT = re.compile(r"^[A-Za-z](?:_\{?\w+\}?)?\s*=\s*(?=[^=]*$)")
_UNIT_TAIL = re.compile(r"(?<=[\d.%])\s*(?:[A-Za-z°²³µ'/.]|\s|\^\d)*$")
_MIXED = re.compile(r"^([-+]?)(\d+)\s+(\d+)\s*/\s*(\d+)$")
_LATEX_FRAC = re.compile(r"^([-+]?)\\[dt]?frac\s*\{([^{}]+)\}\s*\{([^{}]+)\}$")
_SIMPLE = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_SPECIAL = {
    "inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
    "infinity": math.inf,
    "-infinity": -math.inf,
}


def _strip(text: str) -> str:
    """Quotes, currency, trailing periods, ``x =``, a percent sign and a trailing unit removed."""
    cleaned = text.strip().rstrip(".").strip().strip("`\"'").strip()
    cleaned = cleaned.replace("\\$", "").replace("$", "").replace("\\!", "").strip()
    cleaned = _ASSIGNMENT.sub("", cleaned).rstrip(".").strip()
    if re.search(r"\d", cleaned):  # "12 apples", "5 cm^2", "45%", "3.50 per hour"
        cleaned = _UNIT_TAIL.sub("", cleaned).rstrip(".").strip()
    cleaned = cleaned.removesuffix("\\%").removesuffix("%").strip()
    if _THOUSANDS.match(cleaned):
        cleaned = cleaned.replace(",", "")
    return cleaned


def parse_fraction(text: str, *, lenient: bool = True) -> Fraction | None:
    """An exact number from a plain answer: ``-12``, ``2.50``, ``1e-3``, ``3/4``, ``1 3/4``,
    ``\\frac{3}{4}``, ``1,000``, ``$5``, ``45%`` (45), ``12 cm`` (12); else None.

    With ``lenient=False`` (for text already normalised as LaTeX) only the number itself is
    read: no currency, percent, unit, assignment or mixed number (``2x`` is not 2).
    """
    cleaned = _strip(text) if lenient else text.strip()
    if _SIMPLE.match(cleaned):
        try:
            return Fraction(cleaned)
        except ValueError:  # more digits than Python converts exactly (4,300): see parse_number
            return None
    mixed = _MIXED.match(cleaned) if lenient else None
    if mixed:
        sign, whole, num, den = mixed.groups()
        if int(den) == 0:
            return None
        value = int(whole) + Fraction(int(num), int(den))
        return -value if sign == "-" else value
    latex = _LATEX_FRAC.match(cleaned)
    if latex:
        sign, num_text, den_text = latex.groups()
        ratio = _ratio(num_text, den_text)
        return -ratio if ratio is not None and sign == "-" else ratio
    if cleaned.count("/") == 1:
        num_text, _, den_text = cleaned.partition("/")
        return _ratio(num_text, den_text)
    return None


def _ratio(num_text: str, den_text: str) -> Fraction | None:
    num_text, den_text = num_text.strip(), den_text.strip()
    if not (_SIMPLE.match(num_text) and _SIMPLE.match(den_text)):
        return None
    den = Fraction(den_text)
    return None if den == 0 else Fraction(num_text) / den


def parse_number(text: str) -> float | None:
    """A number from an answer string: ``$1,234.50``, ``3/4``, ``45%``, ``-inf``; else None."""
    special = _SPECIAL.get(_strip(text).lower())
    if special is not None:
        return special
    value = parse_fraction(text)
    if value is None:
        cleaned = _strip(text)
        if _SIMPLE.match(cleaned):  # a number too long to convert exactly: its float is enough
            return float(cleaned)
        return None
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def normalise_text(text: str) -> str:
    """Case-folded, whitespace-collapsed text without quotes or a trailing period."""
    return " ".join(text.strip().strip("`\"'").casefold().split()).rstrip(" .")


def is_numeric_equivalent(prediction: str, target: str) -> bool:
    """Numeric agreement within 1e-2 absolute (or 1e-6 relative for large values).

    Numbers may be written ``1,000``, ``$5.00``, ``3/4``, ``1e3``, ``45%`` or with a trailing
    unit (``12 cm``). Answers that are not numbers compare as case-insensitive,
    whitespace-normalised strings (``Yes`` equals ``yes``); an empty answer equals nothing.
    """
    want = parse_number(target)
    pred = parse_number(prediction)
    if pred is None or want is None:
        norm = normalise_text(prediction)
        return bool(norm) and pred is None and want is None and norm == normalise_text(target)
    if math.isinf(pred) or math.isinf(want):
        if math.isinf(pred) and math.isinf(want):
            return pred == want
        exact_pred, exact_want = parse_fraction(prediction), parse_fraction(target)
        if exact_pred is None or exact_want is None:
            return False
        return abs(exact_pred - exact_want) <= max(
            Fraction(ABS_TOLERANCE), Fraction(REL_TOLERANCE) * abs(exact_want)
        )
    if math.isnan(pred) or math.isnan(want):
        return False
    return math.isclose(pred, want, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)
