"""Evaluations on a Ray cluster: the problems of a run solved by Ray actors, each with its own
model client and sandbox pool, while the driver alone writes the run directory.

:class:`RayBackend` (:mod:`.backend`) is what the runner is given; :mod:`.connect` reaches the
cluster, :mod:`.placement` decides where the actors go, :mod:`.actor` is what runs on them.
Ray is the optional ``ray`` extra: importing this package does not import it; using the
backend does, with an install hint when it is missing.
"""

from creator.cluster.actor import SandboxSpec
from creator.cluster.backend import RayBackend
from creator.cluster.connect import INSTALL_HINT, import_ray

__all__ = ["INSTALL_HINT", "RayBackend", "SandboxSpec", "import_ray"]
