"""Where the actors go: how many, how big, on which nodes, from the cluster's nodes and the
``--ray-actors N`` / ``--ray-cpus-per-actor C`` options.

- neither: one actor per node with CPUs, sized to all of that node's CPUs;
- ``C`` alone: as many actors of ``C`` CPUs as fit on each node;
- ``N`` (with ``C``, else the most whole CPUs each for which all ``N`` fit): ``N`` actors, each
  placed on the node with the most CPUs still unclaimed.

A plan that does not fit is a one-line error naming the cluster's nodes, instead of actors that
wait for ever for CPUs nobody has.

Every actor is pinned to its node. Deliberately left out: GPUs, custom resources, and CPUs that
other jobs hold right now (an actor that cannot start in time is the backend's error).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from creator.errors import ClusterError, ConfigError

__all__ = ["Node", "Slot", "nodes_of", "plan"]


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


def plan(nodes: list[Node], *, actors: int | None, cpus: float | None) -> list[Slot]:
    """The actors to start (see the module docstring)."""
    if actors is not None and actors < 1:
        raise ConfigError("--ray-actors must be at least 1")
    if cpus is not None and not (math.isfinite(cpus) and cpus > 0):
        raise ConfigError("--ray-cpus-per-actor must be a number above 0")
    if not nodes:
        raise ClusterError("the Ray cluster has no live node with a CPU to run actors on")
    if actors is None and cpus is None:
        return [Slot(node=n, cpus=n.cpus) for n in nodes]
    if actors is None:
        assert cpus is not None
        filled = [Slot(node=n, cpus=cpus) for n in nodes for _ in range(int(n.cpus // cpus))]
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
    free = {n.id: n.cpus for n in nodes}
    slots = []
    for _ in range(actors):
        node = max(nodes, key=lambda n: free[n.id])
        if free[node.id] < size:
            return None
        free[node.id] -= size
        slots.append(Slot(node=node, cpus=size))
    return slots


def _described(nodes: list[Node]) -> str:
    shown = ", ".join(f"{n.address}: {n.cpus:g} CPUs" for n in nodes[:6])
    return shown + (f" and {len(nodes) - 6} more" if len(nodes) > 6 else "")
