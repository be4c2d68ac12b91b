"""Red team of the actors' placement (pure: no Ray): sizes that would start an absurd number of
actors, or that Ray refuses, are one-line errors at once; CPUs are counted exactly."""

from __future__ import annotations

import time

import pytest

from creator.cluster.placement import MIN_CPUS_PER_ACTOR, Node, plan
from creator.errors import ClusterError, ConfigError

TWO = Node(id="a", address="10.0.0.1", cpus=2)
ONE = Node(id="b", address="10.0.0.2", cpus=1)


@pytest.mark.parametrize("cpus", [1e-9, 1e-5, 0.0001, 0.001, 0.2])
def test_an_actor_smaller_than_a_quarter_cpu_is_refused_at_once(cpus: float) -> None:
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"--ray-cpus-per-actor must be at least 0\.25"):
        plan([TWO], actors=None, cpus=cpus)  # 1e-9 used to build a list of 2e9 slots
    with pytest.raises(ConfigError, match=r"at least 0\.25"):
        plan([TWO], actors=10**9, cpus=cpus)
    assert time.monotonic() - started < 1


def test_more_decimals_than_ray_counts_are_refused_not_a_ray_value_error() -> None:
    with pytest.raises(ConfigError, match="more than 4 decimals"):
        plan([TWO], actors=None, cpus=0.50001)


def test_fractional_sizes_are_counted_exactly() -> None:
    assert MIN_CPUS_PER_ACTOR == 0.25
    # In floats 2 // 0.4 is 4.0 and 8 // 0.8 is 9.0: one actor short on each node.
    assert len(plan([TWO], actors=None, cpus=0.4)) == 5
    assert len(plan([Node(id="e", address="10.0.0.8", cpus=8)], actors=None, cpus=0.8)) == 10
    # Subtracting 0.6 five times from 3.0 in floats leaves less than 0.6 for the fifth.
    slots = plan([Node(id="c", address="10.0.0.3", cpus=3)], actors=5, cpus=0.6)
    assert [s.cpus for s in slots] == [0.6] * 5
    assert len(plan([ONE], actors=3, cpus=0.3333)) == 3


def test_a_huge_actor_count_is_refused_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(ClusterError, match="do not fit"):
        plan([TWO, ONE], actors=10**12, cpus=0.25)
    with pytest.raises(ClusterError, match="do not fit"):
        plan([TWO, ONE], actors=10**12, cpus=None)
    assert time.monotonic() - started < 1
