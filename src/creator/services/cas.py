"""The sympy service's calculator: answers a Wolfram-style query with sympy, in the sandbox.

Runs inside the sandbox only; the host never imports it. The host
(:mod:`creator.services.sympy_service`) sends :mod:`.cas_read` (the parser),
:mod:`.cas_math` (operators and functions), :mod:`.cas_solve` (``solve``, ``maximize``), this
file and ``main('<query>')`` as code parts run in one namespace, so the names of the earlier
parts are globals here. :func:`main` prints either ``ok`` and the answer on the lines after
it, or ``error`` and a one-line reason.

Verbs, each a regular expression over the query's text (case-insensitive): ``solve`` (an
equation, a system, inequalities, congruences; a bare equation is solved too) and
``maximize``/``minimize`` (both :mod:`.cas_solve`), ``simplify``, ``factor`` (an integer's
primes), ``expand``, ``integrate ... [dx] [from a to b]``, ``derivative of``/``d/dx``, ``limit
... as x -> a``, ``sum``/``product ... for k from 1 to n`` (or ``k=1..n``), ``EXPR at x = 2``;
otherwise the query is an expression, evaluated.

Answers are sympy's ``str`` with ``^`` for powers (``x^2 + 2*x``, ``sqrt(2)``, ``pi``, ``E``,
``I``, ``oo``), then ``≈`` and a decimal of 10 significant digits when it differs (``1/3 ≈
0.3333333333``); only the decimal when the exact form is over 80 characters or complex for a
real number. Solutions read ``x = 2 or x = 3``, systems ``p = 4, q = -1``, optimisation
``maximum 36 at x = 6``, lists ``{7, -13}``. Deliberately left out: series, differential
equations, units, optimisation in several free variables, natural-language questions; they
get a one-line error, never a traceback.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sympy as sp  # type: ignore[import-untyped]

if TYPE_CHECKING:  # inside the sandbox these are globals: the other parts ran first
    from creator.services.cas_math import arith, call, variable_of
    from creator.services.cas_read import QueryError, as_expr, flatten, read, read_one
    from creator.services.cas_solve import (
        NAME,
        congruence_text,
        optimize_text,
        pop,
        relations_of,
        solve_relations,
        solve_text,
    )

__all__ = ["answer", "assign", "decimal", "exact", "main", "point", "show", "substitute"]


_EXACT_CAP = 80
"""An exact form longer than this is left out when a decimal is shown."""
_NOT_NUMBERS = (sp.oo, -sp.oo, sp.zoo, sp.nan, sp.AccumBounds)


def main(query: str) -> None:
    """Print the answer to ``query`` under ``ok``, or a one-line reason under ``error``."""
    sys.set_int_max_str_digits(0)  # integers are bounded where they are made (MAX_BITS)
    try:
        print("ok\n" + answer(query))
    except QueryError as exc:
        _fail(str(exc))
    except RecursionError:
        _fail("cannot read the query: it is nested too deeply")
    except MemoryError:
        _fail("the computation used too much memory")
    except NotImplementedError as exc:
        _fail(f"sympy cannot do this: {exc}" if str(exc) else "sympy cannot do this")
    except Exception as exc:  # sympy's own failures: one line for the model, no traceback
        _fail(f"cannot compute this: {type(exc).__name__}: {exc}")


def _fail(reason: str) -> None:
    line = " ".join(reason.split())
    print("error\n" + (line if len(line) <= 300 else line[:297] + "..."))


# ---- answers as text -------------------------------------------------------------------


def _trim(text: str) -> str:
    """``2.500000000`` -> ``2.5``, ``168.0000000`` -> ``168``, ``1.000e+20`` -> ``1e+20``."""
    return re.sub(r"(\.\d*?[1-9])0+(?!\d)|\.0+(?!\d)", lambda m: m.group(1) or "", text)


def exact(value: Any) -> str:
    """The exact form: sympy's str with ``^`` for powers, floats to 10 digits."""
    if isinstance(value, list):
        return "{" + ", ".join(exact(item) for item in value) + "}"
    if isinstance(value, sp.logic.boolalg.BooleanAtom):
        return str(value).lower()
    if isinstance(value, sp.Integer) and len(str(abs(value))) > 1_000:
        return f"an integer of {len(str(abs(value))):,} digits"
    if isinstance(value, sp.Basic) and value.has(sp.Float):
        value = sp.N(value, 10)
    elif isinstance(value, sp.Expr) and value.is_number and value.has(sp.I):
        value = sp.expand(value)  # (1 + I)^2 -> 2*I
    return _trim(str(value).replace("**", "^"))


