"""Typed exceptions of the creator package.

Every error a user can cause or meet (bad input, an unreachable endpoint, a wrong key, a model
reply without code) is a :class:`CreatorError` whose ``str()`` is one line fit to print as is.
The CLI prints that line and exits non-zero; it never shows a raw traceback for these.
"""

from __future__ import annotations

__all__ = [
    "ClusterError",
    "ConfigError",
    "CreatorError",
    "InputError",
    "ModelAuthError",
    "ModelConnectionError",
    "ModelContextError",
    "ModelError",
    "ModelNotFoundError",
    "ModelRateLimitError",
    "ModelRequestError",
    "ModelResponseError",
    "ModelTimeoutError",
    "OutputError",
    "ReferenceUnavailableError",
    "SandboxError",
]


class CreatorError(Exception):
    """Base class: the message is a single line meant for the user."""


class InputError(CreatorError):
    """The user's input is unusable: an empty question, a missing file, an unknown problem id."""


class ConfigError(CreatorError):
    """The configuration is inconsistent: a missing model name, an invalid setting."""


class OutputError(CreatorError):
    """A file could not be written: a full disk, a read-only place, an ``--out`` that is a file.

    The message names the file and the system's reason (``cannot write report/report.md: No
    space left on device``).
    """


class ModelError(CreatorError):
    """A model call failed for a reason outside the problem itself (network, auth, quota)."""


class ModelConnectionError(ModelError):
    """The endpoint could not be reached."""


class ModelTimeoutError(ModelError):
    """The endpoint did not answer within the timeout."""


class ModelAuthError(ModelError):
    """The endpoint refused the credentials (401/403)."""


class ModelNotFoundError(ModelError):
    """The endpoint does not know the model (404)."""


class ModelRateLimitError(ModelError):
    """Still rate limited (429) after every retry."""


class ModelResponseError(ModelError):
    """The endpoint answered with an error or an unusable response (perhaps not next time)."""


class ModelRequestError(ModelError):
    """The endpoint refused the request itself (400, 422): sending it again cannot help.

    The message carries the server's own words.
    """


class ModelContextError(ModelRequestError):
    """The prompt (plus the tokens asked for) does not fit the model's context.

    ``needed`` and ``available`` are the token counts when the server said them.
    """

    def __init__(self, message: str, *, needed: int | None = None, available: int | None = None):
        super().__init__(message)
        self.needed = needed
        self.available = available


class ReferenceUnavailableError(ModelError):
    """The offline reference replay has no recorded solution for this problem."""


class SandboxError(CreatorError):
    """The sandbox itself failed (not the code it ran)."""


class ClusterError(CreatorError):
    """The Ray cluster an evaluation runs on failed it: no cluster at the address, actors that
    cannot be placed, or no actor left."""
