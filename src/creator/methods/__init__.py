"""Methods: how a problem is attacked, composed from the stage functions.

A method is an async function ``(problem, *, model, sandbox, options, on_step) -> Result``.
Methods never know which model or sandbox they talk to.
"""

from creator.methods.base import Method, StepLog
from creator.methods.creator import solve_creator

__all__ = ["METHODS", "Method", "StepLog", "solve_creator"]

METHODS: dict[str, Method] = {"creator": solve_creator}
