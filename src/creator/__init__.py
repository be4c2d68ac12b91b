"""creator: LLMs that create tools, decide how to use them, execute them and repair them.

An implementation of CREATOR (Qian et al., Findings of EMNLP 2023, arXiv 2305.14318). Start
with :class:`Creator`; models live in :mod:`creator.models`, the sandbox in
:mod:`creator.sandbox`, the records of an attempt in :mod:`creator.trace`.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from creator.errors import CreatorError
from creator.models import ReferenceModel, ScriptedModel
from creator.models.base import Completion, GenerationSettings, Message, Model, Usage
from creator.problem import Problem, Reference
from creator.sandbox.base import CodePart, ExecResult, Limits
from creator.solver import Creator
from creator.stages.common import StageOptions
from creator.trace import ModelCall, Result, Step

if TYPE_CHECKING:
    from creator.models.openai import OpenAIModel

try:
    __version__ = version("creator")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "CodePart",
    "Completion",
    "Creator",
    "CreatorError",
    "ExecResult",
    "GenerationSettings",
    "Limits",
    "Message",
    "Model",
    "ModelCall",
    "OpenAIModel",
    "Problem",
    "Reference",
    "ReferenceModel",
    "Result",
    "ScriptedModel",
    "StageOptions",
    "Step",
    "Usage",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name == "OpenAIModel":  # imported lazily: the openai SDK takes ~0.5 s to import
        from creator.models.openai import OpenAIModel

        return OpenAIModel
    raise AttributeError(f"module 'creator' has no attribute {name!r}")
