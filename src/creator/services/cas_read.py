"""The sympy service's reader: Wolfram-style math text to sympy objects, without ``eval``.

Runs inside the sandbox only, as the first of the calculator's code parts (``cas_read``,
``cas_math``, ``cas_solve``, ``cas``: one namespace, so each uses the others' names as
globals). A tokenizer and a recursive-descent parser read ``^`` or ``**`` for powers, implicit
multiplication (``12x``, ``2(x+1)``, ``2pi``, ``x y``), ``5!``, ``50%``, ``mod``, ``choose``,
``|x|``, relations (``=``, ``<=``, chained ``0 < x < 5``), ``{...}`` lists and matrices, calls
with ``()`` or ``[]`` (``Sqrt[2]``) or, for one operand, without brackets (``sqrt 2``, ``det
{{1,2},{3,4}}``), and the constants ``pi``, ``e``, ``I``, ``oo``/``infinity``, ``deg``. Other
names of one or two letters (or with digits, or Greek) are symbols: ``xy`` is one symbol.
Longer unknown words, Python names (``import``, ``__x``) and characters such as quotes are
refused. ``log(x, b)`` is the logarithm of ``x`` in base ``b`` (sympy's and Python's order);
``log_2(8)`` and ``log2(8)`` work too.

Deliberately left out: what the operators and functions compute, and their size guards
(:mod:`.cas_math`: :func:`arith`, :func:`call` and the table of function names), the verbs
(``solve``, ``integrate``...: :mod:`.cas_solve`, :mod:`.cas`) and the printing of answers.
"""

from __future__ import annotations

import keyword
import re
from typing import TYPE_CHECKING, Any

import sympy as sp  # type: ignore[import-untyped]

if TYPE_CHECKING:  # inside the sandbox these are globals: the cas_math part runs next
    from creator.services.cas_math import FUNCTIONS, arith, call

__all__ = ["QueryError", "as_expr", "flatten", "read", "read_one"]

_TOKEN = re.compile(
    r"(?P<num>(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?)|(?P<name>[^\W\d]\w*)"
    r"|(?P<op>\*\*|->|<=|>=|==|!=|=<|=>|[-+*/^()\[\]{},;=<>!%.|])"
)
_WORDS = {"and", "or", "to", "from", "as", "at", "where", "for", "of", "mod", "choose", "in"}
_PYTHON = (set(keyword.kwlist) - _WORDS - {"not", "is", "if", "with"}) | {"os", "sys"}
_CONSTANTS = {"pi": sp.pi, "e": sp.E, "oo": sp.oo, "inf": sp.oo, "infinity": sp.oo}
_CONSTANTS |= {"deg": sp.pi / 180, "degree": sp.pi / 180, "degrees": sp.pi / 180}
_GREEK = {"alpha", "beta", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "mu"}
_GREEK |= {"nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega"}
_RELATIONS = {"=": sp.Eq, "==": sp.Eq, "!=": sp.Ne, "<": sp.Lt, ">": sp.Gt, "<=": sp.Le}
_RELATIONS |= {">=": sp.Ge, "=<": sp.Le, "=>": sp.Ge}
_UNREADABLE = "cannot read the query: "


class QueryError(Exception):
    """A query that gets no answer; the message is the one-line reason shown to the model."""


def read(text: str) -> list[Any]:
    """The items of ``text``, separated by ``,``, ``;`` or ``and``."""
    return _Reader(text).items("")


def read_one(text: str) -> Any:
    items = read(text)
    if len(items) != 1:
        raise QueryError(f"{_UNREADABLE}expected one expression in {text!r}")
    return items[0]


def flatten(items: list[Any]) -> list[Any]:
    """``items`` with nested lists spliced in."""
    return [leaf for item in items for leaf in (flatten(item) if type(item) is list else [item])]


def as_expr(value: Any) -> Any:
    """``value`` if it is a sympy expression, else a QueryError."""
    if not isinstance(value, sp.Expr):
        kind = "a list" if isinstance(value, list) else "a relation or truth value"
        raise QueryError(f"expected an expression here, not {kind}")
    return value


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        match = _TOKEN.match(text, pos)
        if match is None:
            raise QueryError(f'{_UNREADABLE}unexpected "{text[pos]}"')
        kind, word = match.lastgroup or "", match[0]
        if kind == "name" and (word.startswith("_") or word.lower() in _PYTHON):
            raise QueryError(f'{_UNREADABLE}"{word}" is not math')
        tokens.append((kind, word))
        pos = match.end()
    return [*tokens, ("end", "")]


