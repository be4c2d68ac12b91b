"""A run directory's ownership: its ``config.json``, and settings that cannot run together.

:func:`load_config` reads a run's settings; :func:`claim` makes a directory this run's (or
refuses one holding a run with other settings, naming them); :func:`run_lock` keeps a second
run out of a directory while one runs; :func:`check_settings` refuses
combinations that cannot run, before anything is written; :func:`run_service` is the
computation service a ``tooluse`` run uses. Running is :mod:`creator.eval.runner`'s.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from creator.errors import ConfigError, InputError
from creator.eval.config import UNSET, EvalConfig
from creator.eval.records import ResultsFile
from creator.eval.transfer import TRANSFER_DATASET
from creator.files import ensure_dir
from creator.methods import (
    CODELESS_METHODS,
    HINTED_METHODS,
    METHODS,
    REPAIRING_METHODS,
    TOOL_METHODS,
    check_replay,
)
from creator.models.base import Model
from creator.services import ToolService, make_service
from creator.tools.store import ToolLibrary

__all__ = [
    "check_settings",
    "claim",
    "load_config",
    "refuse_other_run",
    "run_lock",
    "run_service",
]

LOCK_NAME = ".lock"


def load_config(out_dir: Path) -> EvalConfig | None:
    path = out_dir / "config.json"
    if not path.exists():
        return None
    try:
        return EvalConfig.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:
        raise InputError(f"{path} is not a creator evaluation config") from None


def refuse_other_run(out_dir: Path, config: EvalConfig) -> None:
    """Refuse ``out_dir`` if it holds a different run (reads only)."""
    previous = load_config(out_dir)
    if previous is None:
        if (out_dir / "results.jsonl").exists():
            raise InputError(f"{out_dir} holds results without a config.json: use another --out")
    elif changes := previous.changes(config):
        changed = "; ".join(
            f"{name}: {_shown(there)} in the run, {_shown(now)} now" for name, there, now in changes
        )
        raise InputError(
            f"{out_dir} holds a run with different settings ({changed}): "
            "use another --out DIR, or the same settings to resume"
        )


def _shown(value: object) -> str:
    """A setting's value as the refusal shows it: JSON, clipped to one short line."""
    text = value if value == UNSET else json.dumps(value, ensure_ascii=False)
    text = " ".join(str(text).split())
    return text if len(text) <= 60 else text[:57] + "..."


