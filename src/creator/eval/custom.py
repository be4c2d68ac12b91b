"""An evaluation run on a user's dataset file: loading it as the run's config records it.

:func:`custom_problems` reads the file that ``config.dataset_path`` names with the run's field
mapping and answer kind, records its resolved path and content hash in the config (filled in
when a config made in code leaves them out), and refuses a file whose content is no longer the
hash recorded (it changed between the command reading it and the run starting). Settings that
only apply to a file are refused for a built-in dataset. Left out: reading files
(:mod:`creator.datasets.files`) and the refusal to resume on a changed file, which the
fingerprint does (:mod:`creator.eval.config`).
"""

from __future__ import annotations

from creator.datasets import DATASETS
from creator.datasets.files import DEFAULT_ANSWER_KIND, load_file
from creator.errors import ConfigError, InputError
from creator.eval.config import EvalConfig
from creator.problem import Problem

__all__ = ["custom_problems"]


def custom_problems(config: EvalConfig) -> tuple[EvalConfig, tuple[Problem, ...] | None]:
    """``config`` (with the file's hash filled in) and the file's problems; for a built-in
    dataset, ``config`` as it is and None."""
    if config.dataset_path is None:
        if config.dataset_fields or config.answer_kind is not None or config.dataset_sha256:
            raise ConfigError(
                f"--field and --answer-kind apply to a dataset file; the built-in dataset "
                f"{config.dataset} has its own columns and answer kind"
            )
        return config, None
    if config.dataset in DATASETS:
        raise ConfigError(f"a dataset file cannot take the built-in name {config.dataset!r}")
    loaded = load_file(
        config.dataset_path,
        fields=config.dataset_fields,
        answer_kind=config.answer_kind or DEFAULT_ANSWER_KIND,
        name=config.dataset,
    )
    if config.dataset_sha256 is not None and loaded.sha256 != config.dataset_sha256:
        raise InputError(
            f"{config.dataset_path} changed while the run was starting (sha256 "
            f"{loaded.sha256[:12]}..., expected {config.dataset_sha256[:12]}...): run it again"
        )
    update = {
        "dataset_path": str(loaded.path),
        "dataset_sha256": loaded.sha256,
        "answer_kind": loaded.answer_kind,
    }
    return config.model_copy(update=update), loaded.problems
