"""Whether two runs differ on the problems they share: an exact McNemar test and a paired
bootstrap interval of the difference in accuracy.

Both work on *paired* outcomes (each problem solved or not by run A and by run B), and both
depend only on the discordant pairs: ``a_only`` problems that A solved and B did not, and
``b_only`` the other way round. Problems both solved or both missed carry no evidence of a
difference (they still count in the accuracies, hence in the bootstrap's scale).

- :func:`mcnemar_exact`: under "no difference" each discordant pair is equally likely to go
  either way, so ``b_only`` is Binomial(a_only + b_only, 1/2); the two-sided p-value is twice
  the smaller tail, capped at 1. Computed with exact integers (``math.comb``), no scipy.
- :func:`paired_bootstrap`: resampling n problems with replacement draws each kind of pair
  (A only, both or neither, B only) a multinomial number of times, so each resample is one
  multinomial draw of three counts instead of n index draws: the same distribution, fast for
  5,000 problems. The interval is the percentile interval of B - A; seeded, so the same
  inputs give the same interval.

Deliberately left out: which records are paired (:mod:`creator.report.compare`), unpaired
tests, and corrections for comparing many runs at once.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_RESAMPLES", "BootstrapInterval", "mcnemar_exact", "paired_bootstrap"]


MAX_RESAMPLES = 1_000_000
"""The most bootstrap resamples (each is three counts: this bounds memory near 24 MB)."""


def _check_counts(a_only: int, b_only: int) -> None:
    if a_only < 0 or b_only < 0:
        raise ValueError(f"discordant counts must be >= 0, got {a_only} and {b_only}")


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """The two-sided exact McNemar p-value for ``a_only`` and ``b_only`` discordant pairs
    (1.0 when there are none: nothing tells the runs apart)."""
    _check_counts(a_only, b_only)
    n = a_only + b_only
    if n == 0:
        return 1.0
    term = tail = 1  # C(n, 0); each next term from the last: C(n, i+1) = C(n, i)(n-i)/(i+1)
    for i in range(min(a_only, b_only)):
        term = term * (n - i) // (i + 1)
        tail += term
    return min(1.0, 2 * tail / (1 << n))  # exact integers, one correctly rounded division


@dataclass(frozen=True, slots=True)
class BootstrapInterval:
    """The percentile interval of B - A over ``resamples`` paired resamples."""

    low: float
    high: float
    level: float
    resamples: int
    seed: int


def paired_bootstrap(
    a_only: int,
    b_only: int,
    n: int,
    *,
    resamples: int = 10_000,
    seed: int = 0,
    level: float = 0.95,
) -> BootstrapInterval:
    """The paired bootstrap interval of accuracy(B) - accuracy(A) over ``n`` shared problems,
    of which A alone solved ``a_only`` and B alone ``b_only`` (see the module docstring)."""
    _check_counts(a_only, b_only)
    if n < 1 or a_only + b_only > n:
        raise ValueError(f"need 1 <= n and a_only + b_only <= n, got n={n}")
    if not 1 <= resamples <= MAX_RESAMPLES:
        raise ValueError(f"resamples must be from 1 to {MAX_RESAMPLES:,}, got {resamples}")
    if seed < 0:
        raise ValueError(f"the seed must be 0 or more, got {seed}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    import numpy  # a core dependency, imported only here: the rest of a report needs none

    same = n - a_only - b_only
    rng = numpy.random.default_rng(seed)
    counts = rng.multinomial(n, [a_only / n, same / n, b_only / n], size=resamples)
    differences = (counts[:, 2] - counts[:, 0]) / n
    low, high = numpy.quantile(differences, [(1 - level) / 2, (1 + level) / 2])
    return BootstrapInterval(
        low=float(low), high=float(high), level=level, resamples=resamples, seed=seed
    )
