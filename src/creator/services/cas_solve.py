"""The sympy service's equation verbs: ``solve`` (with congruences) and ``maximize``/``minimize``.

Runs inside the sandbox only, as the code part ``cas_solve``, after :mod:`.cas_read` and
:mod:`.cas_math` and before :mod:`.cas` (whose :func:`answer` calls :func:`solve_text` and
:func:`optimize_text` with the text after the verb, and whose ``show``, ``exact``, ``assign``
and ``point`` print the results here: all are globals in the sandbox's one namespace).

``solve`` takes one equation, a system, or inequalities in one variable (``for x``, ``over the
reals``, ``in integers``), and linear congruences in one integer unknown (``n mod 7 = 3``, ``3x
% 7 = 2``, ``n ≡ 3 (mod 7)``, ``n = 3 mod 7``; moduli need not be coprime), answered ``n =
101 + 315k (k an integer)`` or ``no solution``. ``maximize``/``minimize`` take one free
variable once the equality constraints are used (``on [a, b]``, ``for 0<=x<=10``, ``subject
to x + y = 10``). Deliberately left out: optimisation in several free variables, nonlinear
congruences, and congruences mixed with other equations; they get a one-line error.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import sympy as sp  # type: ignore[import-untyped]
from sympy.ntheory.modular import solve_congruence  # type: ignore[import-untyped]

if TYPE_CHECKING:  # inside the sandbox these are globals: the other parts run in one namespace
    from creator.services.cas import assign, exact, point, show
    from creator.services.cas_math import call, variable_of
    from creator.services.cas_read import QueryError, as_expr, flatten, read, read_one

__all__ = [
    "NAME",
    "congruence_text",
    "optimize_text",
    "pop",
    "relations_of",
    "solve_congruences",
    "solve_relations",
    "solve_text",
    "symbols_of",
]

NAME = r"[^\W\d]\w*"
"""A variable's name, as a regular expression."""
_NAMES = rf"{NAME}(?:\s*(?:,|and)\s*{NAME})*"


# ---- solve -----------------------------------------------------------------------------


def pop(pattern: str, text: str) -> tuple[str, re.Match[str] | None]:
    """``text`` without the match of ``pattern`` (searched, case-insensitive), and the match."""
    match = re.search(pattern, text, re.IGNORECASE)
    return (text[: match.start()].strip(), match) if match else (text, None)


def relations_of(items: list[Any]) -> tuple[list[Any], list[Any]]:
    """Relations (a bare expression means ``= 0``; ``a < x < b`` is two) and bare symbols."""
    relations: list[Any] = []
    symbols: list[Any] = []
    for item in flatten(items):
        if isinstance(item, sp.Symbol):
            symbols.append(item)
        elif isinstance(item, sp.And):
            relations.extend(item.args)
        elif isinstance(item, sp.core.relational.Relational):
            relations.append(item)
        else:
            relations.append(sp.Eq(as_expr(item), 0, evaluate=False))
    return relations, symbols


def symbols_of(items: list[Any]) -> list[Any]:
    """The symbols of ``items``, sorted by name."""
    return sorted(set().union(*(item.free_symbols for item in items)), key=str)


def _order_key(value: Any) -> tuple[int, float, float]:
    """Real numbers first, in increasing order, then complex ones, then symbolic ones."""
    if not value.is_number:
        return (2, 0.0, 0.0)
    real, imag = (float(part) for part in sp.N(value, 15, chop=True).as_real_imag())
    return (int(imag != 0), real, imag)


def _set_text(found: Any, x: Any) -> str:
    """A set of reals as ``-2 < x < 2 or x >= 5``."""
    if found == sp.S.Reals:
        return f"every real {x} is a solution"
    if found == sp.S.EmptySet:
        raise QueryError("no solution found")
    if isinstance(found, sp.Union):
        return " or ".join(_set_text(part, x) for part in found.args)
    if isinstance(found, sp.FiniteSet):
        return " or ".join(assign(x, v) for v in found.args)
    if not isinstance(found, sp.Interval):
        return f"{x} in {exact(found)}"
    lo, hi = exact(found.start), exact(found.end)
    left, right = ("<" if found.left_open else "<="), ("<" if found.right_open else "<=")
    if found.start == -sp.oo:
        return f"{x} {right} {hi}"
    return (
        f"{x} {left.replace('<', '>')} {lo}"
        if found.end == sp.oo
        else f"{lo} {left} {x} {right} {hi}"
    )


