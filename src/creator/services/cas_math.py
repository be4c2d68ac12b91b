"""The sympy service's arithmetic: operators, the function table and their size guards.

Runs inside the sandbox only, as the code part ``cas_math``, after :mod:`.cas_read` (whose
parser calls :func:`arith` for each operator and :func:`call` for each function; both are
globals there). :func:`arith` does ``+ - * / ^ . mod choose`` on numbers, expressions and
``{...}`` lists: element-wise, except that ``*`` is a matrix product when a matrix is
involved and the shapes fit, and ``.`` always is one. :data:`FUNCTIONS` maps each function
name the reader knows to its implementation: elementary functions (element-wise over a
list), ``round``, ``gcd``/``lcm``, statistics, ``sum``/``product`` of a list or over a range,
matrices (``det``, ``inverse``, ``eigenvalues``...), ``integrate``, ``diff``, ``limit``,
``factor`` (an integer's primes), ``simplify``, ``expand``.

A power, factorial or binomial whose exact result would have more than :data:`MAX_BITS` bits,
and the expansion of a power above 1,000 of a sum, are refused at once rather than computed.
Deliberately left out: reading text (:mod:`.cas_read`), the verbs (:mod:`.cas_solve`,
:mod:`.cas`) and the printing of answers.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sympy as sp  # type: ignore[import-untyped]

if TYPE_CHECKING:  # inside the sandbox these are globals: the cas_read part ran first
    from creator.services.cas_read import QueryError, as_expr

__all__ = ["FUNCTIONS", "MAX_BITS", "arith", "call", "expand", "variable_of"]

MAX_BITS = 70_000
"""Most bits of an exact integer built by a power, factorial or binomial (~21,000 digits)."""


# ---- operators on numbers, expressions and {...} lists ----------------------------------


def _is_matrix(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(row, list) and len(row) == len(value[0]) > 0 for row in value)
        and not any(isinstance(item, list) for row in value for item in row)
    )


def _matmul(a: Any, b: Any) -> Any:
    """Matrix times matrix or vector, vector times matrix (as a row) or vector (a dot)."""
    left = sp.Matrix(a) if _is_matrix(a) else sp.Matrix([a])
    right = sp.Matrix(b)
    if left.cols != right.rows:
        raise QueryError(f"cannot multiply a {left.shape} matrix by a {right.shape} one")
    product = left * right
    if not _is_matrix(b):
        return list(product.col(0)) if _is_matrix(a) else product[0, 0]
    return product.tolist() if _is_matrix(a) else list(product.row(0))


def arith(op: str, a: Any, b: Any) -> Any:
    """``a op b`` for ``+ - * / ^ . mod choose``, element-wise over lists."""
    if isinstance(a, list) or isinstance(b, list):
        inner = len(a[0] if _is_matrix(a) else a) if isinstance(a, list) else -1
        fits = isinstance(b, list) and inner == len(b) and _is_matrix(a) | _is_matrix(b)
        if op == "." or (op == "*" and fits):
            return _matmul(a, b)
        if op == "^" and _is_matrix(a) and len(a) == len(a[0]) and getattr(b, "is_Integer", False):
            if abs(b) > 1_000:
                raise QueryError("the matrix power is too large")
            return (sp.Matrix(a) ** b).tolist()
        if isinstance(a, list) and isinstance(b, list) and len(a) != len(b):
            raise QueryError(f"the lists have different lengths ({len(a)} and {len(b)})")
        left = a if isinstance(a, list) else [a] * len(b)
        pairs = zip(left, b if isinstance(b, list) else [b] * len(a), strict=True)
        return [arith(op, x, y) for x, y in pairs]
    a, b = as_expr(a), as_expr(b)
    if op in ("/", "mod") and b.is_zero:
        raise QueryError("division by zero")
    if op == "^":
        return _power(a, b)
    if op in ("mod", "choose"):
        return call("mod" if op == "mod" else "binomial", [a, b])
    return a + b if op == "+" else a - b if op == "-" else a / b if op == "/" else a * b


# ---- the functions, with their size guards ---------------------------------------------


def _too_big(what: str) -> QueryError:
    return QueryError(f"{what} is too large to compute exactly (more than 20,000 digits)")


def _power(base: Any, exponent: Any) -> Any:
    if base.is_zero and exponent.is_negative:
        raise QueryError("division by zero")
    if base.is_Rational and exponent.is_Rational and abs(base) != 1 and not base.is_zero:
        bits = max(math.log2(abs(base.p)), math.log2(base.q))
        if abs(exponent) * bits > MAX_BITS:
            raise _too_big("the power")
    return base**exponent


def _factorial(n: Any) -> Any:
    if n.is_Integer and n > 2 and int(n) * int(n).bit_length() > MAX_BITS:
        raise _too_big("the factorial")
    if n.is_Integer and n < 0:
        raise QueryError("the factorial of a negative integer is undefined")
    return sp.factorial(n)


def _binomial(n: Any, k: Any) -> Any:
    small = n.is_Integer and k.is_Integer and 0 < k < n
    if small and min(int(k), int(n - k)) * int(n).bit_length() > MAX_BITS:
        raise _too_big("the binomial coefficient")
    return sp.binomial(n, k)


def _round(x: Any, digits: Any = sp.S.Zero) -> Any:
    """Half away from zero, to ``digits`` decimals (an integer when there are none)."""
    if not digits.is_Integer or not 0 <= digits <= 100 or not as_expr(x).is_real:
        raise QueryError("write round(x) or round(x, digits) with 0 to 100 digits")
    scale = sp.Integer(10) ** digits
    whole = sp.sign(x) * sp.floor(abs(x) * scale + sp.S.Half)
    return whole if digits == 0 else sp.Float(whole / scale, 15)


def _values(args: list[Any]) -> list[Any]:
    """The numbers of ``f({1, 2, 3})`` or ``f(1, 2, 3)``."""
    values = args[0] if len(args) == 1 and isinstance(args[0], list) else args
    if not values or any(isinstance(v, list) for v in values):
        raise QueryError("expected a list of numbers, e.g. {1, 2, 3}")
    return [as_expr(v) for v in values]


def _sorted(args: list[Any]) -> list[Any]:
    values = _values(args)
    if not all(v.is_real for v in values):
        raise QueryError("can only sort real numbers")
    return sorted(values, key=lambda v: sp.N(v, 30))


def _median(args: list[Any]) -> Any:
    values, middle = _sorted(args), len(_values(args)) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def _variance(args: list[Any]) -> Any:
    """The sample variance."""
    values = _values(args)
    if len(values) < 2:
        raise QueryError("the sample variance needs at least two numbers")
    mean = sp.Add(*values) / len(values)
    return sp.Add(*((v - mean) ** 2 for v in values)) / (len(values) - 1)


def _matrix(args: list[Any]) -> Any:
    if len(args) != 1 or not isinstance(args[0], list):
        raise QueryError("expected a matrix, e.g. {{1, 2}, {3, 4}}")
    return sp.Matrix(args[0])


def _aggregate(kind: str) -> Callable[[list[Any]], Any]:
    """``sum {1,2,3}`` (a total), ``sum(k^2, {k, 1, 10})``, ``sum(k^2, k, 1, 10)``."""

    def run(args: list[Any]) -> Any:
        if len(args) in (2, 4) and not isinstance(args[0], list):
            rest = args[1] if len(args) == 2 and isinstance(args[1], list) else args[1:]
            if len(rest) != 3 or not isinstance(rest[0], sp.Symbol):
                raise QueryError(f"write {kind}(f, {{k, a, b}}) or {kind} f for k from a to b")
            run_it = sp.summation if kind == "sum" else sp.product
            return run_it(as_expr(args[0]), (rest[0], as_expr(rest[1]), as_expr(rest[2])))
        values = _values(args)
        return sp.Add(*values) if kind == "sum" else sp.Mul(*values)

    return run


def variable_of(expr: Any) -> Any:
    """The variable of ``expr``: its only symbol, else ``x``."""
    free = sorted(as_expr(expr).free_symbols, key=str)
    if len(free) == 1:
        return free[0]
    if free and sp.Symbol("x") not in free:
        raise QueryError("say which variable, e.g. 'with respect to x'")
    return sp.Symbol("x")


def _integral(args: list[Any]) -> Any:
    """``integrate(f)``, ``(f, x)``, ``(f, a, b)``, ``(f, x, a, b)``, ``(f, {x, a, b})``."""
    f, rest = as_expr(args[0]), args[1:]
    if len(rest) == 1 and isinstance(rest[0], list):
        rest = rest[0]
    if not rest or not isinstance(rest[0], sp.Symbol):
        rest = [variable_of(f), *rest]
    if len(rest) not in (1, 3):
        raise QueryError("write integrate f from a to b, or integrate f dx")
    result = sp.integrate(f, tuple(rest) if len(rest) == 3 else rest[0])
    if result.has(sp.Integral):
        if len(rest) == 1:
            raise QueryError("no closed form found for this integral")
        result = sp.Integral(f, tuple(rest)).evalf(15)
    return result


def _diff(args: list[Any]) -> Any:
    return sp.diff(as_expr(args[0]), *(args[1:] or [variable_of(args[0])]))


def _factor(args: list[Any]) -> Any:
    """``factor`` of an expression; the prime factors of an integer (``2^3 * 3^2 * 5``)."""
    value = as_expr(args[0])
    if not value.is_Integer or abs(value) < 2:
        return sp.factor(value)
    factors = " * ".join(f"{p}^{e}" if e > 1 else str(p) for p, e in sp.factorint(value).items())
    return sp.Symbol(("-" if value < 0 else "") + factors)  # a name, printed as it is


def expand(expr: Any) -> Any:
    """``sympy.expand``, refused when a power of a sum would have too many terms."""
    for power in as_expr(expr).atoms(sp.Pow):
        if power.base.is_Add and power.exp.is_Integer and abs(power.exp) > 1_000:
            raise QueryError("the expansion is too large (a power above 1,000 of a sum)")
    return sp.expand(expr)


def _scalar(fn: Callable[..., Any]) -> Callable[[list[Any]], Any]:
    """``fn`` applied to the arguments, element-wise when the first is a list."""

    def run(args: list[Any]) -> Any:
        if isinstance(args[0], list):
            return [run([item, *args[1:]]) for item in args[0]]
        return fn(*args)

    return run


# ---- the function table ----------------------------------------------------------------

_ARITY: dict[str, tuple[int, int]] = {"log": (1, 2), "round": (1, 2), "root": (2, 2)}
_ARITY |= dict.fromkeys(("atan2", "binomial", "ncr", "npr", "mod", "c", "choose"), (2, 2))
_SCALAR: dict[str, Callable[..., Any]] = {
    **{"sqrt": sp.sqrt, "cbrt": lambda x: sp.real_root(x, 3), "root": sp.real_root},
    **{"abs": sp.Abs, "exp": sp.exp, "ln": sp.log, "log": sp.log, "round": _round},
    **{"floor": sp.floor, "ceil": sp.ceiling, "ceiling": sp.ceiling, "gamma": sp.gamma},
    **{"factorial": _factorial, "binomial": _binomial, "ncr": _binomial, "c": _binomial},
    **{"choose": _binomial, "npr": sp.ff, "mod": sp.Mod, "sign": sp.sign, "atan2": sp.atan2},
    **{"isprime": lambda n: sp.true if sp.isprime(n) else sp.false, "re": sp.re, "im": sp.im},
}
for _name in ("sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh"):
    _SCALAR[_name] = getattr(sp, _name)
    _SCALAR["a" + _name] = _SCALAR["arc" + _name] = getattr(sp, "a" + _name)

FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {k: _scalar(f) for k, f in _SCALAR.items()}
"""Each function name the reader knows (lower case), to its implementation on the arguments."""
FUNCTIONS |= {
    **dict.fromkeys(("mean", "average", "avg"), lambda a: sp.Add(*_values(a)) / len(_values(a))),
    **dict.fromkeys(("variance", "var"), _variance),
    **dict.fromkeys(("stdev", "std", "sd"), lambda a: sp.sqrt(_variance(a))),
    **dict.fromkeys(("sum", "total"), _aggregate("sum")),
    **dict.fromkeys(("product", "prod"), _aggregate("product")),
    **dict.fromkeys(("det", "determinant"), lambda a: _matrix(a).det()),
    **dict.fromkeys(("inverse", "inv"), lambda a: _matrix(a).inv().tolist()),
    **dict.fromkeys(("eigenvalues", "eigenvals"), lambda a: _eigenvalues(_matrix(a))),
    **dict.fromkeys(("length", "len", "count"), lambda a: sp.Integer(len(_values(a)))),
    **dict.fromkeys(("integrate", "integral"), _integral),
    **dict.fromkeys(("diff", "d"), _diff),
    "median": _median,
    "max": lambda a: sp.Max(*_values(a)),
    "min": lambda a: sp.Min(*_values(a)),
    "sort": _sorted,
    "gcd": lambda a: functools.reduce(sp.gcd, _values(a)),
    "lcm": lambda a: functools.reduce(sp.lcm, _values(a)),
    "transpose": lambda a: _matrix(a).T.tolist(),
    "rank": lambda a: sp.Integer(_matrix(a).rank()),
    "trace": lambda a: _matrix(a).trace(),
    "norm": lambda a: _matrix(a).norm(),
    "dot": lambda a: arith(".", *a),
    "cross": lambda a: list(sp.Matrix(a[0]).cross(sp.Matrix(a[1]))),
    "factor": _factor,
    "simplify": lambda a: sp.simplify(as_expr(a[0])),
    "expand": lambda a: expand(a[0]),
    "limit": lambda a: sp.limit(as_expr(a[0]), a[1], a[2]),
}


def _eigenvalues(matrix: Any) -> list[Any]:
    return [v for v, times in matrix.eigenvals().items() for _ in range(times)]


def call(name: str, args: list[Any]) -> Any:
    """The function ``name`` (lower case) applied to ``args``."""
    lo, hi = _ARITY.get(name, (1, 1) if name in _SCALAR else (1, 99))
    if not lo <= len(args) <= hi:
        raise QueryError(f"{name} takes {lo if lo == hi else f'{lo} or {hi}'} argument(s)")
    try:
        return FUNCTIONS[name](args)
    except (IndexError, TypeError) as exc:
        raise QueryError(f"cannot apply {name} to these arguments ({exc})") from None
    except ValueError as exc:  # e.g. a singular matrix: sympy's message is clear
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise QueryError(f"{name}: {reason}") from None