class _Reader:
    """Recursive descent over the tokens; each method reads one level of precedence."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self, ahead: int = 0) -> str:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)][1]

    def take(self) -> tuple[str, str]:
        self.pos += 1
        return self.tokens[min(self.pos - 1, len(self.tokens) - 1)]

    def expect(self, word: str) -> None:
        found = self.take()[1]
        if found != word:
            wanted, seen = f'"{word}"' if word else "the end", f'"{found}"' if found else "the end"
            raise QueryError(f"{_UNREADABLE}expected {wanted}, found {seen}")

    def operand_next(self, ahead: int = 0) -> bool:
        kind, word = self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]
        return (
            word.lower() not in _WORDS
            if kind == "name"
            else kind == "num" or word in ("(", "[", "{")
        )

    def items(self, closer: str) -> list[Any]:
        found: list[Any] = []
        if closer == "}" and self.peek() == "}":
            self.pos += 1
            return found
        found.append(self.relation())
        while self.peek().lower() in (",", ";", "and"):
            self.pos += 1
            found.append(self.relation())
        self.expect(closer)
        return found

    def relation(self) -> Any:
        left, relations = self.sum(), []
        while self.peek() in _RELATIONS:
            op, right = self.take()[1], self.sum()
            relations.append(_RELATIONS[op](as_expr(left), as_expr(right), evaluate=False))
            left = right
        return left if not relations else sp.And(*relations) if len(relations) > 1 else relations[0]

    def sum(self) -> Any:
        value = self.term()
        while self.peek() in ("+", "-"):
            value = arith(self.take()[1], value, self.term())
        return value

    def term(self) -> Any:
        value = self.unary()
        while True:
            op = self.peek().lower()
            if op in ("*", "/", ".", "%", "mod", "choose", "of"):
                self.pos += 1
                value = arith({"%": "mod", "of": "*"}.get(op, op), value, self.unary())
            elif self.operand_next():
                value = arith("*", value, self.power())
            else:
                return value

    def unary(self) -> Any:
        if self.peek() in ("-", "+"):
            sign = self.take()[1]
            return arith("*", sp.S.NegativeOne, self.unary()) if sign == "-" else self.unary()
        return self.power()

    def power(self) -> Any:
        base = self.postfix()
        if self.peek() in ("^", "**"):
            self.pos += 1
            return arith("^", base, self.unary())
        return base

    def postfix(self) -> Any:
        value = self.primary()
        while self.peek() == "!" or (self.peek() == "%" and not self.operand_next(1)):
            percent = self.take()[1] == "%"
            value = arith("/", value, sp.Integer(100)) if percent else call("factorial", [value])
        return value

    def primary(self) -> Any:
        kind, word = self.take()
        if kind == "num":
            return sp.Float(word, 15) if "." in word or "e" in word.lower() else sp.Integer(word)
        if kind == "name":
            return self.name(word)
        if word in ("(", "["):
            found = self.items(")" if word == "(" else "]")
            return found[0] if len(found) == 1 else found
        if word == "{":
            return self.items("}")
        if word == "|":
            value = self.sum()
            self.expect("|")
            return call("abs", [value])
        raise QueryError(_UNREADABLE + (f'unexpected "{word}"' if word else "it ends too early"))

    def name(self, word: str) -> Any:
        low = word.lower()
        base = re.fullmatch(r"log_?(\d+)", low)
        if base or low in FUNCTIONS:
            power = None
            if self.peek() == "^" and self.peek(2) in ("(", "["):  # sin^2(x)
                self.pos += 1
                power = self.postfix()
            after = self.peek()
            if after in ("(", "["):
                self.pos += 1
                args = self.items(")" if after == "(" else "]")
                if low in ("c", "d") and len(args) == 1:  # c(a + b) is a product
                    return arith("*", sp.Symbol(word), args[0])
            elif low in ("c", "d", "gamma") or not (self.operand_next() or after == "of"):
                return sp.Symbol(word)  # `gamma = 2`, `length * width`
            else:
                self.pos += after == "of"
                args = [self.unary()]
            value = call("log", [*args, sp.Integer(base[1])]) if base else call(low, args)
            return value if power is None else arith("^", value, power)
        if low in _CONSTANTS or word == "I":
            return _CONSTANTS.get(low, sp.I)
        if low in _WORDS:
            raise QueryError(f'{_UNREADABLE}unexpected "{word}"')
        if len(word) > 2 and word.isalpha() and low not in _GREEK:
            raise QueryError(f'{_UNREADABLE}unknown word "{word}" (name variables x, y...)')
        return sp.Symbol(word)