def solve_relations(relations: list[Any], wanted: list[Any], domain: str = "") -> str:
    """``x = 2 or x = 3``, ``p = 4, q = -1``, ``-2 < x < 2``, ``true``...; ``domain`` is
    ``reals`` or ``integers`` to keep only such solutions."""
    if not relations:
        raise QueryError("nothing to solve: give an equation, e.g. solve x^2 = 4")
    symbols = symbols_of(relations)
    if not symbols:
        return (
            "true" if all(bool(sp.simplify(r.func(r.lhs, r.rhs))) for r in relations) else "false"
        )
    unknowns = wanted or symbols
    if len(unknowns) == 1 and any(_is_congruence(r, unknowns[0]) for r in relations):
        return solve_congruences(relations, unknowns[0])  # n mod 7 = 3: solved in integers
    if any(not isinstance(r, sp.Eq) for r in relations):
        if len(unknowns) != 1 or len(symbols) != 1:
            raise QueryError("inequalities are solved in one variable only")
        found = sp.S.Reals
        for relation in relations:
            found = found.intersect(sp.solveset(relation, unknowns[0], sp.S.Reals))
        return _set_text(found, unknowns[0])
    equations = [r.lhs - r.rhs for r in relations]
    if all(equation == 0 for equation in equations):
        return "true for every value"
    try:  # a one-element list of equations finds fewer solutions (sympy 1.14)
        solutions = sp.solve(
            equations[0] if len(equations) == 1 else equations, unknowns, dict=True
        )
    except NotImplementedError:  # e.g. |x - 3| = 5 needs real unknowns
        reals = {s: sp.Symbol(s.name, real=True) for s in symbols}
        back = {v: k for k, v in reals.items()}
        found = sp.solve(
            [e.subs(reals) for e in equations], [reals.get(s, s) for s in unknowns], dict=True
        )
        solutions = [{back.get(k, k): v.subs(back) for k, v in f.items()} for f in found]
    if domain:
        test = "is_integer" if domain.lower() == "integers" else "is_real"
        solutions = [s for s in solutions if all(getattr(v, test) is not False for v in s.values())]
    if not solutions:
        raise QueryError("no solution found")
    if solutions == [{}]:
        return "true for every value"
    if all(len(s) == 1 for s in solutions):
        solutions.sort(key=lambda s: _order_key(next(iter(s.values()))))
    texts = [point(s) for s in solutions]
    if len(texts) > 1 and any(len(s) > 1 for s in solutions):
        texts = [f"({text})" for text in texts]
    return " or ".join(texts)


def solve_text(text: str) -> str:
    match = re.match(rf"for\s+({_NAMES})\s*[:,]\s*", text, re.IGNORECASE)
    if match:  # solve for x: 2x + 3 = 7
        text = f"{text[match.end() :]} for {match[1]}"
    text, domain = pop(r",?\s+(?:over|in)\s+(?:the\s+)?(reals|real numbers|integers)$", text)
    text, over = pop(rf"\s+for\s+({_NAMES})$", text)
    text = re.sub(r"\s+(?:for|where|with|given|if|such\s+that)\s+", ", ", text, flags=re.I)
    relations, wanted = relations_of(read(congruence_text(text)))
    if over:
        wanted += [sp.Symbol(name) for name in re.split(r"\s*(?:,|\band\b)\s*", over[1])]
    return solve_relations(relations, wanted, domain[1] if domain else "")


# ---- congruences -----------------------------------------------------------------------

_CONGRUENCES = (
    re.compile(r"([^=≡<>]+?)\s*(?:≡|==?)\s*([^=≡<>]+?)\s*\(\s*mod\s+([^()]+?)\s*\)", re.I),
    re.compile(r"([^=≡<>]+?)\s*≡\s*([^=≡<>]+?)\s+mod\s+(.+)", re.I),
    re.compile(r"([^=≡<>]+?)\s*==?\s*(-?\d+)\s+mod\s+(\d+)", re.I),
)
"""One item ``a ≡ b (mod m)``, ``a ≡ b mod m``, ``a = b (mod m)`` or ``a = 3 mod 7`` (numbers
only: ``y = x mod 3`` is an equation)."""


def congruence_text(text: str) -> str:
    """``text`` with its congruence items made readable: ``n ≡ 3 (mod 7)`` -> ``((n) - (3))
    mod (7) = 0``; the other items are left as they are."""
    pieces = re.split(r"(\s*(?:[,;{}]|\band\b)\s*)", text, flags=re.IGNORECASE)
    for i, piece in enumerate(pieces):
        for pattern in _CONGRUENCES:
            match = pattern.fullmatch(piece.strip())
            if match:
                pieces[i] = f"(({match[1]}) - ({match[2]})) mod ({match[3]}) = 0"
                break
    return "".join(pieces)