def decimal(value: Any) -> str | None:
    """The decimal form of a number (or a list of them); None when there is none."""
    if isinstance(value, list):
        shown = [decimal(item) for item in value]
        if any(item is not None for item in shown) and all(
            isinstance(item, list) or getattr(item, "is_number", False) for item in value
        ):
            return "{" + ", ".join(s or exact(v) for s, v in zip(shown, value, strict=True)) + "}"
        return None
    if not isinstance(value, sp.Expr) or not value.is_number or value.has(*_NOT_NUMBERS):
        return None
    if value.is_Integer:
        return None if abs(value) < 10**12 else _trim(str(sp.N(value, 10)))
    if all(part.is_Integer for part in value.as_real_imag()):
        return None  # 2 + 3*I: the exact form is clearer
    return _trim(str(sp.N(value, 10, chop=True)).replace("**", "^"))


def show(value: Any) -> str:
    """``exact``, ``exact ≈ decimal`` or (a long exact form) ``≈ decimal``."""
    text, approx = exact(value), decimal(value)
    if approx is None or approx == text:
        return text
    long = len(text) > _EXACT_CAP or ("I" in text and "I" not in approx)
    if long and not (isinstance(value, sp.Basic) and value.is_Rational):
        return f"≈ {approx}"
    return f"{text} ≈ {approx}"


def assign(symbol: Any, value: Any) -> str:
    """``x = 2``, ``x = sqrt(2) ≈ 1.414213562`` or ``x ≈ 0.3472963553``."""
    shown = show(value)
    return f"{symbol} {shown}" if shown.startswith("≈") else f"{symbol} = {shown}"


def point(values: dict[Any, Any]) -> str:
    """``p = 4, q = -1``: the values in the order of the names."""
    return ", ".join(assign(k, values[k]) for k in sorted(values, key=str))


# ---- calculus --------------------------------------------------------------------------


def _bounds(text: str) -> tuple[str, list[Any]]:
    """``f from a to b``, ``f for x from a to b``, ``f, x=a..b`` -> ``f`` and ``[x?, a, b]``."""
    text, match = pop(
        rf"(?:\s+for\s+({NAME})\s+|\s+)(?:from|between)\s+(?:({NAME})\s*=\s*)?"
        r"(.+?)\s+(?:to|and)\s+(.+)$",
        text,
    )
    if not match:
        text, match = pop(
            rf"(?:,\s*|\s+(?:for|from)\s+)()({NAME})\s*=\s*(.+?)\s*(?:\.\.|to)\s*(.+)$", text
        )
    if not match:
        return text, []
    name = match[1] or match[2]
    return text, [*([sp.Symbol(name)] if name else []), read_one(match[3]), read_one(match[4])]


def _variable(text: str) -> tuple[str, list[Any]]:
    """``f with respect to x``, ``f wrt x``, ``f dx``, ``f d x`` -> ``f`` and ``[x]``."""
    text, match = pop(rf"(?:,\s*|\s+)(?:with\s+respect\s+to|wrt)\s+({NAME})$", text)
    if not match:
        text, match = pop(r"(?:\s+|(?<=[)\]}\d]))d\s?([^\W\d]\w?)$", text)
    return text, [sp.Symbol(match[1])] if match else []


def _arguments(text: str) -> list[Any]:
    """The items of ``text``; those of a bracketed list when it is the only one."""
    items = read(text)
    return items[0] if len(items) == 1 and isinstance(items[0], list) else items


def _integrate(text: str) -> str:
    text, bounds = _bounds(text)
    text, variable = _variable(text)
    items = _arguments(text)
    value = call("integrate", [*items, *variable, *bounds])
    definite = len(flatten(items[1:])) + len(variable) + len(bounds) >= 2
    return show(value) + ("" if definite else " + C")


def _derivative(text: str, order: int, over: str | None) -> str:
    text, at = pop(rf"(?:,\s*|\s+)(?:at|where|when|for)\s+({NAME})\s*=\s*(.+)$", text)
    text, variable = _variable(text)
    items = _arguments(text)
    variable = [sp.Symbol(over)] if over else variable
    if order > 1 and not variable and len(items) == 1:
        variable = [variable_of(items[0])]
    value = call("diff", [*items, *variable, *([sp.Integer(order)] if order > 1 else [])])
    return show(substitute(value, {sp.Symbol(at[1]): read_one(at[2])}) if at else value)


