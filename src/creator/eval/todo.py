"""Which of a run's jobs an invocation solves, and when a transfer job can start.

A job is solved again when it has no record or its record is a model failure a retry may fix;
a refused one (the server refused its request) only when the re-check of one of them went
through (:func:`creator.eval.failures.recheck_refused`). A Tool Transfer job needs the tool of
its group's scenario 1 (:mod:`creator.eval.transfer`): it can start once that control record
exists and is not a model failure. Deliberately left out: solving (the runner's).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from creator.eval.records import ProblemRecord
from creator.eval.transfer import Job

__all__ = ["sendable", "to_solve"]


def to_solve(
    jobs: Sequence[Job],
    records: Mapping[str, ProblemRecord],
    *,
    rechecked: Job | None,
    refused: Collection[str],
    again: bool,
) -> list[Job]:
    """The jobs to solve now, in order: all but ``rechecked`` (solved already) that have no
    record or an unfinished one, and the ``refused`` keys too when ``again``."""
    return [
        j
        for j in jobs
        if j is not rechecked
        and (j.key not in records or not records[j.key].finished or (again and j.key in refused))
    ]


def sendable(job: Job, records: Mapping[str, ProblemRecord]) -> bool:
    """Whether ``job`` can be solved now: it needs no tool, or its source has a record that
    is not a model failure."""
    if job.source_key is None:
        return True
    source = records.get(job.source_key)
    return source is not None and source.status != "model_error"
