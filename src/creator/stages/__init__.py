"""The four CREATOR stages, one module each, as plain async functions returning Step records.

Each stage takes the problem, what earlier stages produced, and the model or sandbox it needs,
and returns :class:`~creator.trace.Step` records; none keeps state or knows which model or
sandbox it talks to. Composing them into a method is :mod:`creator.methods`' job.
"""

from creator.stages.common import StageOptions, ask, describe_problem
from creator.stages.creation import create_tool
from creator.stages.decision import decide
from creator.stages.execution import execute
from creator.stages.rectification import rectify

__all__ = [
    "StageOptions",
    "ask",
    "create_tool",
    "decide",
    "describe_problem",
    "execute",
    "rectify",
]
