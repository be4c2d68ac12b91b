r"""The ``"text"`` answer kind: normalised exact match, for answers that are words, not numbers.

Both sides are normalised the same way, then compared as strings: Unicode compatibility forms
folded (NFKC: full-width letters, ligatures), LaTeX wrappers that only dress text unwrapped
(``\text{Paris}``, ``\textbf{}``, ``\mathrm{}``, ``\boxed{}``), ``$`` signs and ``\(``/``\)``
math delimiters dropped, case folded, runs of whitespace made one space, and quotes, brackets,
punctuation and Markdown emphasis stripped from both ends (``"Paris."``, ``**Paris**`` and
``(B)`` are ``paris``, ``paris`` and ``b``). Punctuation inside the answer
stays: ``New York`` is not ``NewYork``, ``3.5`` is not ``35``.

Left out on purpose: numbers compared by value (``42`` is not ``42.0``: use the ``numeric``
kind), synonyms, articles (``the Nile`` is not ``Nile``), spelling, and any partial credit.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["is_text_equivalent", "normalise_text"]

_WRAPPER = re.compile(r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|boxed|mbox)\s*\{([^{}]*)\}")
_EDGES = " \t\n.,;:!?\"'`()[]{}<>«»“”‘’*_"  # noqa: RUF001 (the typographic quotes are meant)
_MATH_DELIMITERS = re.compile(r"\\[()\[\]]")
r"""LaTeX's inline and display math delimiters, ``\(`` ``\)`` ``\[`` ``\]``, dropped like ``$``."""


def normalise_text(answer: str) -> str:
    """``answer`` in the form the ``"text"`` kind compares (see the module docstring)."""
    text = unicodedata.normalize("NFKC", answer)
    previous = None
    while previous != text:  # nested wrappers, innermost first: \boxed{\text{B}}
        previous, text = text, _WRAPPER.sub(r"\1", text)
    text = _MATH_DELIMITERS.sub("", text).replace("$", "").casefold()
    text = " ".join(text.split())
    return text.strip(_EDGES)


def is_text_equivalent(prediction: str, target: str) -> bool:
    """Whether ``prediction`` and ``target`` are the same text once normalised; an answer that
    normalises to nothing matches nothing."""
    expected = normalise_text(target)
    return bool(expected) and normalise_text(prediction) == expected
