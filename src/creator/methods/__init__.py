"""Methods: how a problem is attacked, composed from the stage functions.

A method is an async function ``(problem, *, model, sandbox, options, on_step) -> Result``.
Methods never know which model or sandbox they talk to.
"""

from creator.methods.base import Method, StepLog
from creator.methods.baselines import solve_cot, solve_pot, solve_standard, solve_whole
from creator.methods.creator import solve_creator

__all__ = ["METHODS", "Method", "StepLog", "solve_creator"]

METHODS: dict[str, Method] = {
    "creator": solve_creator,
    "toolcreate-whole": solve_whole,
    "pot": solve_pot,
    "cot": solve_cot,
    "standard": solve_standard,
}
"""Every method by its command-line name."""
