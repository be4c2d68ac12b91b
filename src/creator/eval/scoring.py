"""Scoring one result against its problem's answer, by the strict rule and the paper's.

Strict: the recorded answer is equivalent to the target (:func:`creator.answers.is_equivalent`).
Paper: that, or any number in what was scanned matches (the original implementation's lenient
rule): the last execution's output, or a prose method's reply. Model failures are never right.
Left out: reading the answer (the stages do it) and summing scores (:mod:`creator.eval.summary`).
"""

from __future__ import annotations

from creator.answers import any_number_matches, is_equivalent
from creator.trace import Result

__all__ = ["score"]


def _output(result: Result) -> str:
    """What the paper rule scans: the last execution's stdout, or a prose answer's reply."""
    for step in reversed(result.trace):
        if step.execution is not None and step.stage == "execution":
            return step.execution.stdout
        if step.stage == "answer" and step.call is not None:
            return step.call.completion.text
    return ""


def score(result: Result) -> tuple[bool, bool]:
    """(strict, paper) correctness of ``result`` against its problem's answer."""
    target, kind = result.problem.answer, result.problem.answer_kind
    if target is None or result.status == "model_error":
        return False, False
    strict = result.answer is not None and is_equivalent(result.answer, target, kind)
    paper = strict or (
        result.status != "execution_error" and any_number_matches(_output(result), target, kind)
    )
    return strict, paper