def _limit(text: str) -> str:
    arrow = r"\s*(?:->|approaches|tends\s+to|goes\s+to)\s*"
    body, match = pop(rf"(?:\s+as\s+|,\s*|\s+for\s+|\s+when\s+)({NAME}){arrow}(.+)$", text)
    if not match:  # lim x->0 sin(x)/x
        match = re.match(rf"^(?:as\s+)?({NAME}){arrow}(\S+)\s+(.+)$", text, re.IGNORECASE)
        if not match:
            raise QueryError("say where the limit is taken, e.g. limit sin(x)/x as x -> 0")
        body = match[3]
    spot, side = pop(r"\s*(?:\^?([+-])|\s+from\s+the\s+(right|left|above|below))$", match[2])
    direction = "+-"
    if side:
        direction = "+" if side[1] == "+" or (side[2] or "").lower() in ("right", "above") else "-"
    x, at, f = sp.Symbol(match[1]), read_one(spot), as_expr(read_one(body))
    if at.is_infinite:
        direction = "-" if at == sp.oo else "+"
    try:
        value = sp.limit(f, x, at, direction)
    except ValueError:  # the one-sided limits differ
        value = sp.zoo
    if isinstance(value, sp.AccumBounds):
        return (
            f"no limit: the values keep varying between {exact(value.min)} and {exact(value.max)}"
        )
    if value != sp.zoo or direction != "+-":
        return show(value)
    left, right = sp.limit(f, x, at, "-"), sp.limit(f, x, at, "+")
    return f"no limit: {exact(left)} from the left, {exact(right)} from the right"


def _series(text: str, kind: str) -> str | None:
    """``sum k^2 for k from 1 to 10``, ``sum k^2, k=1..10``; None without a range."""
    body, bounds = _bounds(re.sub(r"^of\s+", "", text, flags=re.IGNORECASE))
    if not bounds:
        return None
    if len(bounds) == 2:
        bounds = [variable_of(read_one(body)), *bounds]
    return show(call(kind, [read_one(body), bounds]))


# ---- everything else -------------------------------------------------------------------


def _plain(text: str) -> str:
    """An expression (its value), relations (solved), or ``EXPR at x = 2``."""
    text, at = pop(rf"(?:,\s*|\s+)(?:at|where|when|with|for|if|given)\s+({NAME}\s*=[^=].*)$", text)
    items = read(congruence_text(text))
    if at:
        pairs, _ = relations_of(read(at[1]))
        if not all(isinstance(p, sp.Eq) and isinstance(p.lhs, sp.Symbol) for p in pairs):
            raise QueryError("cannot read the values: write them as x = 2, y = 3")
        items = [substitute(item, {p.lhs: p.rhs for p in pairs}) for item in items]
    if all(isinstance(item, sp.core.relational.Relational | sp.And) for item in items):
        return solve_relations(relations_of(items)[0], [])
    return show(items[0] if len(items) == 1 else items)


def substitute(value: Any, values: dict[Any, Any]) -> Any:
    """``value`` with symbols replaced, rebuilt bottom-up with the reader's guarded powers and
    factorials: ``x^(10^10) at x = 2`` is refused, not computed."""
    if isinstance(value, list):
        return [substitute(item, values) for item in value]
    if not isinstance(value, sp.Basic) or value in values or not value.args:
        return values.get(value, value)
    args = [substitute(arg, values) for arg in value.args]
    if isinstance(value, sp.Pow):
        return arith("^", *args)
    if isinstance(value, sp.factorial | sp.binomial):
        return call(type(value).__name__, args)
    return value.func(*args)


def _whole(text: str, name: str) -> str | None:
    """``mean 1, 2, 3``, ``det {{1, 2}, {3, 4}}``; None for anything else (``sum[...]``)."""
    if name.lower() not in _LIST_VERBS or text.startswith(("(", "[")):
        return None
    return show(call(name.lower(), read(text)))


_LIST_VERBS = {"mean", "average", "median", "variance", "stdev", "std", "sum", "total", "max"}
_LIST_VERBS |= {"min", "product", "det", "determinant", "inverse", "inv", "transpose", "rank"}
_LIST_VERBS |= {"eigenvalues", "trace", "gcd", "lcm", "sort", "length", "norm"}
_ORDERS = {"second": 2, "2nd": 2, "2": 2, "third": 3, "3rd": 3, "3": 3}