def _is_congruence(relation: Any, x: Any) -> bool:
    return any(x in mod.free_symbols for mod in relation.atoms(sp.Mod))


def _congruence(expr: Any, x: Any) -> tuple[int, int] | None:
    """``expr = 0`` as ``x ≡ r (mod m)``: ``(r, m)``; None when no integer ``x`` solves it."""
    unsupported = QueryError("only linear congruences are solved, e.g. solve 3x mod 7 = 2")
    mods = [mod for mod in expr.atoms(sp.Mod) if x in mod.free_symbols]
    if len(mods) != 1:
        raise unsupported
    t = sp.Dummy("t")
    rest = expr.subs(mods[0], t)  # slope * t - target * slope
    slope = sp.diff(rest, t)
    if rest.free_symbols != {t} or not slope.is_number or slope.is_zero is not False:
        raise unsupported
    target, (inside, modulus) = -rest.subs(t, 0) / slope, mods[0].args
    if not modulus.is_Integer or modulus <= 0:
        raise QueryError("the modulus of a congruence must be a positive integer")
    if not inside.is_polynomial(x) or sp.degree(inside, x) != 1:
        raise unsupported
    coefficients = sp.Poly(inside, x).all_coeffs()
    if not all(c.is_Integer for c in coefficients):
        raise QueryError("the coefficients of a congruence must be integers")
    if not (target.is_Integer and 0 <= target < modulus):  # sympy's Mod lies in [0, m)
        return None
    (a, b), m = (int(c) for c in coefficients), int(modulus)
    gcd, rhs = math.gcd(a, m), int(target) - b
    if rhs % gcd:
        return None
    m //= gcd
    return (rhs // gcd) * pow(a // gcd, -1, m) % m, m


def solve_congruences(relations: list[Any], x: Any) -> str:
    """``n = 101 + 315k (k an integer)``, ``every integer n is a solution`` or ``no solution``:
    linear congruences in the integer unknown ``x``, combined by the Chinese remainder theorem
    (sympy's ``solve_congruence``)."""
    if symbols_of(relations) != [x]:
        raise QueryError("congruences are solved in one unknown only")
    if not all(isinstance(r, sp.Eq) and _is_congruence(r, x) for r in relations):
        raise QueryError("congruences cannot be mixed with other equations or inequalities")
    pairs = [_congruence(r.lhs - r.rhs, x) for r in relations]
    found = None if None in pairs else solve_congruence(*pairs)
    if found is None:
        return "no solution"
    residue, modulus = found
    if modulus == 1:
        return f"every integer {x} is a solution"
    k = "m" if x.name == "k" else "k"
    return f"{x} = {f'{residue} + ' if residue else ''}{modulus}{k} ({k} an integer)"


# ---- maximize, minimize ----------------------------------------------------------------


def _numeric(value: Any) -> float:
    number = sp.N(value, 15, chop=True)
    if not number.is_real:
        raise QueryError("cannot compare the candidates: the expression has other symbols")
    return float(number)


def _critical(f: Any, x: Any, domain: Any) -> list[Any]:
    """Where the derivative is zero: sympy's principal solutions (``sin``: pi/2 and 3*pi/2),
    else the set's points or, where it is zero on a whole interval, that interval's ends."""
    try:
        return list(sp.solve(sp.diff(f, x), x))
    except NotImplementedError:  # sign(x - 2) + sign(x + 1) = 0
        found = sp.solveset(sp.diff(f, x), x, domain)
    points = found if isinstance(found, sp.FiniteSet) else found.boundary
    if not isinstance(points, sp.FiniteSet):
        raise QueryError("cannot find where the derivative is zero")
    return list(points)


def _extremum_1d(f: Any, x: Any, constraints: list[Any], sign: int) -> tuple[Any, list[Any]]:
    """The best value of ``sign * f`` over the reals allowed, and the points reaching it."""
    word = "maximum" if sign > 0 else "minimum"
    real = sp.Symbol(x.name, real=True)
    f, constraints, x = f.subs(x, real), [c.subs(x, real) for c in constraints], real
    domain = sp.calculus.util.continuous_domain(f, x, sp.S.Reals)
    for constraint in constraints:
        domain = domain.intersect(sp.solveset(constraint, x, sp.S.Reals))
    kinks = [c for a in f.atoms(sp.Abs) for c in sp.solve(a.args[0], x)]  # |x - 2| at 2
    points = [c for c in {*_critical(f, x, domain), *kinks} if domain.contains(c) is sp.true]
    ends: list[tuple[Any, str]] = []  # approached, not reached: only their limits count
    for piece in domain.args if isinstance(domain, sp.Union) else (domain,):
        if isinstance(piece, sp.FiniteSet):
            points += list(piece.args)
            continue
        if not isinstance(piece, sp.Interval):
            raise QueryError(f"cannot search the set {exact(piece)}")
        for end, is_open, side in (
            (piece.start, piece.left_open, "+"),
            (piece.end, piece.right_open, "-"),
        ):
            if is_open or end.is_infinite:
                ends.append((end, side))
            else:
                points.append(end)
    values = [(f.subs(x, p), p) for p in points]
    best = max((sign * _numeric(v) for v, _ in values), default=None)
    edges = []
    for end, side in ends:
        bound = sp.limit(f, x, end, side)
        if isinstance(bound, sp.AccumBounds):  # it oscillates: its values are reached
            continue
        if bound == sign * sp.oo:
            raise QueryError(f"no {word}: unbounded {'above' if sign > 0 else 'below'}")
        if not bound.is_infinite:
            edges.append((sign * _numeric(bound), bound, end))
    top = max(edges, key=lambda edge: edge[0], default=None)
    if top and (best is None or top[0] > best + 1e-12):
        kind = "supremum" if sign > 0 else "infimum"
        raise QueryError(
            f"no {word}: the {kind} {exact(top[1])} is approached as {x} -> {exact(top[2])}"
            " but not reached"
        )
    if best is None:
        raise QueryError("no allowed value: the constraints exclude every point")
    winners = [(v, p) for v, p in values if abs(sign * _numeric(v) - best) <= 1e-12]
    return winners[0][0], sorted({p for _, p in winners}, key=_numeric)


def optimize_text(text: str, sign: int) -> str:
    text = re.sub(r"^(?:the\s+)?(?:value\s+)?of\s+", "", text, flags=re.IGNORECASE)
    try:  # `max of 3, 7, 2`: the largest of numbers
        numbers = flatten(read(text))
    except QueryError:
        numbers = []
    if len(numbers) > 1 and all(getattr(n, "is_number", False) for n in numbers):
        return show(call("max" if sign > 0 else "min", numbers))
    text, interval = pop(
        rf"(?:,\s*|\s+)(?:(?:on|over|in|for)\s+)?(?:the\s+interval\s+)?(?:({NAME})\s+in\s+)?"
        r"([\[(])([^,\[\]]+),([^,\[\]]+?)([\])])$",
        text,
    )
    constraint = (
        r"\s+(?:subject\s+to|s\.t\.|such\s+that|given(?:\s+that)?|where|with|for|when|if)\s+"
    )
    items = read(re.sub(constraint, ", ", text, count=1, flags=re.IGNORECASE))
    objective, (relations, _) = as_expr(items[0]), relations_of(items[1:])
    if interval:
        x = sp.Symbol(interval[1]) if interval[1] else variable_of(objective)
        lo, hi = read_one(interval[3]), read_one(interval[4])
        relations.append(sp.Lt(lo, x) if interval[2] == "(" else sp.Le(lo, x))
        relations.append(sp.Lt(x, hi) if interval[5] == ")" else sp.Le(x, hi))
    equations = [r.lhs - r.rhs for r in relations if isinstance(r, sp.Eq)]
    inequalities = [r for r in relations if not isinstance(r, sp.Eq)]
    branches = sp.solve(equations, dict=True) if equations else [{}]
    if not branches:
        raise QueryError("the equality constraints have no solution")
    best: tuple[float, Any, list[dict[Any, Any]]] | None = None
    for branch in branches:  # each way of solving the equality constraints
        f, kept = objective.subs(branch), [c.subs(branch) for c in inequalities]
        free = symbols_of([f, *kept])
        if len(free) > 1:
            raise QueryError("only problems in one free variable are supported")
        if not free and not all(bool(c) for c in kept):
            continue
        value, xs = _extremum_1d(f, free[0], kept, sign) if free else (f, [])
        spots = [{free[0]: p} for p in xs] if free else [{}]
        spots = [{**s, **{k: v.subs(s) for k, v in branch.items()}} for s in spots]
        score = sign * _numeric(value)
        if best is not None and abs(score - best[0]) <= 1e-12:
            best[2].extend(s for s in spots if s not in best[2])
        elif best is None or score > best[0]:
            best = (score, value, spots)
    if best is None:
        raise QueryError("no allowed value: the constraints exclude every point")
    word = "maximum" if sign > 0 else "minimum"
    if best[2] == [{}]:
        return f"{word} {show(best[1])} (the expression is constant)"
    return f"{word} {show(best[1])} at " + " or ".join(point(s) for s in best[2])
