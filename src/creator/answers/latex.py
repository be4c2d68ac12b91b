r"""LaTeX-aware equivalence for MATH answers: light normalisation, cheap exact paths, then
math-verify (in a helper process, see :mod:`creator.answers.checker`).

The order of a check. First, a target that is a matrix (``\begin{pmatrix}...``, sympy's
``\left[\begin{matrix}...\end{matrix}\right]``, ``Matrix([[1, 2]])``; see
:mod:`creator.answers.matrix` for what is read) is compared as a matrix:

- the prediction must be a matrix of the same shape (rows x columns), entry by entry in order,
  each pair of entries compared as two scalar answers by the steps below (so ``\frac{-1}{3}``
  equals ``-1/3`` and ``0.70710678`` equals ``1/\sqrt{2}``); all the entries that need
  math-verify go to the helper in one batch, under one timeout;
- a transposed or reshaped matrix is a different matrix; a row ``\begin{pmatrix}1 & 2
  \end{pmatrix}`` is not the column ``\begin{pmatrix}1 \\ 2\end{pmatrix}``, and a 1x1 matrix
  is not a number;
- a flat, unshaped list equals a matrix of one column or one row with the same entries in the
  same order: ``[2, -1, 5]``, ``(2, -1, 5)``, ``\langle 2, -1, 5\rangle``, numpy's
  ``array([2, -1, 5])`` and ``[ 2 -1  5]`` all equal the column ``\begin{pmatrix}2 \\ -1 \\
  5\end{pmatrix}``; ``[5, -1, 2]`` and ``[2, -1]`` do not;
- ``\begin{vmatrix}...`` is a determinant, not a matrix: never equal to a matrix target; and
  a matrix prediction is never equal to a target that is not a matrix.

Otherwise both sides are normalised (:func:`normalise`), then:

1. equal strings (whitespace ignored) are equivalent;
2. two plain numbers (``-3``, ``0.25``, ``\frac{3}{4}``, ``3/4``) are compared here, exactly up
   to 1e-6 absolute / 1e-9 relative (six decimals, as math-verify's own rounding);
3. a target in words (``\text{odd}``, ``Monday``, ``A, D``) is compared as case-insensitive
   text, order-free for comma lists; words never equal a formula;
4. a plain number against a constant expression (``2\pi``, ``2^{64}``) is compared by value
   (math-verify's parser computes the target's value), with the same tolerance as in 2;
5. anything else goes to math-verify, both sides wrapped in ``$...$``, the target as gold.

Rules for the cases where math-verify is lenient or a choice had to be made:

- a percentage ``25\%`` matches 25 and 0.25 (the original CREATOR grader read it as 0.25;
  programs print 25); a bare ``25`` target does not match 0.25;
- ``x = 3`` matches ``3``: a leading assignment to one variable is dropped on both sides
  (``y = 2x + 1`` matches ``2x + 1``); equations with more on the left stay equations;
- a decimal must agree with an exact target to six decimals: ``0.3333`` is not ``\frac13``,
  ``0.333333`` and ``0.3333333333333333`` are; ``6.283185`` is ``2\pi``, ``6.28`` is not;
- units in ``\text{...}``/``\mbox{...}`` after a value, degrees, dollar signs, ``\!``/``\,``
  spacing, ``\left``/``\right``, ``\dfrac``/``\tfrac``, ``\boxed{}`` and a trailing period are
  dropped; so ``5\text{ cm}`` equals 5 (and so would ``5\text{ m}``: units are not checked);
- ``(B)``, ``\text{(B)}`` and ``B`` are the same choice; ``1,000`` is 1000 but ``(1, 2)`` is a
  pair (and ``(1, 2)`` differs from ``(2, 1)``); ``1, 2`` is a set of solutions (order-free);
- Python-printed values (``2*sqrt(3)``, ``pi/2``, ``Rational(1, 3)``, ``[1, 2]`` from
  ``solve``) are rewritten as LaTeX first (see :mod:`creator.answers.pyexpr`);
- ``- 2`` is ``-2``, and a row end ``\\ `` is not the spacing command ``\ ``;
- predictions longer than 1,000 characters are not equivalent to anything.

Left out: grading free-form prose; checking units; anything needing the question's context.
"""

