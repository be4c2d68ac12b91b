"""A run's prompts at its start: their hashes into the config, the user's demonstrations run.

:func:`prepare_prompts` records in the run's config the hash of every prompt file its method
can use on its dataset (so that resuming with a changed prompt is refused, naming the file:
see :mod:`creator.eval.config`) and runs the rows of ``--examples FILE`` in the sandbox, so a
failing demonstration stops the run before any model call. Rendering prompts is the stages'
job; reading them, :mod:`creator.prompts`'.
"""

from __future__ import annotations

from creator.datasets.files import CUSTOM_DATASET
from creator.errors import ConfigError
from creator.eval.config import EvalConfig
from creator.prompts import PromptSet, check_examples
from creator.sandbox.base import Sandbox

__all__ = ["prepare_prompts"]


async def prepare_prompts(
    config: EvalConfig, prompts: PromptSet | None, *, sandbox: Sandbox
) -> tuple[EvalConfig, PromptSet]:
    """``config`` with the hashes of ``prompts`` (default: the built-in ones), and the prompt
    set; raises :class:`~creator.errors.InputError` naming a user demonstration that fails."""
    prompts = prompts if prompts is not None else PromptSet.builtin()
    # The stages pick demonstrations by a problem's metadata dataset: "custom" for a file's.
    dataset = CUSTOM_DATASET if config.dataset_sha256 is not None else config.dataset
    extra = ("creator/no_answer",) if config.rectify_on == "no-answer" else ()
    hashes = prompts.hashes(method=config.method, dataset=dataset, extra=extra)
    if config.prompts is not None and config.prompts != hashes:
        raise ConfigError(
            "the config's prompt hashes are not those of the prompts given to the run: leave "
            "them unset (the run records them)"
        )
    user = prompts.user_examples
    if user is not None:
        if user.method != config.method:
            raise ConfigError(
                f"--examples {user.path} was read for --method {user.method}, not {config.method}"
            )
        await check_examples(user, sandbox=sandbox, limits=config.limits)
    return config.model_copy(update={"prompts": hashes}), prompts
