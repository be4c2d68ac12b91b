"""Where the actors go: how many, how big, on which nodes, from the cluster's nodes and the
``--ray-actors N`` / ``--ray-cpus-per-actor C`` options.

- neither: one actor per node with CPUs, sized to all of that node's CPUs;
- ``C`` alone: as many actors of ``C`` CPUs as fit on each node;
- ``N`` (with ``C``, else the most whole CPUs each for which all ``N`` fit): ``N`` actors, each
  placed on the node with the most CPUs still unclaimed.

A plan that does not fit is a one-line error naming the cluster's nodes, instead of actors that
wait for ever for CPUs nobody has. An actor has at least :data:`MIN_CPUS_PER_ACTOR` CPUs, given
to Ray's precision (four decimals), and CPUs are counted in those units, not in binary floats
(2 // 0.1 is 19 in floats).

Every actor is pinned to its node. Deliberately left out: GPUs, custom resources, and CPUs that
other jobs hold right now (an actor that cannot start in time is the backend's error).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from creator.errors import ClusterError, ConfigError

__all__ = ["MIN_CPUS_PER_ACTOR", "Node", "Slot", "check", "nodes_of", "plan"]

MIN_CPUS_PER_ACTOR = 0.25
"""The smallest actor. Each one runs at least one sandbox worker, which uses a whole CPU while a
job runs: below a quarter of a CPU each, the workers would outnumber the cores more than four
to one (and a slip such as 0.0001 would start tens of thousands of actors on one machine)."""

_UNITS = 10_000
"""Ray counts CPUs in ten-thousandths; so does the plan (whole numbers: no float drift)."""


@dataclass(frozen=True)
class Node:
    """A live node of the cluster and its CPUs."""

    id: str
    address: str
    cpus: float


@dataclass(frozen=True)
class Slot:
    """One actor to start: its node and its CPUs."""

    node: Node
    cpus: float


def nodes_of(described: Iterable[Mapping[str, Any]]) -> list[Node]:
    """The live nodes with CPUs among those ``ray.nodes()`` describes, in a stable order."""
    found = [
        Node(
            id=str(item["NodeID"]),
            address=str(item.get("NodeManagerAddress", "?")),
            cpus=float(item.get("Resources", {}).get("CPU", 0.0)),
        )
        for item in described
        if item.get("Alive")
    ]
    return sorted((n for n in found if n.cpus >= 1), key=lambda n: (n.address, n.id))


def check(*, actors: int | None, cpus: float | None) -> None:
    """A one-line ConfigError when the options could fit no cluster (before one is started)."""
    if actors is not None and actors < 1:
        raise ConfigError("--ray-actors must be at least 1")
    if cpus is not None and not (math.isfinite(cpus) and cpus > 0):
        raise ConfigError("--ray-cpus-per-actor must be a number above 0")
    if cpus is not None and cpus < MIN_CPUS_PER_ACTOR:
        raise ConfigError(
            f"--ray-cpus-per-actor must be at least {MIN_CPUS_PER_ACTOR:g}: each actor runs a "
            "sandbox worker of its own (for more problems in flight, raise --concurrency)"
        )
    if cpus is not None and abs(cpus * _UNITS - round(cpus * _UNITS)) > 1e-6:
        raise ConfigError(
            f"--ray-cpus-per-actor {cpus!r} has more than 4 decimals (Ray's precision)"
        )


def plan(nodes: list[Node], *, actors: int | None, cpus: float | None) -> list[Slot]:
    """The actors to start (see the module docstring)."""
    check(actors=actors, cpus=cpus)
    if not nodes:
        raise ClusterError("the Ray cluster has no live node with a CPU to run actors on")
    if actors is None and cpus is None:
        return [Slot(node=n, cpus=n.cpus) for n in nodes]
    if actors is None:
        assert cpus is not None
        size = _units(cpus)
        filled = [Slot(node=n, cpus=cpus) for n in nodes for _ in range(_units(n.cpus) // size)]
        if not filled:
            raise ClusterError(f"no node has {cpus:g} CPUs for an actor ({_described(nodes)})")
        return filled
    if cpus is not None:
        slots = _placed(nodes, actors, cpus)
        if slots is None:
            raise ClusterError(
                f"{actors} actors of {cpus:g} CPUs do not fit on the cluster "
                f"({_described(nodes)}): ask for fewer or smaller actors"
            )
        return slots
    size = int(sum(n.cpus for n in nodes) // actors)
    while size >= 1:  # the largest whole number of CPUs for which all of them fit
        slots = _placed(nodes, actors, float(size))
        if slots is not None:
            return slots
        size -= 1
    raise ClusterError(
        f"{actors} actors of at least 1 CPU do not fit on the cluster ({_described(nodes)}): "
        "ask for fewer actors"
    )


def _placed(nodes: list[Node], actors: int, size: float) -> list[Slot] | None:
    """``actors`` slots of ``size`` CPUs, each on the node with most CPUs left; None if they
    do not fit."""
    need = _units(size)
    free = {n.id: _units(n.cpus) for n in nodes}
    if actors * need > sum(free.values()):
        return None  # at once, however many were asked for
    slots = []
    for _ in range(actors):
        node = max(nodes, key=lambda n: free[n.id])
        if free[node.id] < need:
            return None
        free[node.id] -= need
        slots.append(Slot(node=node, cpus=size))
    return slots


def _units(cpus: float) -> int:
    return round(cpus * _UNITS)


def _described(nodes: list[Node]) -> str:
    shown = ", ".join(f"{n.address}: {n.cpus:g} CPUs" for n in nodes[:6])
    return shown + (f" and {len(nodes) - 6} more" if len(nodes) > 6 else "")