from __future__ import annotations

import math
import re
import time
from fractions import Fraction
from typing import NamedTuple

from creator.answers.checker import MathChecker, default_checker
from creator.answers.matrix import Grid, read_matrix, read_vector
from creator.answers.numeric import parse_fraction
from creator.answers.pyexpr import python_to_latex

__all__ = ["Normalised", "is_math_equivalent", "math_values", "normalise"]

MAX_CHARS = 1000
_EXACT_ABS = Fraction(1, 10**6)
_EXACT_REL = Fraction(1, 10**9)

_TEXT_COMMANDS = r"\\(?:text|textrm|textbf|textit|mbox|mathrm|mathbf|textnormal|hbox)\s*"
_UNIT_AT_END = re.compile(
    rf"(?<=\S)\s*{_TEXT_COMMANDS}\{{\s*[A-Za-z][A-Za-z .]*\}}\s*(?:\^\s*\{{?\s*\d\s*\}}?)?\s*$"
)
_TEXT_JOINER = re.compile(rf"\s*{_TEXT_COMMANDS}\{{\s*(?:and|or|,)\s*\}}\s*")
_TEXT_GROUP = re.compile(rf"{_TEXT_COMMANDS}\{{([^{{}}]*)\}}")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ|°|\\degree")
_SPACING = re.compile(r"(?<!\\)\\[,;:> ]|\\q?quad|~|\\displaystyle")  # not the "\\ " of a row end
_LEFT_RIGHT = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])")
_ASSIGNMENT = re.compile(r"^[A-Za-z](?:_\{?\w+\}?)?\s*(?:=|\\in)\s*(?=[^=]*$)(?!\s*$)")
_CHOICE = re.compile(r"^\(\s*([A-Za-z])\s*\)$")
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_WORDS = re.compile(r"^[A-Za-z][A-Za-z' ]*(?:\s*,\s*[A-Za-z][A-Za-z' ]*)*$")
_SIGN_SPACE = re.compile(r"^([-+])\s+(?=[\d.\\])")
_PERCENT = re.compile(r"\s*\\?%\s*$")
_SHORT_FRAC = re.compile(r"\\frac\s*(\w|\{[^{}]*\})\s*(\w|\{[^{}]*\})")
_SHORT_SQRT = re.compile(r"\\sqrt\s*(\w)")
_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))


class Normalised(NamedTuple):
    """An answer after normalisation, and whether it was written as a percentage."""

    text: str
    percent: bool


def _outer(answer: str) -> str:
    r"""The answer without a ``\boxed{}``, ``$...$`` (or ``\(...\)``) and a trailing period."""
    text = _unbox(answer.strip())
    for opening, closing in _DELIMITERS:
        long_enough = len(text) > len(opening + closing)
        if long_enough and text.startswith(opening) and text.endswith(closing):
            text = text[len(opening) : -len(closing)].strip()
            break
    return text.rstrip(".").strip()


def normalise(answer: str, *, list_is_values: bool = True) -> Normalised:
    """The answer with presentation removed (see the module docstring for what goes)."""
    text = _outer(answer)
    if (
        parse_fraction(text, lenient=False) is None
    ):  # plain numbers stay plain, for the exact comparison
        text = python_to_latex(text, list_is_values=list_is_values) or text
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    text = _SHORT_FRAC.sub(_braced_frac, text)
    text = _SHORT_SQRT.sub(r"\\sqrt{\1}", text)
    text = _SPACING.sub(" ", _LEFT_RIGHT.sub("", text.replace("\\!", "")))
    text = _DEGREES.sub("", text).replace("\\$", "").replace("$", "")
    percent = bool(_PERCENT.search(text))
    text = _PERCENT.sub("", text)
    text = _UNIT_AT_END.sub("", text)
    text = _TEXT_JOINER.sub(", ", text)
    text = _TEXT_GROUP.sub(r"\1", text)
    text = " ".join(text.split()).rstrip(".").strip()
    text = _ASSIGNMENT.sub("", text)
    text = _SIGN_SPACE.sub(r"\1", text)
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    choice = _CHOICE.match(text)
    if choice:
        text = choice.group(1)
    return Normalised(text, percent)


