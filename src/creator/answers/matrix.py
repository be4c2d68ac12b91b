r"""Matrices and vectors in answers, read into rows of entry strings without evaluating anything.

What is read as a matrix (:func:`read_matrix`), after a ``\boxed{}``/``$...$`` wrapper, an
assignment such as ``\mathbf{v} =`` and ``\left``/``\right`` are removed:

- a LaTeX environment ``pmatrix``, ``bmatrix``, ``Bmatrix``, ``matrix``, ``smallmatrix`` (and
  their ``*``/``psmallmatrix``/``bsmallmatrix`` variants) or ``array`` (its column
  specification ignored), alone or inside ``[...]``/``(...)`` - so sympy's
  ``\left[\begin{matrix}1 & 2\\3 & 4\end{matrix}\right]`` is read. Rows are split on ``\\``
  and entries on ``&``, outside braces only (``\frac{a}{b}`` stays whole; ``\&`` is not a
  separator); ``\hline``, a ``\\[2pt]`` spacing and a trailing ``\\`` are ignored;
- what Python prints: sympy's ``Matrix([[1, 2], [3, 4]])`` (``ImmutableMatrix`` alike; a flat
  ``Matrix([1, 2])`` is a column, as in sympy), numpy's ``array([[1, 2], [3, 4]])`` and
  ``matrix([[1, 2]])`` (a ``dtype=`` argument is ignored), a nested list ``[[1, 2], [3, 4]]``,
  and numpy's ``print`` form ``[[1 2]\n [3 4]]`` when every entry is a number.

``vmatrix``/``Vmatrix`` are determinants, not matrices, and are never read; nor is a nested
environment, a ragged body or an empty entry.

What is read as an unshaped vector (:func:`read_vector`), only ever compared with a matrix of
one row or one column: ``[2, -1, 5]``, ``(2, -1, 5)``, ``\langle 2, -1, 5 \rangle``, numpy's
``array([2, -1, 5])`` and ``[ 2 -1  5]``. Entries are split on commas outside brackets and
braces; a bare ``2, -1, 5`` is not a vector (``1,000`` would be ``1, 0``).

Entries are strings, each compared later as a scalar answer (see :mod:`creator.answers.latex`).
Left out: block matrices, ``\cdots``/``\vdots`` elisions, and numpy's summarised ``...`` output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_ENTRIES", "Grid", "read_matrix", "read_vector"]

MAX_ENTRIES = 100
"""More entries than this and a text is not read as a matrix or a vector."""

_ENVIRONMENTS = {
    "pmatrix", "bmatrix", "Bmatrix", "matrix", "smallmatrix", "psmallmatrix", "bsmallmatrix",
    "pmatrix*", "bmatrix*", "Bmatrix*", "matrix*", "array",
}  # fmt: skip
_BEGIN = re.compile(r"\\begin\s*\{\s*([A-Za-z]+\*?)\s*\}")
_END = re.compile(r"\\end\s*\{\s*([A-Za-z]+\*?)\s*\}\s*$")
_LEFT_RIGHT = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])\s*")
_LINES = re.compile(r"\\(?:hline|hdashline)(?![A-Za-z])")
_ROW_SPACING = re.compile(r"^\s*\[\s*-?[\d.]+\s*[a-z]{2}\s*\]")
_ASSIGNMENT = re.compile(r"^[^=\[\]()&]{1,40}?=(?!=)\s*")
_PY_CALL = re.compile(
    r"^(?:(?:np|numpy|sp|sympy)\.)?"
    r"(Matrix|ImmutableMatrix|MutableDenseMatrix|ImmutableDenseMatrix|array|matrix)\s*\((.*)\)$",
    re.DOTALL,
)
_DTYPE = re.compile(r",\s*dtype\s*=\s*[\w.'\"<>]+\s*$")
_NUMPY_TOKEN = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?:/\d+)?$")
_PAIRS = {"(": ")", "[": "]", "{": "}"}


@dataclass(frozen=True)
class Grid:
    """A matrix as rows of entry strings (all rows the same length)."""

    rows: tuple[tuple[str, ...], ...]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return len(self.rows), len(self.rows[0])

    def entries(self) -> list[str]:
        """The entries row by row."""
        return [entry for row in self.rows for entry in row]


def read_matrix(text: str) -> Grid | None:
    """The matrix written in ``text`` (LaTeX or Python-printed), else None."""
    text = _prepare(text)
    if not text:
        return None
    if "\\begin" in text:
        return _latex_matrix(text)
    call = _PY_CALL.match(text)
    if call:
        name, inner = call.group(1), _DTYPE.sub("", call.group(2).strip()).strip()
        items = _sequence(inner, "[")
        if items is None:
            return None
        rows = _rows(items)
        if rows is None:
            if any(_is_bracketed(item) for item in items):
                return None
            if name == "array":  # a 1-D array has no orientation: see read_vector
                return None
            rows = [[item] for item in items] if name != "matrix" else [items]
        return _grid(rows)
    printed = _numpy_printed(text, nested=True)
    if printed is not None:
        return printed
    items = _sequence(text, "[")
    rows = _rows(items) if items else None
    return _grid(rows) if rows is not None else None


def read_vector(text: str) -> tuple[str, ...] | None:
    r"""The entries of a flat list, tuple, ``\langle...\rangle`` or 1-D array, else None."""
    text = _prepare(text)
    if not text or "\\begin" in text:
        return None
    call = _PY_CALL.match(text)
    if call:
        if call.group(1) != "array":
            return None
        text = _DTYPE.sub("", call.group(2).strip()).strip()
    if text.startswith("\\langle") and text.endswith("\\rangle"):
        text = "(" + text[len("\\langle") : -len("\\rangle")] + ")"
    printed = _numpy_printed(text, nested=False)
    if printed is not None:
        return printed.rows[0]
    for opener in "([":
        items = _sequence(text, opener)
        if items is not None:
            if not items or len(items) > MAX_ENTRIES or any(map(_is_bracketed, items)):
                return None
            return tuple(items)
    return None


def _prepare(text: str) -> str:
    text = _LEFT_RIGHT.sub("", text.strip())
    assignment = _ASSIGNMENT.match(text)
    if assignment and "\\begin" not in assignment.group(0):
        text = text[assignment.end() :]
    return text.strip()


def _latex_matrix(text: str) -> Grid | None:
    while text[:1] in ("(", "[") and text[-1:] == _PAIRS[text[0]]:  # \left[ ... \right]
        text = text[1:-1].strip()
    begin, end = _BEGIN.match(text), _END.search(text)
    if not begin or not end or begin.group(1) != end.group(1):
        return None
    if begin.group(1) not in _ENVIRONMENTS:
        return None  # vmatrix (a determinant), cases, aligned, ...
    environment = begin.group(1)
    body: str | None = text[begin.end() : end.start()]
    if environment == "array":  # \begin{array}{cc}
        body = _skip_group(text[begin.end() : end.start()], "{", "}")
    elif environment.endswith("*") and text[begin.end() :].lstrip().startswith("["):
        body = _skip_group(text[begin.end() : end.start()], "[", "]")  # pmatrix*[r]
    if body is None or "\\begin" in body or "\\end" in body:
        return None
    lines = _split(_LINES.sub(" ", body), "\\\\")
    if lines is None:
        return None
    lines = [_ROW_SPACING.sub("", line) for line in lines]
    while lines and not lines[-1].strip():
        lines.pop()
    rows: list[list[str]] = []
    for line in lines:
        cells = _split(line, "&")
        if cells is None:
            return None
        rows.append([cell.strip() for cell in cells])
    return _grid(rows)


def _grid(rows: list[list[str]]) -> Grid | None:
    if not rows or not rows[0] or sum(map(len, rows)) > MAX_ENTRIES:
        return None
    if any(len(row) != len(rows[0]) for row in rows):
        return None
    if any(not entry.strip() for row in rows for entry in row):
        return None
    return Grid(tuple(tuple(entry.strip() for entry in row) for row in rows))


def _rows(items: list[str]) -> list[list[str]] | None:
    """Each item a bracketed list (``[1, 2]`` or numpy's ``[1 2]``), else None."""
    rows = []
    for item in items:
        row = _sequence(item, "[")
        if row is None:
            printed = _numpy_printed(item, nested=False)
            if printed is None:
                return None
            row = list(printed.rows[0])
        if any(_is_bracketed(entry) for entry in row):
            return None
        rows.append(row)
    return rows


def _numpy_printed(text: str, *, nested: bool) -> Grid | None:
    """numpy's ``print`` form: ``[ 2 -1  5]`` or ``[[1 2]\n [3 4]]``, numbers only."""
    if "," in text or not (text.startswith("[") and text.endswith("]")):
        return None
    inner = text[1:-1].strip()
    if not nested:
        tokens = inner.split()
        if not tokens or "[" in inner or "]" in inner:
            return None
        if not all(_NUMPY_TOKEN.match(token) for token in tokens):
            return None
        return _grid([tokens])
    rows = re.findall(r"\[([^\[\]]*)\]", inner)
    if not rows or re.sub(r"\[[^\[\]]*\]", "", inner).strip():
        return None
    grids = [_numpy_printed(f"[{row}]", nested=False) for row in rows]
    if any(grid is None for grid in grids):
        return None
    return _grid([list(grid.rows[0]) for grid in grids if grid is not None])


def _is_bracketed(text: str) -> bool:
    return text[:1] in _PAIRS and text[-1:] == _PAIRS[text[0]]


def _sequence(text: str, opener: str) -> list[str] | None:
    """The comma-separated items of ``text`` if it is one ``opener``-bracketed list."""
    text = text.strip()
    if not text.startswith(opener) or not text.endswith(_PAIRS[opener]):
        return None
    if _closing(text, 0) != len(text) - 1:
        return None  # "[1, 2] + [3]" or "(0, 1) \cup (2, 3)" is not one list
    inner = text[1:-1]
    if not inner.strip():
        return []
    items = _split(inner, ",")
    if items is None or any(not item.strip() for item in items):
        return None
    return [item.strip() for item in items]


def _closing(text: str, start: int) -> int | None:
    """Where the bracket opened at ``start`` closes (any bracket kind counts), else None."""
    depth = 0
    i = start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _split(text: str, separator: str) -> list[str] | None:
    r"""``text`` split on ``separator`` (``&``, ``,`` or ``\\``) outside brackets and braces.

    A backslash escapes the next character (``\&``, ``\{``), except that ``\\`` is itself a
    separator when asked for. None if the brackets do not balance.
    """
    parts: list[str] = []
    depth, start, i = 0, 0, 0
    while i < len(text):
        if depth == 0 and text.startswith(separator, i):
            parts.append(text[start:i])
            i += len(separator)
            start = i
            continue
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                return None
        i += 1
    if depth != 0:
        return None
    parts.append(text[start:])
    return parts


def _skip_group(text: str, opener: str, closer: str) -> str | None:
    """``text`` without its leading ``{...}`` (or ``[...]``) group; None if it does not close."""
    stripped = text.lstrip()
    if not stripped.startswith(opener):
        return None
    depth = 0
    for i, char in enumerate(stripped):
        depth += 1 if char == opener else -1 if char == closer else 0
        if depth == 0:
            return stripped[i + 1 :]
    return None
