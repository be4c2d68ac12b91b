"""The one definition of a run's tokens, shared by the progress display, ``summary.json`` and
``creator report``.

A run's tokens are the sum, over the *latest record of each problem* (each record key), of the
tokens that record reports: both arms of a Tool Transfer run, model failures included (their
requests were made). A record superseded by a later one of the same key (a model failure
solved again on resume) no longer counts: its line stays in ``results.jsonl``, but no figure
reads it. Before this definition was shared, a Tool Transfer run's progress bar counted both
arms while ``summary.json`` counted the control arm only, and a resumed run's bar left out old
model failures that the summary kept.

When two models shared the work (``--creation-model``: a tool maker and a tool user), the
run's tokens per model (:func:`model_tokens`) are summed the same way from each latest record's
``tokens_by_model``.

Deliberately left out: which records make up a run (the runner and the summary take the
selected problems, the report every record of the file) and prices (:mod:`creator.report.costs`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from creator.eval.records import ProblemRecord, Tokens

__all__ = ["RunTokens", "model_tokens", "models_block", "run_tokens"]


class RunTokens:
    """A run's tokens kept up to date as records arrive: a record replaces the earlier record
    of its key (see the module docstring)."""

    def __init__(self, records: Iterable[ProblemRecord] = ()) -> None:
        self._latest: dict[str, Tokens] = {}
        self._prompt = self._completion = self._total = self._reasoning = 0
        for record in records:
            self.keep(record)

    def keep(self, record: ProblemRecord) -> None:
        """Count ``record`` in place of the earlier record of its key, if any."""
        old = self._latest.get(record.key, Tokens())
        new = record.tokens
        self._latest[record.key] = new
        self._prompt += new.prompt - old.prompt
        self._completion += new.completion - old.completion
        self._total += new.total - old.total
        self._reasoning += new.reasoning - old.reasoning

    @property
    def tokens(self) -> Tokens:
        """The sum so far."""
        return Tokens(
            prompt=self._prompt,
            completion=self._completion,
            total=self._total,
            reasoning=self._reasoning,
        )


def run_tokens(records: Iterable[ProblemRecord]) -> Tokens:
    """The tokens of the run made of ``records`` (the latest of each key counts)."""
    return RunTokens(records).tokens


def model_tokens(records: Iterable[ProblemRecord]) -> dict[str, Tokens]:
    """The run's tokens per model (the latest record of each key counts), in the order the
    models first appear; empty when no record has tokens per model (one model did all)."""
    latest = {record.key: record for record in records}
    totals: dict[str, Tokens] = {}
    for record in latest.values():
        for name, tokens in record.tokens_by_model.items():
            totals[name] = totals.get(name, Tokens()) + tokens
    return totals


def models_block(records: Iterable[ProblemRecord], *, model: str, maker: str) -> dict[str, Any]:
    """``summary.json``'s ``models`` block of a run whose tools ``maker`` made and ``model``
    used: both names, and each one's tokens (the tool maker first; a model with no record yet
    has zero tokens)."""
    found = model_tokens(records)
    tokens = {name: found.get(name, Tokens()).model_dump() for name in (maker, model)}
    return {"model": model, "creation_model": maker, "tokens": tokens}
