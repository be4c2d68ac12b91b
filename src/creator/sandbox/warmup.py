"""Warm-up for a sandbox worker: import the heavy modules and exercise them once.

Importing sympy is not enough: its first ``solve`` pulls in lazily imported submodules and
fills caches, which costs ~100 ms per job if every forked child has to redo it. Jobs fork from
the worker and inherit its warm state copy-on-write.

The warm-up goes in steps (:class:`WarmPlan`), so that a worker can take jobs before all of it
is done: the standard library first (milliseconds), then one *unit* at a time (a heavy module
or one of the submodules its exercise uses, see :func:`units`: ~0.1-0.35 s each), then each
module's exercise, then the :func:`rehearse` workload. A job that imports units not yet
warm has them imported first (:meth:`WarmPlan.need`, without their exercise); one that imports
none starts at once. :func:`warm` is the whole plan in one go. :func:`rehearse` is a small
job-like workload (also run by the probe that learns which pages jobs write);
:func:`fresh_process_state` reseeds what forks would otherwise share.

Deliberately left out: anything a job could observe as state (no globals are set in the job
namespace; caches of pure functions only), and importing anything the plan does not name
(a job's other imports are its own). Missing packages are skipped and reported.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import sys
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = [
    "DEFAULT_MODULES",
    "PROBE_ROOT",
    "WARM_ROOT",
    "WarmPlan",
    "fresh_process_state",
    "heavy_units",
    "rehearse",
    "units",
    "warm",
]

DEFAULT_MODULES = (
    *("math", "cmath", "fractions", "decimal", "statistics", "itertools", "functools"),
    *("collections", "operator", "re", "string", "json", "datetime", "random", "heapq"),
    *("bisect", "copy", "numbers", "typing", "dataclasses", "ctypes"),
    *("numpy", "scipy", "sympy", "pandas"),  # numpy first: scipy and pandas import it
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
# Submodules that a module's exercise imports, each a unit of its own: importing all of
# scipy's takes ~0.8 s, and a job that needs only scipy.optimize should not wait for stats.
_SUBMODULES: dict[str, tuple[str, ...]] = {
    "scipy": ("scipy.special", "scipy.optimize", "scipy.integrate", "scipy.stats"),
}


def units(modules: Sequence[str]) -> list[str]:
    """The importable units of a warm-up of ``modules``, in order: each module, followed by
    the submodules its exercise imports."""
    found: list[str] = []
    for name in modules:
        for unit in (name, *_SUBMODULES.get(name, ())):
            if unit not in found:
                found.append(unit)
    return found


def heavy_units(modules: Sequence[str]) -> list[str]:
    """The units of ``modules`` outside the standard library: what a job may wait for."""
    return [u for u in units(modules) if u.split(".")[0] not in sys.stdlib_module_names]


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


class WarmPlan:
    """The warm-up of ``modules`` in steps: the standard library at once (:meth:`light`),
    then one step at a time (:meth:`step`): each heavy unit's import, each module's
    exercise, and last the rehearsal. :meth:`need` imports named units ahead of their turn."""

    def __init__(self, modules: Sequence[str]) -> None:
        self.modules = list(modules)
        self.units = units(self.modules)
        self.failures: list[str] = []
        self._tried: set[str] = set()
        heavy = heavy_units(self.modules)
        steps = [("import", u) for u in heavy]
        steps += [("exercise", m) for m in self.modules if m in _EXERCISES]
        self._steps: deque[tuple[str, str]] = deque([*steps, ("rehearse", "")])
        self._light = [u for u in self.units if u not in heavy]

    @property
    def pending(self) -> bool:
        """Whether steps remain."""
        return bool(self._steps)

    def warm_units(self) -> list[str]:
        """The units imported so far (whoever imported them)."""
        return [u for u in self.units if u in sys.modules]

    def _import(self, unit: str) -> None:
        if unit in self._tried:
            return
        self._tried.add(unit)
        collecting = gc.isenabled()
        gc.disable()  # an import makes many objects and little garbage: 10-20% faster
        try:
            importlib.import_module(unit)
        except Exception as exc:  # a missing optional package must not stop the worker
            self.failures.append(f"{unit}: {type(exc).__name__}: {exc}")
        finally:
            if collecting:
                gc.enable()

    def light(self) -> None:
        """Import the standard-library units (a few milliseconds)."""
        for unit in self._light:
            self._import(unit)

    def need(self, names: Iterable[str]) -> None:
        """Import those of ``names`` that are units of this plan (others are ignored: the
        names come from the host, and only the plan's own are imported here)."""
        for name in names:
            if name in self.units:
                self._import(name)

    def step(self) -> bool:
        """Run the next step; False when none was left."""
        while self._steps:
            kind, name = self._steps.popleft()
            if kind == "import":
                if name in self._tried:
                    continue  # imported ahead of its turn
                self._import(name)
            elif kind == "exercise":
                if name in sys.modules:  # not when its import failed
                    try:
                        _EXERCISES[name]()
                    except Exception as exc:  # an exercise must never cost the worker
                        self.failures.append(f"{name}: {type(exc).__name__}: {exc}")
            else:
                rehearse(stop=lambda: False)  # its caches are then inherited by every job
            return True
        return False


def warm(modules: Sequence[str]) -> list[str]:
    """Import and exercise ``modules`` in one go; return one line per unit that failed."""
    plan = WarmPlan(modules)
    plan.light()
    while plan.step():
        pass
    return plan.failures
