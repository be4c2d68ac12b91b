r"""Reading an answer out of program output or prose, and deciding whether two answers agree.

Extraction from program output ("strict", the default): the text after the last ``Final
Answer:`` marker; failing that, the last number printed (:func:`extract_answer`). From a
model's prose reply (:func:`extract_prose_answer`): the last ``Final Answer:``, else the last
``\boxed{}``, else the last "the answer is ...", each read whole - never the last number
(``The answer is $1-a$.`` is ``1-a``, not ``1``); a cut-off reply only by a complete
``Final Answer:`` line (see :mod:`creator.answers.prose`). The paper's lenient rule - solved
if ANY printed number matches - is :func:`any_number_matches`; :func:`score_output` applies
either rule to a program's output.

Equivalence (:func:`is_equivalent`) has three kinds:

- ``"numeric"`` (TabMWP, Creation Challenge, Tool Transfer): numbers within 1e-2 absolute, as in
  the paper, or 1e-6 relative for large magnitudes; ``3/4``, ``1,000``, ``$5``, ``45%``, a
  trailing unit; other answers as case-insensitive strings (see :mod:`creator.answers.numeric`);
- ``"math"`` (MATH): LaTeX-aware, with math-verify run in a helper process under our own
  timeout (see :mod:`creator.answers.latex` for the rules and :mod:`creator.answers.checker`);
  matrices and vectors are compared shape and entry by entry (:mod:`creator.answers.matrix`);
- ``"text"`` (datasets of words, ``--answer-kind text``): normalised exact match - case,
  whitespace, surrounding quotes and punctuation, ``\text{}`` ignored (see
  :mod:`creator.answers.text`). It has no lenient rule: the paper's scoring equals the strict one.

Nothing here evaluates model output as Python: numbers are parsed with regular expressions and
:class:`fractions.Fraction`, Python-printed expressions with :func:`ast.parse` (no evaluation),
matrices by bracket-aware splitting, LaTeX by math-verify's parser (not sympy's ``sympify``),
in a separate process. math-verify is imported only there, and only when a math answer first
needs it. Left out: grading prose, checking units, and any use of the question's text.
"""

from __future__ import annotations

import math
from typing import Literal

from creator.answers.checker import CheckerStats, CheckerUnavailable, MathChecker, default_checker
from creator.answers.extract import extract_answer, numbers_in
from creator.answers.latex import is_math_equivalent, math_values
from creator.answers.numeric import (
    ABS_TOLERANCE,
    REL_TOLERANCE,
    is_numeric_equivalent,
    parse_number,
)
from creator.answers.prose import ProseAnswer, ProseSource, extract_prose_answer
from creator.answers.text import is_text_equivalent, normalise_text

__all__ = [
    "ABS_TOLERANCE",
    "KINDS",
    "REL_TOLERANCE",
    "SCORINGS",
    "CheckerStats",
    "CheckerUnavailable",
    "Kind",
    "MathChecker",
    "ProseAnswer",
    "ProseSource",
    "Scoring",
    "any_number_matches",
    "checker_stats",
    "extract_answer",
    "extract_prose_answer",
    "is_equivalent",
    "is_numeric_equivalent",
    "is_text_equivalent",
    "normalise_text",
    "numbers_in",
    "parse_number",
    "score_output",
]

Kind = Literal["math", "numeric", "text"]
KINDS: tuple[Kind, ...] = ("math", "numeric", "text")
Scoring = Literal["strict", "paper"]
SCORINGS: tuple[Scoring, ...] = ("strict", "paper")


def is_equivalent(prediction: str, target: str, kind: str, *, timeout: float | None = None) -> bool:
    r"""Whether the answer ``prediction`` agrees with the reference answer ``target``.

    ``kind`` is ``"numeric"`` (numbers within the paper's tolerance, else case-insensitive
    text), ``"math"`` (LaTeX-aware: ``\frac{1}{2}`` equals ``0.5`` and ``1/2``, ``2\sqrt{3}``
    equals ``\sqrt{12}``, ``(-\infty, 3]`` is an interval, ``\text{(B)}`` equals ``B``) or
    ``"text"`` (normalised exact match: ``"Paris."`` equals ``paris``). The argument order
    matters for ``"math"``: the target is math-verify's gold answer.

    A math check blocks the calling thread for a few milliseconds typically and at most about
    ``timeout`` seconds (default 5); one that runs out counts as not equivalent (see
    :func:`checker_stats`). Safe to call from many threads at once; from async code, call it
    through :func:`asyncio.to_thread`. Raises ValueError for an unknown ``kind`` and
    :class:`CheckerUnavailable` if math-verify cannot be started.
    """
    if kind == "numeric":
        return is_numeric_equivalent(prediction, target)
    if kind == "math":
        return is_math_equivalent(prediction, target, timeout=timeout)
    if kind == "text":
        return is_text_equivalent(prediction, target)
    raise ValueError(f"unknown answer kind {kind!r} (expected one of {', '.join(KINDS)})")


def any_number_matches(stdout: str, target: str, kind: str = "numeric") -> bool:
    """The original implementation's lenient rule: solved if ANY printed number matches.

    Matching is within the paper's tolerance (1e-2 absolute, 1e-6 relative). For ``"math"``
    the target's value is computed first (``\\frac{1}{3}``, ``2\\pi``; a percentage gives
    both ``p`` and ``p/100``); a target with no single real value matches no number. A
    ``"text"`` target matches no number: that kind has no lenient rule.
    """
    if kind == "text":
        return False
    numbers = numbers_in(stdout)
    if not numbers:
        return False
    if kind == "numeric":
        return any(is_numeric_equivalent(n, target) for n in numbers)
    if kind != "math":
        raise ValueError(f"unknown answer kind {kind!r} (expected one of {', '.join(KINDS)})")
    values = math_values(target)
    printed = [v for v in map(parse_number, numbers) if v is not None and math.isfinite(v)]
    return any(
        math.isclose(p, v, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)
        for v in values
        for p in printed
    )


def score_output(stdout: str, target: str, kind: str, scoring: str = "strict") -> bool:
    """Whether a program's output solves the problem with reference answer ``target``.

    ``"strict"``: the extracted answer (:func:`extract_answer`) is equivalent to the target.
    ``"paper"``: that, or any printed number matches (:func:`any_number_matches`), which is
    how the original implementation counted; it is never stricter than ``"strict"``.
    """
    if scoring not in SCORINGS:
        raise ValueError(f"unknown scoring {scoring!r} (expected one of {', '.join(SCORINGS)})")
    answer = extract_answer(stdout)
    if answer is not None and is_equivalent(answer, target, kind):
        return True
    return scoring == "paper" and any_number_matches(stdout, target, kind)


def checker_stats() -> CheckerStats:
    """Counters of the shared math checker: checks run, cache hits, timeouts, crashes."""
    return default_checker().stats()