_VERBS: list[tuple[str, Callable[[str, re.Match[str]], str | None]]] = [
    (r"(?:solve|roots?\s+of|zeros?\s+of|solutions?\s+(?:of|to))", lambda t, m: solve_text(t)),
    (r"(?:maximi[sz]e|max(?:imum)?(?:\s+value)?\s+of)", lambda t, m: optimize_text(t, 1)),
    (r"(?:minimi[sz]e|min(?:imum)?(?:\s+value)?\s+of)", lambda t, m: optimize_text(t, -1)),
    (r"simplify", lambda t, m: show(call("simplify", [read_one(t)]))),
    (r"expand", lambda t, m: show(call("expand", [read_one(t)]))),
    (
        r"(?:factor(?:i[sz]e)?|(?:prime\s+)?factori[sz]ation\s+of)",
        lambda t, m: show(call("factor", [read_one(t)])),
    ),
    (r"(?:integrate|integral(?:\s+of)?|antiderivative(?:\s+of)?)", lambda t, m: _integrate(t)),
    (
        r"(?:(second|third|2nd|3rd)\s+)?(?:derivative(?:\s+of)?|differentiate|"
        rf"d(?:\^?([23]))?/d({NAME})(?:\^?[23])?)",
        lambda t, m: _derivative(t, _ORDERS.get((m[1] or m[2] or "").lower(), 1), m[3]),
    ),
    (r"(?:limit|lim)(?:\s+of)?", lambda t, m: _limit(t)),
    (r"(?:sum|summation)(?:\s+of)?", lambda t, m: _series(t, "sum")),
    (r"product(?:\s+of)?", lambda t, m: _series(t, "product")),
]
_COMPILED = [(re.compile(rf"{verb}(?:\s+|(?=[({{\[])|$)", re.I), run) for verb, run in _VERBS]
_COMPILED.append(  # `mean 1, 2, 3`, `det {{1, 2}, {3, 4}}`: a list function without brackets
    (re.compile(rf"({NAME})(?:\s+of)?(?:\s+|(?=[{{\[]))"), lambda t, m: _whole(t, m[1]))
)
_UNICODE = {"\u2212": "-", "\u2013": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*"}
_UNICODE |= {"÷": "/", "π": " pi ", "√": " sqrt ", "∞": " oo ", "≤": "<=", "≥": ">="}
_UNICODE |= {"≠": "!=", "²": "^2", "³": "^3", "°": " deg ", "→": "->", "∫": "integrate "}
_UNICODE |= {"\u211d": "reals"}  # minus, en dash, times, middle dot, dot operator; double-struck R
_PHRASES = {"standard deviation": "stdev", "square root": "sqrt", "cube root": "cbrt"}
_PHRASES |= {"absolute value": "abs", "natural log(?:arithm)?": "ln", "divided by": "/"}
_PHRASES |= {"to the power(?: of)?": "^", "squared": "^2", "cubed": "^3", "times": "*"}
_PHRASES |= {"plus": "+", "minus": "-"}
_INDEX_I = re.compile(r"\bi\s*(?:=|->|from\b)|\bfor\s+i\b|[{(,]\s*i\s*[,})]")
"""``i`` is a variable (``sum i for i = 1 to 10``), not the imaginary unit."""


def answer(query: str) -> str:
    """The answer to ``query`` (see the module's docstring); raises QueryError."""
    text = query
    for old, new in _UNICODE.items():
        text = text.replace(old, new)
    text = " ".join(text.split()).strip("`\"' ").rstrip("?.=; ").strip()
    for phrase, word in _PHRASES.items():
        text = re.sub(rf"\b{phrase}\b", f" {word} ", text, flags=re.IGNORECASE).strip()
    if not _INDEX_I.search(text):
        text = re.sub(r"(?<![^\W\d])i\b", "I", text)  # 4i, (3 + 2i): the imaginary unit
    verb = r"^(?:what\s+is|what's|compute|calculate|evaluate|find|determine)\s+(?:the\s+)?"
    text = re.sub(verb, "", text, flags=re.IGNORECASE)
    if not text:
        raise QueryError("the query is empty")
    text = re.sub(  # sum_{k=1}^{10} f -> sum f for k from 1 to 10
        rf"^(sum|product)_\{{?({NAME})\s*=\s*([^{{}}^]+?)\}}?\^\{{?([^{{}}\s]+?)\}}?\s+(.+)$",
        r"\1 \5 for \2 from \3 to \4",
        text,
        flags=re.IGNORECASE,
    )
    for pattern, run in _COMPILED:
        match = pattern.match(text)
        if match:
            rest = text[match.end() :].strip()
            if not rest:
                raise QueryError(f'cannot read the query: nothing after "{match[0].strip()}"')
            result = run(rest, match)
            if result is not None:
                return result
    return _plain(text)
