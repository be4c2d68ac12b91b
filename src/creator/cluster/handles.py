"""The driver's view of each Ray actor, and Ray's errors read as one line.

:class:`ActorState` is what :mod:`creator.cluster.backend` keeps per actor (its load, its rest,
whether it is lost); :func:`not_started`, :func:`task_error` and :func:`reason` turn Ray's
many-line, coloured exceptions into the one-line errors the command line prints. Deliberately
left out: any decision about actors (the backend's).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

from creator.cluster.actor import Snapshot
from creator.cluster.placement import Slot
from creator.errors import ClusterError, CreatorError

__all__ = ["ActorState", "not_started", "reason", "task_error"]


@dataclass
class ActorState:
    """One actor as the driver sees it: its handle and slot, where it runs, its tasks in
    flight, what it solved, whether it is lost, resting or given up."""

    number: int
    slot: Slot
    handle: Any
    where: dict[str, Any] = field(default_factory=dict)
    in_flight: int = 0
    solved: int = 0
    lost: str | None = None
    snapshot: Snapshot = field(default_factory=dict)
    strikes: int = 0
    """Times in a row it did not answer (0: it answers)."""
    resting_until: float = 0.0
    given_up: asyncio.Event = field(default_factory=asyncio.Event)

    def ready(self, now: float) -> bool:
        """Live, not resting, and not on trial with its trial task still out."""
        return (
            self.lost is None
            and self.resting_until <= now
            and (self.strikes == 0 or self.in_flight == 0)
        )

    @property
    def label(self) -> str:
        return f"actor {self.number} ({self.where.get('host') or self.slot.node.address})"


def not_started(actor: ActorState, failure: BaseException, ray: Any) -> ClusterError:
    """Why ``actor`` did not come up, in one line naming its node."""
    where = f"Ray actor {actor.number} on {actor.slot.node.address}"
    if isinstance(failure, ray.exceptions.RayTaskError):
        cause = getattr(failure, "cause", None)
        shown = str(cause) if isinstance(cause, CreatorError) else reason(cause or failure)
        return ClusterError(f"{where} could not start: {shown}")
    return ClusterError(
        f"{where} could not start: {reason(failure)} (every node needs this package, with "
        "its ray extra, in the environment Ray runs from)"
    )


def task_error(error: Any) -> CreatorError:
    """The error an actor's task raised, as the run's own: a CreatorError as it is (one
    line), anything else as a ClusterError naming it."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, CreatorError):
        return cause
    return ClusterError(f"a Ray actor failed: {reason(cause or error)}")


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def reason(error: BaseException) -> str:
    """One line about an error from Ray (whose messages run to many lines, in colours)."""
    lines = [line.strip() for line in _ANSI.sub("", str(error)).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    return f"{type(error).__name__}: {text}"[:200]
