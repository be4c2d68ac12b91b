"""Where the actors go (pure: no Ray)."""

from __future__ import annotations

import pytest

from creator.cluster.placement import Node, nodes_of, plan
from creator.errors import ClusterError, ConfigError

BIG = Node(id="b", address="10.0.0.2", cpus=8)
SMALL = Node(id="s", address="10.0.0.3", cpus=2)


def test_nodes_are_the_live_ones_with_a_cpu_in_a_stable_order():
    described = [
        {"NodeID": "z", "Alive": True, "NodeManagerAddress": "10.0.0.9", "Resources": {"CPU": 4}},
        {"NodeID": "d", "Alive": False, "NodeManagerAddress": "10.0.0.1", "Resources": {"CPU": 4}},
        {"NodeID": "h", "Alive": True, "NodeManagerAddress": "10.0.0.1", "Resources": {}},
        {"NodeID": "a", "Alive": True, "NodeManagerAddress": "10.0.0.5", "Resources": {"CPU": 2}},
    ]
    assert [n.id for n in nodes_of(described)] == ["a", "z"]  # a head with no CPU is skipped


def test_by_default_one_actor_per_node_with_all_its_cpus():
    slots = plan([BIG, SMALL], actors=None, cpus=None)
    assert [(s.node.id, s.cpus) for s in slots] == [("b", 8), ("s", 2)]


def test_cpus_alone_fill_each_node():
    slots = plan([BIG, SMALL], actors=None, cpus=3)
    assert [(s.node.id, s.cpus) for s in slots] == [("b", 3), ("b", 3)]
    with pytest.raises(ClusterError, match="no node has 16 CPUs"):
        plan([BIG, SMALL], actors=None, cpus=16)


def test_a_count_goes_to_the_node_with_most_cpus_left_and_must_fit():
    slots = plan([BIG, SMALL], actors=3, cpus=2)
    assert [s.node.id for s in slots] == ["b", "b", "b"]
    slots = plan([BIG, SMALL], actors=5, cpus=2)
    assert sorted(s.node.id for s in slots) == ["b", "b", "b", "b", "s"]
    assert {s.cpus for s in plan([BIG, SMALL], actors=2, cpus=None)} == {4}  # 5 + 5 won't fit
    assert len(plan([BIG, SMALL], actors=10, cpus=None)) == 10
    with pytest.raises(ClusterError, match="11 actors of at least 1 CPU"):
        plan([BIG, SMALL], actors=11, cpus=None)
    with pytest.raises(ClusterError, match="6 actors of 2 CPUs do not fit"):
        plan([BIG, SMALL], actors=6, cpus=2)


def test_bad_numbers_and_an_empty_cluster():
    with pytest.raises(ConfigError, match="--ray-actors"):
        plan([BIG], actors=0, cpus=None)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="--ray-cpus-per-actor"):
            plan([BIG], actors=None, cpus=bad)
    with pytest.raises(ClusterError, match="no live node"):
        plan([], actors=None, cpus=None)
