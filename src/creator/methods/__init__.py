"""Methods: how a problem is attacked, composed from the stage functions.

A method is an async function ``(problem, *, model, sandbox, options, on_step) -> Result``.
Methods never know which model or sandbox they talk to. Methods that create a separate tool
(only ``creator``) are also in :data:`TOOL_METHODS`, with the form that may reuse library
tools and the form with a given tool; the others write no tool that could be kept or moved.
"""

from creator.methods.base import GivenToolMethod, Method, ReusingMethod, StepLog, ToolVariants
from creator.methods.baselines import solve_cot, solve_pot, solve_standard, solve_whole
from creator.methods.creator import solve_creator, solve_with_tool

__all__ = [
    "METHODS",
    "TOOL_METHODS",
    "GivenToolMethod",
    "Method",
    "ReusingMethod",
    "StepLog",
    "ToolVariants",
    "solve_creator",
    "solve_with_tool",
]

METHODS: dict[str, Method] = {
    "creator": solve_creator,
    "toolcreate-whole": solve_whole,
    "pot": solve_pot,
    "cot": solve_cot,
    "standard": solve_standard,
}
"""Every method by its command-line name."""

TOOL_METHODS: dict[str, ToolVariants] = {
    "creator": ToolVariants(reusing=solve_creator, given_tool=solve_with_tool),
}
"""The methods that create a separate tool, by name. ``toolcreate-whole`` is not one: its tool
and the code using it are one program, so there is nothing separate to keep, offer or move."""
