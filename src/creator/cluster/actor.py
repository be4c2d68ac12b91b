"""What runs on each Ray actor: a solver with its own model client and sandbox pool.

:class:`Solver` is a plain class, made a Ray actor by :mod:`creator.cluster.backend`. It
builds its model and its sandbox where it runs, from the picklable recipes the driver gives
(the API key travels inside the model factory, from the driver's memory to the actor's: never
through an environment variable, and never into a sandbox, whose jobs see no environment of
their host). Each task is :func:`creator.eval.work.perform` there; its outcome goes back with
a snapshot of the actor's endpoint counts and request adaptations, so the driver's summary can
add them up even for an actor that dies later.

What fails while an actor is built (a sandbox level this node cannot give, a model option
refused) is kept and raised by :meth:`Solver.ready`, so that the driver sees the error itself,
one line, instead of Ray's report of a dead actor (ANSI colours, process ids, the message cut).

Deliberately left out: choosing tasks, retrying them elsewhere and writing anything (the
driver's); the actor keeps no state between tasks but its model client and sandbox.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from creator.eval.failures import RunStop
from creator.eval.work import Outcome, Task, perform
from creator.methods import CODELESS_METHODS
from creator.models import preflight
from creator.models.base import Model
from creator.models.replicas import endpoint_stats
from creator.sandbox import make_sandbox, start_early
from creator.sandbox.base import Sandbox
from creator.stages.common import StageOptions

__all__ = ["SandboxSpec", "Snapshot", "Solver"]

Snapshot = dict[str, Any]
"""An actor's counts so far: ``endpoints`` (requests per endpoint) and ``adaptations``."""


@dataclass(frozen=True)
class SandboxSpec:
    """The sandbox each actor builds: its level (as ``--sandbox``), the host paths its jobs
    must not see (the run directory, a dataset file: they hold the answers) and its workers."""

    level: str = "auto"
    hide: tuple[str, ...] = ()
    workers: int = 1

    def __post_init__(self) -> None:
        # Made absolute where the spec is made (the driver): an actor's working directory is
        # where its node's Ray was started, where a relative run directory is another path.
        object.__setattr__(self, "hide", tuple(os.path.abspath(path) for path in self.hide))

    def build(self) -> Sandbox:
        built: Sandbox = make_sandbox(self.level, workers=self.workers, hide=self.hide)
        return built


class Solver:
    """A Ray actor's state: the model, the sandbox and the run's stage options."""

    def __init__(
        self,
        *,
        model_factory: Callable[[], Model],
        sandbox: SandboxSpec,
        options: StageOptions,
    ) -> None:
        self._options = options
        self._stop = RunStop()  # a fatal failure here cuts this actor's other calls short
        self._failed: Exception | None = None
        self._model: Model | None = None
        self._sandbox: Sandbox | None = None
        try:
            self._model = model_factory()
            self._sandbox = sandbox.build()
        except Exception as exc:  # raised by ready(): see the module docstring
            self._failed = exc

    def _built(self) -> tuple[Model, Sandbox]:
        if self._failed is not None:
            raise self._failed
        assert self._model is not None and self._sandbox is not None
        return self._model, self._sandbox

    async def ready(self, method: str) -> dict[str, Any]:
        """Start the sandbox's workers (they warm up while the first requests wait) and say
        where this actor runs; what failed while the actor was built is raised here."""
        _, sandbox = self._built()
        if method not in CODELESS_METHODS:
            start_early(sandbox, note=None)
        import ray

        return {
            "node": ray.get_runtime_context().get_node_id(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "isolation": sandbox.isolation,
        }

    async def ping(self) -> None:
        """Nothing: that it answers says that this actor's event loop runs."""

    async def perform(self, task: Task) -> tuple[Outcome, Snapshot]:
        model, sandbox = self._built()
        outcome = await perform(
            task, model=model, sandbox=sandbox, options=self._options, stop=self._stop
        )
        return outcome, self.snapshot()

    def snapshot(self) -> Snapshot:
        model, _ = self._built()
        return {
            "endpoints": endpoint_stats(model) or {},
            "adaptations": preflight.adaptations(model),
        }

    async def close(self) -> None:
        if self._model is not None:
            await self._model.aclose()
        if self._sandbox is not None:
            await self._sandbox.aclose()