def _braced_frac(match: re.Match[str]) -> str:
    r"""``\frac12`` and ``\frac1{2}`` written as ``\frac{1}{2}``."""
    num, den = (group.removeprefix("{").removesuffix("}") for group in match.groups())
    return f"\\frac{{{num}}}{{{den}}}"


def _unbox(text: str) -> str:
    r"""The contents of the last ``\boxed{...}`` or ``\fbox{...}``, else ``text``."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return text
    brace = text.find("{", start)
    if brace < 0:
        return text
    depth = 0
    for i in range(brace, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[brace + 1 : i].strip()
    return text


def _close(a: Fraction, b: Fraction) -> bool:
    return abs(a - b) <= max(_EXACT_ABS, _EXACT_REL * max(abs(a), abs(b)))


def _numbers_agree(pred: Normalised, want: Normalised, p: Fraction, t: Fraction) -> bool:
    if _close(p, t):
        return True
    return (want.percent and _close(p, t / 100)) or (pred.percent and _close(p / 100, t))


def _latex_number(text: str) -> str:
    mantissa, marker, exponent = text.lower().partition("e")
    if not marker or not exponent.lstrip("+-").isdigit():
        return text
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def _words(text: str) -> list[str]:
    return sorted(" ".join(item.casefold().split()) for item in text.split(","))


def _bracketed(text: str) -> bool:
    return len(text) > 1 and text[0] in "([" and text[-1] in ")]"


def is_math_equivalent(
    prediction: str,
    target: str,
    *,
    timeout: float | None = None,
    checker: MathChecker | None = None,
) -> bool:
    """Whether ``prediction`` states the same mathematical answer as the LaTeX ``target``.

    Blocks for a few milliseconds typically (math-verify in a helper process), at most about
    ``timeout`` seconds in all (default: the checker's, 5 s) plus a helper's start-up (about
    0.5 s, once per helper); a check that runs out counts as not equivalent. Safe to call
    from any thread.
    """
    pred_outer, want_outer = _outer(prediction), _outer(target)
    if len(pred_outer) > MAX_CHARS:
        return False
    want_matrix = read_matrix(want_outer)
    if want_matrix is not None:
        pairs = _matrix_pairs(pred_outer, want_matrix)
        return pairs is not None and _entries_equivalent(pairs, timeout, checker)
    if read_matrix(pred_outer) is not None:
        return False  # a matrix is not a number, a tuple or a set
    want = normalise(target, list_is_values=False)
    pred = normalise(prediction, list_is_values=not _bracketed(want.text))
    local = _decided_here(pred, want)
    if local is not None:
        return local
    checker = checker or default_checker()
    deadline = time.monotonic() + (checker.timeout if timeout is None else timeout)

    def remaining() -> float:
        return max(deadline - time.monotonic(), 0.001)

    p = parse_fraction(pred.text, lenient=False)
    if p is not None:  # a number against a constant expression (2\pi, 2^{64}): by value
        value = checker.value(want.text, timeout=remaining())
        if value is not None and math.isfinite(value):
            return _numbers_agree(pred, want, p, Fraction(value))
        pred = pred._replace(text=_latex_number(pred.text))  # "1e-05" is not LaTeX
    if checker.verify(want.text, pred.text, timeout=remaining()):
        return True
    if want.percent and time.monotonic() < deadline:
        return checker.verify(rf"\frac{{{want.text}}}{{100}}", pred.text, timeout=remaining())
    if pred.percent and time.monotonic() < deadline:
        return checker.verify(want.text, rf"\frac{{{pred.text}}}{{100}}", timeout=remaining())
    return False


def _decided_here(pred: Normalised, want: Normalised) -> bool | None:
    """Steps 1-3 (no helper needed): the answer, or None if math-verify must decide."""
    if not pred.text or not want.text or len(pred.text) > MAX_CHARS:
        return False
    if re.sub(r"\s+", "", pred.text) == re.sub(r"\s+", "", want.text):
        return True
    p, t = parse_fraction(pred.text, lenient=False), parse_fraction(want.text, lenient=False)
    if p is not None and t is not None:
        return _numbers_agree(pred, want, p, t)
    if _WORDS.match(want.text) and (_WORDS.match(pred.text) or len(want.text) > 1):
        return bool(_WORDS.match(pred.text)) and _words(pred.text) == _words(want.text)
    return None


def _matrix_pairs(prediction: str, want: Grid) -> list[tuple[str, str]] | None:
    """(predicted, target) entries in order if the shapes agree, else None."""
    pred = read_matrix(prediction)
    if pred is not None:
        if pred.shape != want.shape:
            return None  # a transposed or reshaped matrix is a different matrix
        return list(zip(pred.entries(), want.entries(), strict=True))
    if 1 not in want.shape:
        return None
    vector = read_vector(prediction)  # a flat list is a row or a column, whichever is wanted
    if vector is None or len(vector) != len(want.entries()):
        return None
    return list(zip(vector, want.entries(), strict=True))


def _entries_equivalent(
    pairs: list[tuple[str, str]], timeout: float | None, checker: MathChecker | None
) -> bool:
    """Every predicted entry equivalent to its target entry; one helper round trip at most."""
    pending: list[tuple[Normalised, Normalised, Fraction | None]] = []
    for pred_text, want_text in pairs:
        want = normalise(want_text, list_is_values=False)
        pred = normalise(pred_text, list_is_values=False)
        local = _decided_here(pred, want)
        if local is False:
            return False
        if local is None:
            pending.append((pred, want, parse_fraction(pred.text, lenient=False)))
    if not pending:
        return True
    requests: list[dict[str, str]] = []
    for pred, want, p in pending:
        if p is not None:
            requests.append({"op": "value", "expr": want.text})
            requests.append({"op": "verify", "gold": want.text, "pred": _latex_number(pred.text)})
        else:
            requests.append({"op": "verify", "gold": want.text, "pred": pred.text})
    results = iter((checker or default_checker()).batch(requests, timeout=timeout))
    agree = True
    for pred, want, p in pending:
        if p is not None:
            value, verified = next(results), next(results)
            if isinstance(value, int | float) and math.isfinite(value):
                agree &= _numbers_agree(pred, want, p, Fraction(value))
            else:
                agree &= verified is True
        else:
            agree &= next(results) is True
    return agree


def math_values(
    answer: str, *, timeout: float | None = None, checker: MathChecker | None = None
) -> tuple[float, ...]:
    r"""The real value of a constant LaTeX answer (``2\sqrt{3}`` -> 3.4641...), or nothing.

    A percentage gives two values (``25\%`` -> 25 and 0.25). Used by the paper's lenient
    scoring, which compares every printed number with the target.
    """
    if read_matrix(_outer(answer)) is not None:
        return ()
    norm = normalise(answer, list_is_values=False)
    if not norm.text or len(norm.text) > MAX_CHARS or _WORDS.match(norm.text):
        return ()
    exact = parse_fraction(norm.text, lenient=False)
    try:
        value = float(exact) if exact is not None else None
    except OverflowError:
        return ()
    if value is None:
        value = (checker or default_checker()).value(norm.text, timeout=timeout)
    if value is None:
        return ()
    return (value, value / 100) if norm.percent else (value,)
