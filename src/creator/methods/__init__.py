"""Methods: how a problem is attacked, composed from the stage functions.

A method is an async function ``(problem, *, model, sandbox, options, on_step) -> Result``.
Methods never know which model or sandbox they talk to. Methods that create a separate tool
(only ``creator``) are also in :data:`TOOL_METHODS`, with the form that may reuse library
tools and the form with a given tool; the others write no tool that could be kept or moved.
:func:`check_replay` refuses a method the offline reference replay cannot stand in for
(``tooluse``: nothing is recorded to replay).
"""

from creator.errors import ConfigError
from creator.methods.base import GivenToolMethod, Method, ReusingMethod, StepLog, ToolVariants
from creator.methods.baselines import solve_cot, solve_pot, solve_standard, solve_whole
from creator.methods.creator import solve_creator, solve_with_tool
from creator.methods.tooluse import solve_tooluse
from creator.models.base import Model

__all__ = [
    "CODELESS_METHODS",
    "HINTED_METHODS",
    "METHODS",
    "REPAIRING_METHODS",
    "TOOL_METHODS",
    "GivenToolMethod",
    "Method",
    "ReusingMethod",
    "StepLog",
    "ToolVariants",
    "check_replay",
    "solve_creator",
    "solve_tooluse",
    "solve_with_tool",
]

METHODS: dict[str, Method] = {
    "creator": solve_creator,
    "toolcreate-whole": solve_whole,
    "pot": solve_pot,
    "cot": solve_cot,
    "standard": solve_standard,
    "tooluse": solve_tooluse,
}
"""Every method by its command-line name."""

TOOL_METHODS: dict[str, ToolVariants] = {
    "creator": ToolVariants(reusing=solve_creator, given_tool=solve_with_tool),
}
"""The methods that create a separate tool, by name. ``toolcreate-whole`` is not one: its tool
and the code using it are one program, so there is nothing separate to keep, offer or move."""


CODELESS_METHODS = ("cot", "standard")
"""The methods that run no code: they never need the sandbox."""

REPAIRING_METHODS = ("creator", "toolcreate-whole")
"""The methods whose code goes back to Rectification (``pot`` runs its program once)."""

HINTED_METHODS = ("creator", "toolcreate-whole")
"""The methods whose prompts show a Creation Challenge hint (what the tool to create does)."""


def check_replay(method: str, model: Model) -> None:
    """Refuse ``method`` with the reference replay when it has nothing recorded to replay."""
    if method == "tooluse" and getattr(model, "replay", False):
        raise ConfigError(
            "the reference replay cannot run --method tooluse: the datasets record no queries "
            "or service results to replay; use a real model (--model NAME)"
        )
