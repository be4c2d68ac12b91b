import pytest

from creator.answers import (
    any_number_matches,
    extract_answer,
    is_numeric_equivalent,
    numbers_in,
    parse_number,
)


def test_final_answer_marker_wins_and_the_last_one_counts():
    out = "Final Answer: 1\nsome log 99\nFinal Answer:  7.5 \n"
    assert extract_answer(out) == "7.5"


def test_falls_back_to_the_last_number():
    assert extract_answer("area 12 m, cost $1,250.50") == "1,250.50"
    assert extract_answer("nothing here") is None


@pytest.mark.parametrize(
    ("text", "value"),
    [("$1,234.50", 1234.5), ("3/4", 0.75), ("45%", 45.0), ("-2e3", -2000.0), ("inf", float("inf"))],
)
def test_parse_number(text, value):
    assert parse_number(text) == value


def test_numeric_equivalence():
    assert is_numeric_equivalent("5000.004", "5000")
    assert not is_numeric_equivalent("5000.1", "5000")
    assert is_numeric_equivalent("1.8446744073709552e19", "18446744073709551616")
    assert is_numeric_equivalent("Yes", " yes ")
    assert not is_numeric_equivalent("", "")
    assert is_numeric_equivalent("inf", "inf") and not is_numeric_equivalent("inf", "1e308")


def test_paper_rule_accepts_any_printed_number():
    out = "step 1: 12\nstep 2: 5000\nFinal Answer: 7"
    assert any_number_matches(out, "5000")
    assert numbers_in(out) == ["1", "12", "2", "5000", "7"]
