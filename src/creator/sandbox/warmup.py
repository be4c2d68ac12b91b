"""Warm-up for a sandbox worker: import the heavy modules and exercise them once.

Importing sympy is not enough: its first ``solve`` pulls in lazily imported submodules and
fills caches, which costs ~100 ms per job if every forked child has to redo it. The worker
calls :func:`warm` once before it starts forking, so jobs inherit the warm state copy-on-write.
:func:`rehearse` is a small job-like workload (also run by the probe that learns which pages
jobs write); :func:`fresh_process_state` reseeds what forks would otherwise share.

Deliberately left out: anything a job could observe as state (no globals are set in the job
namespace; caches of pure functions only). Missing packages are skipped and reported.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["DEFAULT_MODULES", "PROBE_ROOT", "WARM_ROOT", "fresh_process_state", "rehearse", "warm"]

DEFAULT_MODULES = (
    *("math", "cmath", "fractions", "decimal", "statistics", "itertools", "functools"),
    *("collections", "operator", "re", "string", "json", "datetime", "random", "heapq"),
    *("bisect", "copy", "numbers", "typing", "dataclasses", "ctypes"),
    *("numpy", "sympy", "scipy", "pandas"),
)


def _numpy() -> None:
    np: Any = importlib.import_module("numpy")

    a = np.arange(12.0).reshape(3, 4)
    _ = (a @ a.T).sum(), a.mean(axis=0), np.sqrt(a).max(), np.linalg.solve(np.eye(3), np.ones(3))
    _ = np.random.default_rng(0).random(4), np.linspace(0, 1, 5), np.polyfit([0, 1], [1, 3], 1)
    _ = np.array([1, 2, 3]).astype(float).tolist(), np.round(np.pi, 3), np.cumsum([1, 2, 3])


def _sympy() -> None:
    sp: Any = importlib.import_module("sympy")

    x, y = sp.symbols("x y")
    _ = sp.solve(x**2 - 2, x), sp.solve([x + y - 3, x - y - 1], [x, y])
    _ = sp.simplify(sp.sin(x) ** 2 + sp.cos(x) ** 2), sp.expand((x + 1) ** 3), sp.factor(x**2 - 1)
    _ = sp.integrate(x**2, (x, 0, 1)), sp.diff(sp.exp(x) * x, x), sp.limit(sp.sin(x) / x, x, 0)
    _ = sp.Rational(1, 3) + 1, sp.N(sp.pi, 10), sp.factorint(360), sp.isprime(97), sp.gcd(12, 18)
    _ = sp.Matrix([[1, 2], [3, 4]]).det(), sp.sympify("x + 1"), sp.latex(x / 2), sp.nsimplify(0.5)
    _ = sp.Eq(x, 1), sp.solveset(x**2 - 4, x, domain=sp.S.Reals), sp.binomial(5, 2)
    _ = sp.summation(x, (x, 1, 10)), sp.series(sp.exp(x), x, 0, 3), sp.sqrt(8), sp.floor(2.5)


def _scipy() -> None:
    optimize: Any = importlib.import_module("scipy.optimize")
    integrate: Any = importlib.import_module("scipy.integrate")
    stats: Any = importlib.import_module("scipy.stats")
    special: Any = importlib.import_module("scipy.special")
    _ = optimize.brentq(lambda t: t - 1, 0, 2), integrate.quad(lambda t: t, 0, 1)
    _ = stats.norm.cdf(0.0), special.comb(5, 2), optimize.minimize_scalar(abs)


def _pandas() -> None:
    pd: Any = importlib.import_module("pandas")

    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    _ = frame.describe(), frame["a"].sum(), frame[frame["a"] > 1], frame.groupby("b").sum()
    _ = pd.to_numeric(pd.Series(["1", "2"])), frame.to_string(), pd.Series([1.5]).mean()


_EXERCISES: dict[str, Callable[[], None]] = {
    "numpy": _numpy,
    "sympy": _sympy,
    "scipy": _scipy,
    "pandas": _pandas,
}


_REHEARSAL = (  # short steps, most useful first: a job waits for at most one of them
    "def _f(v):\n    return sum(x * x for x in v) / len(v)\n"
    "_ = _f([1.5, 2.5]), math.sqrt(2.0), f'{3.14159:.2f}', str([1, 2]), repr({'a': 1})\n",
    "_ = compile('x = 1\\nprint(x)\\n', 'decision', 'exec')\n",
    "_x = sympy.Symbol('x')\n_e = _x**2 - (_r + 1)*_x + _r\n",
    "_ = sympy.Poly(_e, _x).all_coeffs()\n",
    "_ = sympy.roots(_e, _x)\n",
    "_ = sympy.solve(_e, _x)\n",
    "_ = sympy.Rational(1, _r + 1) + sympy.sqrt(_r), sympy.N(sympy.pi, _r + 3)\n",
    "_a = numpy.arange(100.0)\n"
    "_ = float(numpy.sqrt(_a).sum()), numpy.array([[1.0, 2.0], [3.0, 4.0]]) @ numpy.ones(2)\n",
    "_ = pandas.DataFrame({'a': [1, 2]})['a'].sum()\n",
    "_ = sympy.simplify((_x**2 - _r**2) / (_x - _r))\n",
)


WARM_ROOT = 2
PROBE_ROOT = 7


def rehearse(*, stop: Callable[[], bool], root: int = WARM_ROOT) -> None:
    """Run a small job-like workload, step by step until ``stop()`` says to stop.

    Run once at the end of :func:`warm` (its caches are inherited by every job) and once in
    a probe child, to learn which pages a typical job writes after fork (see
    :func:`creator.sandbox.system.written_pages`). ``root`` is the constant in its
    equations: the probe passes another one than the warm-up, so that its computations miss
    sympy's caches as a job's new ones do (a cached rehearsal left ~40% of a sympy job's
    page faults unlearnt).
    """
    import sys

    namespace: dict[str, object] = {"math": importlib.import_module("math"), "_r": root}
    for step in _REHEARSAL:
        if stop():
            return
        missing = [n for n in ("numpy", "sympy", "pandas") if n in step and n not in sys.modules]
        if missing:
            continue
        namespace.update({n: sys.modules[n] for n in ("numpy", "sympy", "pandas") if n in step})
        try:
            exec(compile(step, "<rehearsal>", "exec"), namespace)  # our own fixed code
        except Exception:  # a rehearsal must never cost a job
            return


def fresh_process_state() -> None:
    """Reseed what a fork would otherwise share with its siblings (numpy's global RNG)."""
    import sys

    numpy: Any = sys.modules.get("numpy")
    if numpy is not None:
        with contextlib.suppress(Exception):
            numpy.random.seed()


def warm(modules: Sequence[str]) -> list[str]:
    """Import and exercise ``modules``; return one line per module that failed."""
    failures: list[str] = []
    for name in modules:
        try:
            importlib.import_module(name)
            exercise = _EXERCISES.get(name)
            if exercise is not None:
                exercise()
        except Exception as exc:  # a missing optional package must not stop the worker
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
    rehearse(stop=lambda: False)  # its caches are then inherited by every job
    return failures
