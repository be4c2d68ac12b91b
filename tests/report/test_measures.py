"""Counting: accuracy under both rules, by subject, level and rounds, and the transfer pairs."""

from __future__ import annotations

import pytest

from creator.report.measures import (
    Score,
    accuracy_by_rounds,
    by_level,
    by_subject,
    one_time_pass_rate,
    score,
    transfer_scenario,
    transfer_scores,
)
from tests.report.conftest import MATH_RECORDS, TRANSFER_RECORDS, rec


def test_score_counts_both_rules_and_model_errors_as_unsolved() -> None:
    s = score(MATH_RECORDS)
    assert s == Score(n=6, strict=3, paper=4)
    assert s.accuracy == pytest.approx(0.5) and s.accuracy_paper == pytest.approx(4 / 6)
    assert s.differ
    assert score([]).accuracy is None


def test_by_subject_and_level() -> None:
    subjects = by_subject(MATH_RECORDS)
    assert subjects == {
        "algebra": Score(3, 1, 2),
        "geometry": Score(2, 2, 2),
        "number_theory": Score(1, 0, 0),
    }
    levels = by_level(MATH_RECORDS)
    assert list(levels) == [1, 2, 3, 4, 5]
    assert [levels[k].accuracy for k in levels] == [1.0, 0.0, 0.0, None, 0.5]


def test_accuracy_by_rounds_counts_correct_records_within_the_budget() -> None:
    assert accuracy_by_rounds(MATH_RECORDS, 3) == pytest.approx([1 / 6, 2 / 6, 3 / 6, 3 / 6])
    assert accuracy_by_rounds(MATH_RECORDS, 0) == pytest.approx([1 / 6])
    assert one_time_pass_rate(MATH_RECORDS) == pytest.approx(1 / 6)


def test_one_time_pass_is_strict_even_in_a_paper_scored_run() -> None:
    records = [rec("creation/0", strict=False, paper=True, otp=True)]
    assert one_time_pass_rate(records) == 0.0


def test_transfer_scores_compare_the_arms_on_the_same_problems() -> None:
    measured = transfer_scores(TRANSFER_RECORDS)
    assert measured.unpaired == 1 and measured.transfer_records == 4
    control, transfer = measured.scopes["2"]
    assert (control, transfer) == (Score(2, 0, 0), Score(2, 2, 2))
    control, transfer = measured.scopes["3"]
    assert (control.accuracy, transfer.accuracy) == (0.5, 0.5)
    control, transfer = measured.scopes["2+3"]
    assert (control.accuracy, transfer.accuracy) == (0.25, 0.75)


def test_records_without_an_arm_count_as_control() -> None:
    records = [rec("transfer/0/2", strict=True), rec("transfer/0/3", strict=False)]
    measured = transfer_scores(records)
    assert measured.transfer_records == 0 and measured.unpaired == 2
    assert measured.scopes["2+3"] == (Score(0, 0, 0), Score(0, 0, 0))


@pytest.mark.parametrize(
    ("problem_id", "scenario"),
    [("transfer/12/3", 3), ("transfer/0/1", 1), ("creation/3", None), ("transfer/1/x", None)],
)
def test_transfer_scenario(problem_id: str, scenario: int | None) -> None:
    assert transfer_scenario(problem_id) == scenario


def test_rows_without_an_answer_are_neither_right_nor_wrong() -> None:
    """A row of a user's dataset with no answer (target None) is left out of every rate."""
    from creator.report.viewer import category

    unanswered = rec("gsm/3", strict=False, rounds=1).model_copy(update={"target": None})
    records = [rec("gsm/1", strict=True, otp=True), rec("gsm/2", strict=False), unanswered]
    assert score(records) == Score(n=2, strict=1, paper=1)
    assert accuracy_by_rounds(records, 1) == [0.5, 0.5]
    assert one_time_pass_rate(records) == pytest.approx(0.5)
    assert [category(r) for r in records] == ["correct", "wrong", "unscored"]
