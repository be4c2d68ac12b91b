"""What an evaluation run is: every setting that can change its results, in one record.

The record is written to ``DIR/config.json``; resuming in the same DIR with a different
fingerprint is refused, naming each differing setting by its dotted name and both values
(``settings.temperature: 0.3 in the run, 0.7 now``). Settings that only change how fast a run
goes (concurrency, the response cache), how many problems it covers (``limit``, so a run can be
extended), where tools are kept (the tool library's path, and saving tools, which changes no
result) or where the model is served (``base_url``: the same model behind another host, port or
key gives the same results; the last one used is recorded) are not part of the fingerprint.
Nor are the replicas of the model (``base_urls``: every ``--base-url`` when several were
given, without credentials or query; the first is ``base_url``): a set of replicas is one
model, so a run may resume on more, fewer or other replicas, or on one URL.
Offering library tools (``reuse_tools``, ``reuse_k``, ``offer_unverified``) changes results,
so it is. Running the evaluation is :mod:`creator.eval.runner`'s job.

The generation settings passed through to the server (``top_p``, the model's ``seed``,
``reasoning_effort``, ``extra_body``) are part of ``settings`` and so of the fingerprint; unset
ones are left out of it, so runs made before they existed resume. Extra HTTP headers are
recorded by name only (``header_names``; their values may be keys) and are not part of the
fingerprint. ``seed`` is the seed of ``sample`` (``--sample-seed``), kept under its first name
so that existing fingerprints stay valid.

``tool_service`` is the computation service of the ``tooluse`` method (``sympy`` or
``wolfram``; None for every other method, and then left out of the fingerprint). Its key is
never part of the config.

``prompts`` is ``{file: hash}`` of every prompt file the run's method can use on its dataset
(templates and demonstrations, the user's ``--prompts DIR`` files or the built-in ones, and
``--examples/<name>`` for ``--examples FILE``; see :meth:`creator.prompts.PromptSet.hashes`),
so a resume with a changed prompt is refused naming the file. It is recorded for every run,
built-in prompts included: a package upgrade that edits a prompt the run uses makes the run
unresumable, as its results would change. A run recorded without it (older versions) resumes,
and is recorded with the current prompts from then on.

A run on a user's dataset file (``--dataset PATH``) has ``dataset`` set to the file's name and
records the file (``dataset_path``, resolved; not part of the fingerprint, so a moved file
resumes), the sha256 of its content (``dataset_sha256``: an edited file is a different run),
the ``--field`` mapping (``dataset_fields``) and the ``answer_kind``. For the built-in datasets
these are unset and, like ``tool_service``, left out of the fingerprint (:data:`UNLESS_SET`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from creator.eval.records import VoteRule
from creator.eval.sampling import Sampling
from creator.models.base import GenerationSettings
from creator.prompts import PromptSet
from creator.sandbox.base import Limits
from creator.services.base import ToolService
from creator.stages.common import Hint, RectifyOn, StageOptions

__all__ = ["SAID_AT_DEFAULT", "UNLESS_SET", "UNSET", "EvalConfig"]

Scoring = Literal["strict", "paper"]


class EvalConfig(BaseModel):
    """The settings of one evaluation run."""

    model_config = ConfigDict(frozen=True)

    dataset: str
    method: str = "creator"
    model: str
    base_url: str | None = None
    base_urls: tuple[str, ...] = ()
    """Every endpoint of the model when several replicas were given (``--base-url`` more than
    once; () for one). Not part of the fingerprint."""
    hint: Hint = "none"
    scoring: Scoring = "strict"
    settings: GenerationSettings = GenerationSettings()
    limits: Limits = Limits()
    creation_retries: int = 3
    rectify_rounds: int = 3
    subjects: tuple[str, ...] = ()
    levels: tuple[int, ...] = ()
    ids: tuple[str, ...] = ()
    sample: int | None = None
    seed: int = 0
    """The seed of ``sample`` (``--sample-seed``); the model's seed is ``settings.seed``."""
    limit: int | None = None
    reuse_tools: bool = False
    """Offer the ``reuse_k`` best matching library tools at Creation (``--reuse-tools``)."""
    reuse_k: int = 3
    offer_unverified: bool = False
    """Also offer tools never verified correct."""
    header_names: tuple[str, ...] = ()
    """Names of the extra HTTP headers sent (``--header``); never their values. Not part of
    the fingerprint."""
    tool_service: str | None = None
    """The ``tooluse`` method's computation service (``--tool-service``)."""
    dataset_path: str | None = None
    """A user's dataset file or saved-dataset directory (``--dataset PATH``), resolved; None
    for the built-in datasets. Not part of the fingerprint."""
    dataset_sha256: str | None = None
    """The sha256 of that file's content."""
    dataset_fields: dict[str, str] = {}
    """How that file's columns were mapped (``--field NAME=COLUMN``)."""
    answer_kind: str | None = None
    """How that file's answers are checked (``--answer-kind``); the built-in datasets' kinds
    are fixed."""
    prompts: dict[str, str] | None = None
    """``{prompt file: hash}`` of the prompts the run uses (None: recorded before there were)."""
    samples: int = 1
    """Attempts per problem (``--samples K``); their answers are put to the vote."""
    vote: VoteRule = "majority"
    """How the attempts elect the answer (``--vote``)."""
    vote_early: bool = False
    """Stop sampling once an answer can no longer lose the vote (``--vote-early``)."""
    rectify_on: RectifyOn = "error"
    """What goes back to Rectification: ``error`` (the paper's: execution errors, timeouts and
    replies without code) or ``no-answer`` (also code that ran and printed no answer)."""
    creation_model: str | None = None
    """The model that makes the tools (``--creation-model``); None: ``model`` does."""
    creation_base_url: str | None = None
    """Where ``creation_model`` is served, when not where ``model`` is. Not part of the
    fingerprint."""

    def stage_options(
        self, *, service: ToolService | None = None, prompts: PromptSet | None = None
    ) -> StageOptions:
        return StageOptions(
            settings=self.settings,
            limits=self.limits,
            creation_retries=self.creation_retries,
            rectify_rounds=self.rectify_rounds,
            rectify_on=self.rectify_on,
            hint=self.hint,
            service=service,
            prompts=prompts if prompts is not None else PromptSet.builtin(),
        )

    def sampling(self) -> Sampling | None:
        """The attempts per problem and their vote; None for one attempt."""
        if self.samples == 1:
            return None
        return Sampling(k=self.samples, rule=self.vote, early=self.vote_early)

    def selection(self) -> dict[str, Any]:
        """The filters that choose the run's problems, as :func:`creator.datasets.select`
        takes them."""
        return {
            "subjects": self.subjects,
            "levels": self.levels,
            "ids": self.ids,
            "sample": self.sample,
            "seed": self.seed,
            "limit": self.limit,
        }

    def fingerprint_fields(self) -> dict[str, object]:
        """The settings that define the run (all but ``limit``, ``base_url``, ``base_urls``,
        ``header_names`` and ``dataset_path``; and those of :data:`UNLESS_SET` only when set,
        so that older runs keep their fingerprints)."""
        exclude = {"limit", "base_url", "base_urls", "header_names", "dataset_path"}
        exclude.add("creation_base_url")
        defaults = EvalConfig.model_fields
        exclude.update(
            name for name in UNLESS_SET if getattr(self, name) == defaults[name].get_default()
        )
        if self.prompts is None:
            exclude.add("prompts")
        return self.model_dump(mode="json", exclude=exclude)

    def fingerprint(self) -> str:
        text = json.dumps(self.fingerprint_fields(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def differences(self, other: EvalConfig) -> list[str]:
        """Dotted names of the defining settings in which ``other`` differs from this config
        (``settings.temperature``, ``rectify_rounds``)."""
        return [name for name, _, _ in self.changes(other)]

    def changes(self, other: EvalConfig) -> list[tuple[str, object, object]]:
        """``(dotted name, this config's value, other's value)`` for each defining setting
        that differs, sorted by name; a setting one side does not have is :data:`UNSET`."""
        mine, theirs = self.fingerprint_fields(), other.fingerprint_fields()
        if "prompts" not in mine or "prompts" not in theirs:  # recorded before prompts were
            mine.pop("prompts", None)
            theirs.pop("prompts", None)
        for name in SAID_AT_DEFAULT:  # left out at its default on one side: say the default
            if (name in mine) != (name in theirs):
                side, config = (theirs, other) if name in mine else (mine, self)
                side[name] = config.model_dump(mode="json", include={name})[name]
        mine, theirs = _flatten(mine), _flatten(theirs)
        return [
            (name, mine.get(name, UNSET), theirs.get(name, UNSET))
            for name in sorted(mine.keys() | theirs.keys())
            if mine.get(name, UNSET) != theirs.get(name, UNSET)
        ]


UNLESS_SET = (
    "tool_service",
    "dataset_sha256",
    "dataset_fields",
    "answer_kind",
    "samples",
    "vote",
    "vote_early",
    "rectify_on",
    "creation_model",
)
"""Defining settings that are part of the fingerprint only when not at their defaults: they
came after runs that must keep their fingerprints, and most runs leave them as they are."""
SAID_AT_DEFAULT = ("samples", "vote", "vote_early", "rectify_on")
"""Of :data:`UNLESS_SET`, those whose default is a value to name (``samples: 1``), not unset."""
UNSET = "(unset)"
"""The value :meth:`EvalConfig.changes` gives a setting that one config does not have."""


def _flatten(fields: dict[str, object], prefix: str = "") -> dict[str, object]:
    """Nested settings as one level of dotted names (``{"settings.temperature": 0.3}``); an
    empty mapping stays a value of its own, so that ``{}`` and unset differ."""
    flat: dict[str, object] = {}
    for key, value in fields.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