@contextmanager
def run_lock(out_dir: Path) -> Iterator[None]:
    """Hold ``out_dir``'s lock for the block: a second run on the same directory (in this
    process or another) is refused with an :class:`InputError` naming the holder. The lock is
    the kernel's (``flock``), so a killed run leaves none behind; the file ``.lock`` stays,
    unless the run wrote nothing else."""
    created = not out_dir.exists()
    ensure_dir(out_dir)  # an OutputError saying why (a file, a read-only place)
    path = out_dir / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise InputError(
            f"cannot use {out_dir} as a run directory: {exc.strerror or exc}"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            who = f" (pid {holder})" if holder.isdecimal() else ""
            raise InputError(
                f"{out_dir} is in use by another creator eval{who}: wait for it to finish, "
                "or use another --out"
            ) from None
        with contextlib.suppress(OSError):  # the pid only informs; a full disk is met later
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            if [p.name for p in out_dir.iterdir()] == [LOCK_NAME]:
                path.unlink()  # a run refused before it wrote anything leaves nothing
                if created:
                    out_dir.rmdir()
        os.close(fd)  # closing releases the lock


def claim(out_dir: Path, config: EvalConfig) -> None:
    """Make ``out_dir`` this run's, or refuse it if it holds a different run."""
    ensure_dir(out_dir)
    refuse_other_run(out_dir, config)
    ResultsFile.dump_json(out_dir / "config.json", config.model_dump(mode="json"))


def check_settings(
    config: EvalConfig, *, model: Model, library: ToolLibrary | None, save: bool
) -> None:
    """Refuse settings that cannot run together, before anything is written."""
    if config.method not in METHODS:
        raise InputError(f"unknown method {config.method!r}: choose from {', '.join(METHODS)}")
    check_replay(config.method, model)
    if config.hint != "none" and config.dataset != "creation":
        raise ConfigError(
            f"--hint applies to the Creation Challenge (--dataset creation), whose problems "
            f"describe their tools; {config.dataset} has no hints"
        )
    if config.hint != "none" and config.method not in HINTED_METHODS:
        raise ConfigError(
            f"--hint describes the tool to create: it applies to {' and '.join(HINTED_METHODS)}, "
            f"whose prompts show it, not to {config.method}"
        )
    _check_sampling(config)
    _check_maker(config, model)
    if not (config.reuse_tools or save):
        return
    flag = "--reuse-tools" if config.reuse_tools else "--save-tools"
    if config.method not in TOOL_METHODS:
        raise ConfigError(
            f"{flag} needs a method that creates a separate tool ({', '.join(TOOL_METHODS)}); "
            f"{config.method} does not"
        )
    if getattr(model, "replay", False):
        raise ConfigError(
            f"{flag} needs a real model: the reference replay creates no tools (it replays "
            "the dataset's recorded ones) and cannot choose among library tools"
        )
    if config.reuse_tools and config.dataset == TRANSFER_DATASET:
        raise ConfigError(
            "--reuse-tools cannot run on the transfer dataset: its control arm must solve each "
            "scenario without the tools of the others"
        )
    if config.reuse_k < 1:
        raise ConfigError("--reuse-k must be at least 1")
    if library is None:
        raise ConfigError(f"{flag} needs a tool library")


def run_service(config: EvalConfig, given: ToolService | None) -> ToolService | None:
    """The computation service of a ``tooluse`` run (None for the other methods)."""
    if config.method != "tooluse":
        if given is not None or config.tool_service is not None:
            raise ConfigError(f"a tool service applies to --method tooluse, not {config.method}")
        return None
    name = config.tool_service or "sympy"
    service = given if given is not None else make_service(name)
    if service.name != name:
        raise ConfigError(f"the run's tool service is {name}, not {service.name}")
    return service


MAX_SAMPLES = 100
"""The most attempts per problem a run may ask for."""


def _check_sampling(config: EvalConfig) -> None:
    """Refuse sampling, voting and rectification settings that cannot apply."""
    if not 1 <= config.samples <= MAX_SAMPLES:
        raise ConfigError(f"--samples must be from 1 to {MAX_SAMPLES}")
    if config.samples == 1 and (config.vote != "majority" or config.vote_early):
        flag = "--vote-early" if config.vote_early else "--vote"
        raise ConfigError(f"{flag} applies to several attempts: add --samples K (K > 1)")
    if config.vote == "execution" and config.method in CODELESS_METHODS:
        raise ConfigError(
            f"--vote execution counts answers of code that ran cleanly; {config.method} runs "
            "no code: use --vote majority"
        )
    if config.rectify_on != "error" and config.method not in REPAIRING_METHODS:
        raise ConfigError(
            f"--rectify-on {config.rectify_on} applies to the methods that repair their code "
            f"({', '.join(REPAIRING_METHODS)}), not to {config.method}"
        )


def _check_maker(config: EvalConfig, model: Model) -> None:
    """Refuse a config whose ``creation_model`` is not the model that answers Creation (a
    :class:`~creator.models.routed.StageRouter`'s): the records would credit the wrong one."""
    routes = getattr(model, "by_stage", None) or {}
    maker = routes.get("creation")
    named = maker.name if maker is not None else None
    if named != config.creation_model:
        raise ConfigError(
            f"the run's creation model is {config.creation_model or 'none'} but Creation is "
            f"answered by {named or model.name}: build the model with the same creation model"
        )
