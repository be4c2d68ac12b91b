"""An evaluation run on a user's dataset file: loading it as the run's config records it.

:func:`custom_problems` reads the file that ``config.dataset_path`` names with the run's field
mapping and answer kind, records its resolved path and content hash in the config (filled in
when a config made in code leaves them out), and refuses a file whose content is no longer the
hash recorded (it changed between the command reading it and the run starting). Settings that
only apply to a file are refused for a built-in dataset.

A command that has just read the file (``creator eval``, to report every error in it before
anything starts) passes what it read (``read=``); it is taken instead of reading the file a
second time when it is the file the config names, read the same way, and unchanged by its
status (same inode, size and times, and not changed in the second before it was read;
otherwise the file is read again and its hash compared). Left out:
reading files (:mod:`creator.datasets.files`) and the refusal to resume on a changed file,
which the fingerprint does (:mod:`creator.eval.config`).
"""

from __future__ import annotations

from pathlib import Path

from creator.datasets import DATASETS
from creator.datasets.files import DEFAULT_ANSWER_KIND, DatasetFile, load_file
from creator.errors import ConfigError, InputError
from creator.eval.config import EvalConfig
from creator.problem import Problem

__all__ = ["custom_problems"]


def _reusable(
    config: EvalConfig, read: DatasetFile | None, path: str, answer_kind: str
) -> DatasetFile | None:
    """``read``, if it is the file ``config`` names, read the same way, with the hash
    recorded, and unchanged since; else None."""
    if read is None:
        return None
    same = (
        read.path == Path(path).resolve()
        and read.name == config.dataset
        and dict(read.fields) == dict(config.dataset_fields)
        and read.answer_kind == answer_kind
        and read.sha256 == config.dataset_sha256
    )
    return read if same and read.unchanged() else None


def custom_problems(
    config: EvalConfig, *, read: DatasetFile | None = None
) -> tuple[EvalConfig, tuple[Problem, ...] | None]:
    """``config`` (with the file's hash filled in) and the file's problems; for a built-in
    dataset, ``config`` as it is and None. ``read`` is the file as the caller read it."""
    if config.dataset_path is None:
        if config.dataset_fields or config.answer_kind is not None or config.dataset_sha256:
            raise ConfigError(
                f"--field and --answer-kind apply to a dataset file; the built-in dataset "
                f"{config.dataset} has its own columns and answer kind"
            )
        return config, None
    if config.dataset in DATASETS:
        raise ConfigError(f"a dataset file cannot take the built-in name {config.dataset!r}")
    kind = config.answer_kind or DEFAULT_ANSWER_KIND
    loaded = _reusable(config, read, config.dataset_path, kind) or load_file(
        config.dataset_path, fields=config.dataset_fields, answer_kind=kind, name=config.dataset
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
