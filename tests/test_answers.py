import random
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from creator.answers import (
    KINDS,
    CheckerUnavailable,
    MathChecker,
    ProseAnswer,
    any_number_matches,
    checker_stats,
    extract_answer,
    extract_prose_answer,
    is_equivalent,
    is_numeric_equivalent,
    numbers_in,
    parse_number,
    score_output,
)
from creator.answers import checker as checker_module
from creator.answers.latex import _outer, is_math_equivalent, math_values, normalise
from creator.answers.matrix import Grid, read_matrix, read_vector
from creator.answers.numeric import parse_fraction
from creator.answers.pyexpr import python_to_latex

# --- extraction -----------------------------------------------------------------------------


def test_final_answer_marker_wins_and_the_last_one_counts() -> None:
    out = "Final Answer: 1\nsome log 99\nFinal Answer:  7.5 \n"
    assert extract_answer(out) == "7.5"
    assert extract_answer("FINAL ANSWER\uff1a\n42\n") == "42"  # full-width colon, next line
    assert extract_answer("Final Answer:   \n") is None


def test_an_answer_printed_over_several_lines_is_read_whole() -> None:
    numpy_column = "[[ 2]\n [-1]\n [ 5]]"  # print(np.array([[2], [-1], [5]]))
    assert extract_answer(f"Final Answer: {numpy_column}\ndone\n") == numpy_column
    assert extract_answer("Final Answer: [0, 1)\nnext") == "[0, 1)"
    assert extract_answer("Final Answer: (never closed\nnext\n") == "(never closed"
    latex = "\\begin{pmatrix}\n1 \\\\ 2\n\\end{pmatrix}"
    assert extract_answer(f"Final Answer: {latex}\nafter") == latex


def test_falls_back_to_the_last_number() -> None:
    assert extract_answer("area 12 m, cost $1,250.50") == "1,250.50"
    assert extract_answer("x2 = 3e8 and -0.5.") == "-0.5"
    assert extract_answer("nothing here") is None


# --- prose replies (cot, standard) ------------------------------------------------------------

PROSE = [
    # (reply, the answer read whole, the rule that found it, target, kind)
    ("**Final Answer:** $\\boxed{5}$", "5", "final_answer", "5", "math"),
    ("**Final Answer**: 42", "42", "final_answer", "42", "numeric"),
    ("The answer is approx. 4.5.", "4.5", "answer_phrase", "4.5", "numeric"),  # not a full stop
    (
        "Final Answer: The final answer is $\\boxed{5}$. I hope it is correct.",
        "5",
        "final_answer",
        "5",
        "math",
    ),
    (
        "Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.",
        "\\frac{3}{4}",
        "final_answer",
        "\\frac34",
        "math",
    ),
    ("Final Answer: 12 apples. Hope this helps!", "12 apples", "final_answer", "12", "numeric"),
    ("Final Answer: `42`", "42", "final_answer", "42", "numeric"),
    ("Final Answer: approximately 3.14", "3.14", "final_answer", "3.14", "numeric"),
    ("Final Answer: $12.50", "$12.50", "final_answer", "12.5", "numeric"),  # a currency sign
    (
        "Final Answer: \\left( \\frac{47}{13}, -\\frac{14}{13} \\right)",
        "\\left( \\frac{47}{13}, -\\frac{14}{13} \\right)",
        "final_answer",
        "\\left(\\frac{47}{13},-\\frac{14}{13}\\right)",
        "math",
    ),
    ("So 2 + 3 = 5.\nFinal Answer:\n$$\n\\boxed{5}\n$$\n", "5", "final_answer", "5", "math"),
    ("Step 1: 7 apples.\nFinal Answer: 5\nFinal Answer:", "5", "final_answer", "5", "numeric"),
    (
        "We get 3 + 4 = 7, then 1/2.\n### Final Answer\n\\[\n\\boxed{\\frac{1}{2}}\n\\]",
        "\\frac{1}{2}",
        "boxed",
        "0.5",
        "math",
    ),
    ("first \\boxed{3}, then \\boxed{\\sqrt{2}} and \\boxed{7", "\\sqrt{2}", "boxed", "", ""),
    ("Therefore, the answer is 12 apples.", "12 apples", "answer_phrase", "12", "numeric"),
    ("Solving gives x = 3, so the answer is: $x = 3$", "x = 3", "answer_phrase", "3", "math"),
    ("The answer is $1-a$.", "1-a", "answer_phrase", "1 - a", "math"),
    ("So the answer is 3.14. Done in 2 steps.", "3.14", "answer_phrase", "3.14", "numeric"),
    (
        "It costs 2 x 6.25, so the answer is $12.50. Ok",
        "$12.50",
        "answer_phrase",
        "12.5",
        "numeric",
    ),
    ("Answer: (B)", "(B)", "answer_phrase", "B", "math"),
    ("The answer is \\text{Mr. Smith}.", "\\text{Mr. Smith}", "answer_phrase", "", ""),
]


@pytest.mark.parametrize(("reply", "answer", "source", "target", "kind"), PROSE)
def test_a_prose_answer_is_read_whole(
    reply: str, answer: str, source: str, target: str, kind: str
) -> None:
    found = extract_prose_answer(reply)
    assert found == ProseAnswer(answer, source)  # type: ignore[arg-type]
    if kind:
        assert is_equivalent(found.text, target, kind)


def test_prose_never_falls_back_to_the_last_number() -> None:
    assert extract_answer("The answer is $1-a$.") == "1"  # the program-output rule, unchanged
    assert not is_equivalent("1", "1-a", "math")
    assert extract_prose_answer("It costs 5 dollars and 7 cents.") is None
    assert extract_prose_answer("The total is 12.") is None
    assert extract_prose_answer("Final Answer:\n$$\n12\n") is None  # an unclosed display


def test_a_cut_off_reply_counts_only_a_complete_final_answer_line() -> None:
    complete = "3 + 4 = 7\nFinal Answer: 7\nLet me double-check: 3 + 4 = 8"
    assert extract_prose_answer(complete, cut_off=True) == ProseAnswer("7", "final_answer")
    assert extract_prose_answer("3 + 4 = 7\nFinal Answer: 7", cut_off=True) is None
    assert extract_prose_answer("3 + 4 = 7\nFinal Answer: 7") == ProseAnswer("7", "final_answer")
    assert extract_prose_answer("Final Answer: [1, 2\n", cut_off=True) is None  # still open
    assert extract_prose_answer("Final Answer: [1, 2]\n", cut_off=True) == ProseAnswer(
        "[1, 2]", "final_answer"
    )
    boxed_then_cut = "So the answer is 5.\n\\boxed{5}\nBut wait, 5 is"
    assert extract_prose_answer(boxed_then_cut) == ProseAnswer("5", "boxed")
    assert extract_prose_answer(boxed_then_cut, cut_off=True) is None  # only the marker counts
    assert extract_prose_answer("The result is 12", cut_off=True) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("$1,234.50", 1234.5),
        ("\\$18.90", 18.9),
        ("3/4", 0.75),
        ("-3/4", -0.75),
        ("1 3/4", 1.75),
        ("\\frac{3}{4}", 0.75),
        ("45%", 45.0),
        ("-2e3", -2000.0),
        ("inf", float("inf")),
        ("12 apples", 12.0),
        ("5 cm^2", 5.0),
        ("x = 5", 5.0),
        ('"7".', 7.0),
    ],
)
def test_parse_number(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "abc", "2 or 3", "1/0", "1,00", "nan"])
def test_parse_number_rejects(text: str) -> None:
    assert parse_number(text) is None


def test_numeric_equivalence() -> None:
    assert is_numeric_equivalent("5000.004", "5000")
    assert not is_numeric_equivalent("5000.1", "5000")
    assert is_numeric_equivalent("1.8446744073709552e19", "18446744073709551616")
    assert is_numeric_equivalent("Yes", " yes ")
    assert not is_numeric_equivalent("", "")
    assert is_numeric_equivalent("inf", "inf") and not is_numeric_equivalent("inf", "1e308")
    assert not is_numeric_equivalent("5 apples", "apples")


def test_paper_rule_accepts_any_printed_number() -> None:
    out = "step 1: 12\nstep 2: 5000\nFinal Answer: 7"
    assert any_number_matches(out, "5000")
    assert numbers_in(out) == ["1", "12", "2", "5000", "7"]


# --- the equivalence table ------------------------------------------------------------------

M22 = r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}"
V3 = r"\begin{pmatrix} 2 \\ -1 \\ 5 \end{pmatrix}"

TABLE = [
    # fractions
    ("0.5", r"\frac{1}{2}", "math", True),
    ("1/2", r"\frac{1}{2}", "math", True),
    ("0.5", r"\dfrac12", "math", True),
    (r"\frac{2}{4}", r"\tfrac{1}{2}", "math", True),
    ("0.49999999999999994", r"\frac12", "math", True),
    ("Rational(1, 3)", r"\frac{1}{3}", "math", True),
    ("0.3333333333333333", r"\frac13", "math", True),
    ("0.3333", r"\frac13", "math", False),  # decimals must agree to six places
    ("0.3", r"\frac{1}{3}", "math", False),
    # roots and pi
    (r"\sqrt{12}", r"2\sqrt{3}", "math", True),
    ("2*sqrt(3)", r"2\sqrt{3}", "math", True),
    ("sqrt(2)/2", r"\frac{1}{\sqrt{2}}", "math", True),
    (r"\frac{\sqrt3}{2}", r"\frac{\sqrt{3}}{2}", "math", True),
    ("6.283185307", r"2\pi", "math", True),
    ("6.28", r"2\pi", "math", False),
    ("pi/2", r"\frac{\pi}{2}", "math", True),
    # intervals, tuples, sets, matrices
    (r"(-\infty,3]", r"(-\infty, 3]", "math", True),
    ("Interval(-oo, 3)", r"(-\infty, 3]", "math", True),
    (r"(-\infty, 3)", r"(-\infty, 3]", "math", False),
    (
        "Union(Interval.open(-oo, -4), Interval.open(-4, oo))",
        r"(-\infty, -4) \cup (-4, \infty)",
        "math",
        True,
    ),
    ("(1, 2)", "(1,2)", "math", True),
    ("(2,1)", "(1,2)", "math", False),
    ("(3/2, -13)", r"\left( \frac{3}{2}, -13 \right)", "math", True),
    (r"\{2,1\}", r"\{1,2\}", "math", True),
    ("[2, 1]", "1, 2", "math", True),  # a printed list of solutions is a set
    ("[-1 + sqrt(2), -1 - sqrt(2)]", r"-1\pm\sqrt{2}", "math", True),
    (
        "Matrix([[1], [-2], [-1]])",
        r"\begin{pmatrix} 1 \\ -2 \\ -1 \end{pmatrix}",
        "math",
        True,
    ),
    (
        r"\begin{pmatrix}1&2\\3&5\end{pmatrix}",
        r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}",
        "math",
        False,
    ),
    # matrices and vectors (see creator.answers.matrix)
    (r"\left[\begin{matrix}1 & 2\\3 & 4\end{matrix}\right]", M22, "math", True),  # sympy.latex
    (r"\begin{pmatrix}1 & 2\\3 & 4\end{pmatrix}", M22, "math", True),
    (r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}", M22, "math", True),
    (r"\left(\begin{array}{cc} 1 & 2 \\ \hline 3 & 4 \end{array}\right)", M22, "math", True),
    ("Matrix([[1, 2], [3, 4]])", M22, "math", True),
    ("[[1 2]\n [3 4]]", M22, "math", True),  # numpy's print
    ("array([[1., 2.],\n       [3., 4.]])", M22, "math", True),
    (r"\begin{pmatrix} 1 & 3 \\ 2 & 4 \end{pmatrix}", M22, "math", False),  # transposed
    (r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \\ 5 & 6 \end{pmatrix}", M22, "math", False),  # shape
    ("[1, 2, 3, 4]", M22, "math", False),  # a flat list is not a 2x2 matrix
    (r"\begin{vmatrix} 1 & 2 \\ 3 & 4 \end{vmatrix}", M22, "math", False),  # a determinant
    (
        r"\begin{pmatrix}\frac{-1}{3} \\ \dfrac23\end{pmatrix}",
        r"\begin{pmatrix} -1/3 \\ 2/3 \end{pmatrix}",
        "math",
        True,
    ),
    (
        r"\begin{pmatrix} -0.333333 \\ 0.666667 \end{pmatrix}",
        r"\begin{pmatrix} -1/3 \\ 2/3 \end{pmatrix}",
        "math",
        True,
    ),
    (
        r"\begin{pmatrix} -0.33 \\ 0.67 \end{pmatrix}",
        r"\begin{pmatrix} -1/3 \\ 2/3 \end{pmatrix}",
        "math",
        False,
    ),
    (r"\left[\begin{matrix}2\\-1\\5\end{matrix}\right]", V3, "math", True),
    ("Matrix([[2], [-1], [5]])", V3, "math", True),
    ("Matrix([2, -1, 5])", V3, "math", True),  # sympy's flat Matrix is a column
    ("[2, -1, 5]", V3, "math", True),  # a flat list is a column (or a row) vector
    ("(2, -1, 5)", V3, "math", True),
    (r"\langle 2, -1, 5 \rangle", V3, "math", True),
    ("[ 2 -1  5]", V3, "math", True),  # numpy's print
    ("array([ 2., -1.,  5.])", V3, "math", True),
    (r"\mathbf{v} = \begin{pmatrix} 2 \\ -1 \\ 5 \end{pmatrix}", V3, "math", True),
    ("[2, -1, 6]", V3, "math", False),  # one entry wrong
    ("[5, -1, 2]", V3, "math", False),  # order matters
    ("[2, -1]", V3, "math", False),
    ("2, -1, 5", V3, "math", False),  # bare: a set of solutions, not a vector
    ("Matrix([[2, -1, 5]])", V3, "math", False),  # a row is not the column
    (r"\begin{pmatrix} 2 & -1 & 5 \end{pmatrix}", V3, "math", False),
    (r"\begin{pmatrix} 2 \\ -1 \end{pmatrix}", "(2, -1)", "math", False),  # target not a matrix
    ("5", r"\begin{pmatrix} 5 \end{pmatrix}", "math", False),  # a 1x1 matrix is not a number
    (
        "[0.70710678 0.70710678]",
        r"\begin{pmatrix} 1/\sqrt{2} \\ 1/\sqrt{2} \end{pmatrix}",
        "math",
        True,
    ),
    (
        "Matrix([[cos(x), -sin(x)], [sin(x), cos(x)]])",
        r"\begin{pmatrix} \cos x & -\sin x \\ \sin x & \cos x \end{pmatrix}",
        "math",
        True,
    ),
    (
        "Matrix([[cos(x), sin(x)], [sin(x), cos(x)]])",
        r"\begin{pmatrix} \cos x & -\sin x \\ \sin x & \cos x \end{pmatrix}",
        "math",
        False,
    ),
    # percentages
    ("10", r"10\%", "math", True),
    ("0.1", r"10\%", "math", True),
    ("0.01", r"10\%", "math", False),
    ("0.25", "25", "math", False),
    # multiple choice, text
    ("B", r"\text{(B)}", "math", True),
    ("(b)", r"\text{(B)}", "math", True),
    ("C", r"\text{(B)}", "math", False),
    ("monday", r"\text{Monday}", "math", True),
    ("Odd.", r"\text{odd}", "math", True),
    ("even", r"\text{odd}", "math", False),
    ("dod", "odd", "math", False),  # math-verify would read both as the product d*d*o
    ("D, A", r"\text{A,D}", "math", True),
    ("12, 13", r"12\text{ and }13", "math", True),
    # units, dollars, degrees, assignments
    ("5", r"5\text{ cm}", "math", True),
    ("68/3", r"\frac{68}{3}\text{ pounds}", "math", True),
    ("144", r"144 \mbox{ m}^3", "math", True),
    ("18.9", r"\$18.90", "math", True),
    ("30", r"30^\circ", "math", True),
    ("3", "x=3", "math", True),
    ("x = 3", "3", "math", True),
    ("4", "x=3", "math", False),
    ("2x", "2", "math", False),  # a trailing letter is not a unit in MATH
    ("2x+1", "y = 2x+1", "math", True),
    ("y = 2*x + 1", "y = 2x+1", "math", True),
    ("x**2 - 7*x + 12", "x^2 - 7x + 12", "math", True),
    ("x**2 - 7*x + 13", "x^2 - 7x + 12", "math", False),
    # negatives, separators, big numbers, complex, presentation
    ("- 5", "-5", "math", True),
    ("5", "-5", "math", False),
    ("1000", "1,000", "math", True),
    ("50625", r"50,\!625", "math", True),
    ("15000", r"\$15,\!000", "math", True),
    ("18446744073709551616", "2^{64}", "math", True),
    ("1.8446744073709552e+19", "2^{64}", "math", True),
    ("1000000", "1000001", "math", False),
    ("1e-05", "10^{-5}", "math", True),
    ("-128 - 128*sqrt(3)*I", r"-128 - 128 \sqrt{3} i", "math", True),
    (r"\boxed{\frac{1}{2}}", r"\frac12", "math", True),
    (r"$\frac{1}{2}$.", "0.5", "math", True),
    ("", "0", "math", False),
    # numeric kind
    ("3/4", "0.75", "numeric", True),
    ("0.755", "0.75", "numeric", True),  # the paper's absolute 1e-2
    ("0.77", "0.75", "numeric", False),
    ("1,000", "1000", "numeric", True),
    ("$1,250.50", "1250.5", "numeric", True),
    ("12 apples", "12", "numeric", True),
    ("-7", "7", "numeric", False),
    ("18446744073709551616", "1.8446744073709552e19", "numeric", True),
    ("1000000", "1000001", "numeric", True),  # relative 1e-6 for large magnitudes
    ("1000000", "1000002", "numeric", False),
    ("Yes", "yes", "numeric", True),
    ("No", "yes", "numeric", False),
    ("45%", "45", "numeric", True),
    # text: normalised exact match (case, whitespace, edge punctuation, \text{} ignored)
    ("  Paris. ", "paris", "text", True),
    (r"\text{New  York}", "new york", "text", True),
    ("(B)", "B", "text", True),
    ("NewYork", "New York", "text", False),
    ("42.0", "42", "text", False),
    ("the Nile", "Nile", "text", False),
]


@pytest.mark.parametrize(("prediction", "target", "kind", "expected"), TABLE)
def test_equivalence_table(prediction: str, target: str, kind: str, expected: bool) -> None:
    assert is_equivalent(prediction, target, kind) is expected


def test_the_table_is_big_enough() -> None:
    assert len(TABLE) >= 40
    assert {kind for _, _, kind, _ in TABLE} == set(KINDS)


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown answer kind"):
        is_equivalent("1", "1", "latex")


def test_model_output_is_never_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    for kind in KINDS:
        assert not is_equivalent(payload, "1", kind)
        matrix = r"\begin{pmatrix} 1 \end{pmatrix}"
        assert not is_equivalent(f"Matrix([[{payload}]])", matrix, kind)
    assert not marker.exists()


# --- pieces ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "latex"),
    [
        ("2*sqrt(3)", r"2 \cdot \sqrt{3}"),
        ("pi/2", r"\frac{\pi}{2}"),
        ("(-2)**2", r"\left(-2\right)^{2}"),
        ("Interval.Lopen(0, oo)", r"(0, \infty]"),
        ("Matrix([1, 2])", r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}"),
        ("np.float64(3.5)", "3.5"),
        ("[1, 2]", "1, 2"),
        ("(1, 2)", None),  # reads the same in LaTeX
        ("f(2) < f(1)", None),  # unknown function
        ("x.real", None),  # attribute access
    ],
)
def test_python_to_latex(text: str, latex: str | None) -> None:
    assert python_to_latex(text) == latex


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        (r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}", [["1", "2"], ["3", "4"]]),
        (r"\left[\begin{matrix}2\\-1\\5\end{matrix}\right]", [["2"], ["-1"], ["5"]]),
        (r"$\boxed{\begin{pmatrix} \frac{1}{2} & x \\ 0 & 1 \\ \end{pmatrix}}$.", None),
        (
            r"\begin{pmatrix} \frac{1}{2} & \{a \& b\} \end{pmatrix}",
            [[r"\frac{1}{2}", r"\{a \& b\}"]],
        ),
        (r"\begin{array}{c|c} 1 & 2 \\[2pt] \hline 3 & 4 \end{array}", [["1", "2"], ["3", "4"]]),
        (r"\begin{pmatrix*}[r] -1 & 2 \end{pmatrix*}", [["-1", "2"]]),
        ("Matrix([[1, 2], [3, 4]])", [["1", "2"], ["3", "4"]]),
        ("Matrix([1/3, sqrt(2)])", [["1/3"], ["sqrt(2)"]]),
        ("array([[0.5, 1.0]], dtype=object)", [["0.5", "1.0"]]),
        ("[[1 2]\n [3 4]]", [["1", "2"], ["3", "4"]]),
        ("[[1, 2], [3, 4]]", [["1", "2"], ["3", "4"]]),
        (r"\begin{vmatrix} 1 & 2 \\ 3 & 4 \end{vmatrix}", None),  # a determinant
        (r"\begin{pmatrix} 1 & 2 \\ 3 \end{pmatrix}", None),  # ragged
        (r"\begin{pmatrix} 1 & \\ 3 & 4 \end{pmatrix}", None),  # an empty entry
        (r"\begin{pmatrix} 1 \end{pmatrix} + \begin{pmatrix} 2 \end{pmatrix}", None),
        (r"2\begin{pmatrix} 1 \end{pmatrix}", None),
        ("array([1, 2])", None),  # 1-D: a vector without orientation (read_vector)
        ("[1, 2]", None),
        ("[[1, 2], [[3], 4]]", None),
    ],
)
def test_read_matrix(text: str, rows: list[list[str]] | None) -> None:
    if "boxed" in text:  # read_matrix expects the wrapper gone, as is_equivalent does
        assert read_matrix(text) is None
        assert read_matrix(_outer(text)) == Grid(((r"\frac{1}{2}", "x"), ("0", "1")))
        return
    grid = read_matrix(text)
    assert (grid.rows if grid else None) == (tuple(map(tuple, rows)) if rows else None)


@pytest.mark.parametrize(
    ("text", "entries"),
    [
        ("[2, -1, 5]", ("2", "-1", "5")),
        (r"\left( \frac{1}{2}, -3 \right)", (r"\frac{1}{2}", "-3")),
        (r"\langle 1, f(2, 3) \rangle", ("1", "f(2, 3)")),
        ("[ 2 -1  5]", ("2", "-1", "5")),
        ("[1.e-05 2.   ]", ("1.e-05", "2.")),
        ("array([1/3, 2/3], dtype=object)", ("1/3", "2/3")),
        ("2, -1, 5", None),
        ("[0, 1)", None),
        ("(0, 1) \\cup (2, 3)", None),
        ("[x + 1 2]", ("x + 1 2",)),  # numpy's form is for numbers only: one entry
        ("Matrix([1, 2])", None),  # a column matrix (read_matrix)
    ],
)
def test_read_vector(text: str, entries: tuple[str, ...] | None) -> None:
    assert read_vector(text) == entries


def test_normalise() -> None:
    assert normalise(r"\boxed{\dfrac12}") == (r"\frac{1}{2}", False)
    assert normalise(r"$25\%$") == ("25", True)
    assert normalise(r"8\sqrt{3} \text { square inches}") == (r"8\sqrt{3}", False)
    assert normalise(r"\left( 1, 2 \right)") == ("( 1, 2 )", False)
    assert normalise(r"- \frac{1}{3}") == (r"-\frac{1}{3}", False)
    assert normalise(r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}").text == (
        r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}"  # the row end survives
    )


def test_math_values_for_the_paper_rule() -> None:
    assert math_values(r"\frac{1}{4}") == (0.25,)
    assert math_values(r"25\%") == (25.0, 0.25)
    assert math_values(r"2\sqrt{3}") == pytest.approx((3.4641016,))
    assert math_values(r"(1, 2)") == ()
    assert math_values(r"\text{odd}") == ()
    assert math_values(r"\begin{pmatrix} 5 \end{pmatrix}") == ()


# --- scoring --------------------------------------------------------------------------------


def test_strict_and_paper_scoring() -> None:
    out = "intermediate 0.333\nFinal Answer: 7"
    assert not score_output(out, r"\frac{1}{3}", "math")
    assert score_output(out, r"\frac{1}{3}", "math", "paper")  # 0.333 is within 1e-2
    assert score_output("Final Answer: 2*sqrt(3)", r"2\sqrt{3}", "math")
    assert score_output("the total is 12\n", "12", "numeric")  # the last number, no marker
    assert not score_output("12 then 13\n", "12", "numeric")
    assert score_output("12 then 13\n", "12", "numeric", "paper")
    assert not score_output("", "12", "numeric", "paper")
    with pytest.raises(ValueError, match="unknown scoring"):
        score_output("1", "1", "numeric", "lenient")


# --- the helper process: timeouts, crashes, threads -----------------------------------------

SLOW_GOLD, SLOW_PRED = r"(3+\sqrt{2})^{5000}", r"(3-\sqrt{2})^{5000}"  # about 4 s of sympy


def test_a_slow_check_times_out_and_the_helper_is_replaced() -> None:
    checker = MathChecker(workers=1, timeout=0.3)
    try:
        assert checker.verify("1", "1")
        started = time.monotonic()
        assert not is_math_equivalent(SLOW_PRED, SLOW_GOLD, checker=checker)
        assert time.monotonic() - started < 2.0
        stats = checker.stats()
        assert stats.timeouts == 1 and stats.started == 1
        assert checker.verify(r"\frac{1}{2}", "0.5", timeout=30)  # a fresh helper
        assert checker.stats().started == 2
    finally:
        checker.close()


@pytest.fixture(scope="module")
def own_checker() -> Iterator[MathChecker]:
    """A checker with one helper, so that round trips can be counted."""
    checker = MathChecker(workers=1, timeout=30)
    yield checker
    checker.close()


def test_matrix_entries_go_to_the_helper_in_one_batch(own_checker: MathChecker) -> None:
    target = r"\begin{pmatrix} 1/\sqrt{2} & \sqrt{3} \\ \pi & 7 \end{pmatrix}"
    checks = own_checker.stats().checks
    prediction = "Matrix([[0.70710678, sqrt(12)/2], [2*pi/2, 7]])"
    assert is_math_equivalent(prediction, target, checker=own_checker)
    assert own_checker.stats().checks == checks + 1
    wrong = "Matrix([[0.70710678, sqrt(12)/3], [2*pi/2, 7]])"
    assert not is_math_equivalent(wrong, target, checker=own_checker)
    assert own_checker.stats().checks == checks + 2
    assert not is_math_equivalent("Matrix([[1, 2, 3]])", target, checker=own_checker)
    assert own_checker.stats().checks == checks + 2  # shapes are compared here


def test_a_batch_is_one_round_trip_with_a_cache_and_a_timeout(own_checker: MathChecker) -> None:
    requests = [
        {"op": "verify", "gold": r"\frac{1}{2}", "pred": "0.5"},
        {"op": "value", "expr": r"2\pi"},
        {"op": "verify", "gold": r"\frac{1}{2}", "pred": "0.6"},
        {"op": "value", "expr": r"\text{odd}"},
        {"op": "nonsense"},
    ]
    before = own_checker.stats()
    results = own_checker.batch(requests)
    assert results[0] is True and results[2] is False and results[3:] == [None, None]
    assert results[1] == pytest.approx(6.2831853)
    assert own_checker.stats().checks == before.checks + 1
    assert own_checker.batch(requests[:2]) == results[:2]  # from the cache
    after = own_checker.stats()
    assert (after.checks, after.cached) == (before.checks + 1, before.cached + 2)
    slow = {"op": "verify", "gold": SLOW_GOLD, "pred": SLOW_PRED}
    assert own_checker.batch([requests[0], slow], timeout=0.3) == [True, None]
    assert own_checker.stats().timeouts == before.timeouts + 1


def _fake_worker(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "worker.py"
    script.write_text(f"import sys\n{body}\n")
    return script


def test_a_helper_that_dies_counts_as_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = _fake_worker(tmp_path, "print('{\"ready\": true}', flush=True)\nsys.stdin.readline()")
    monkeypatch.setattr(checker_module, "_WORKER", script)
    checker = MathChecker(workers=1, timeout=5)
    try:
        assert not checker.verify("1", "1")
        assert checker.stats().crashes == 1
    finally:
        checker.close()


def test_a_helper_that_cannot_start_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = _fake_worker(tmp_path, 'print(\'{"ready": false, "error": "no math-verify"}\')')
    monkeypatch.setattr(checker_module, "_WORKER", script)
    checker = MathChecker(workers=1)
    try:
        with pytest.raises(CheckerUnavailable, match="no math-verify"):
            checker.verify("1", "1")
    finally:
        checker.close()


def test_many_threads_at_once() -> None:
    results: dict[int, bool] = {}

    def work(i: int) -> None:
        results[i] = is_equivalent(f"{i}*sqrt(2)", rf"\sqrt{{{2 * i * i}}}", "math") and not (
            is_equivalent(f"{i}*sqrt(3)", rf"\sqrt{{{2 * i * i}}}", "math")
        )

    threads = [threading.Thread(target=work, args=(i,)) for i in range(1, 17)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == {i: True for i in range(1, 17)}
    assert checker_stats().timeouts == 0


# --- real MATH answers ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def math_answers() -> list[str]:
    from creator.datasets import load

    answers = [problem.answer for problem in load("math") if problem.answer is not None]
    assert len(answers) == 5000
    return answers


def test_math_targets_equal_themselves(math_answers: list[str]) -> None:
    sample = random.Random(0).sample(math_answers, 300)
    assert [a for a in sample if not is_equivalent(a, a, "math")] == []
    # the same answers, dressed differently, through the normaliser
    dressed = [("$\\boxed{" + a.replace(r"\frac", r"\dfrac") + "}$.", a) for a in sample]
    assert [a for d, a in dressed if not is_equivalent(d, a, "math")] == []


def test_math_verify_reads_math_targets(math_answers: list[str]) -> None:
    """Forced through math-verify (not the string fast path): it must parse what MATH writes."""
    checker = checker_module.default_checker()
    sample = random.Random(1).sample(sorted(set(math_answers)), 60)
    assert [a for a in sample if not checker.verify(normalise(a).text, normalise(a).text)] == []


def _sympy_entry(text: str) -> Any:
    """A MATH matrix entry as a sympy number, built from parsed pieces (no eval), or None."""
    import sympy  # type: ignore[import-untyped]

    compact = text.replace(" ", "")
    value = parse_fraction(compact, lenient=False)
    if value is not None:
        return sympy.Rational(value.numerator, value.denominator)
    root = re.fullmatch(r"(-?\d+)/\\sqrt\{(\d+)\}", compact)
    if root:
        return sympy.Integer(int(root[1])) / sympy.sqrt(int(root[2]))
    return None


def test_math_matrix_targets(math_answers: list[str]) -> None:
    """Every matrix target in MATH: read, equal to itself and to what sympy/numpy print for it."""
    sympy = pytest.importorskip("sympy")
    numpy = pytest.importorskip("numpy")
    targets = [a for a in math_answers if "matrix" in a]
    grids = {a: read_matrix(a) for a in targets}
    assert len(targets) == 72 and all(grids.values())
    failures: list[tuple[str, str, bool]] = []
    for target, grid in grids.items():
        assert grid is not None
        entries = [[_sympy_entry(entry) for entry in row] for row in grid.rows]
        assert all(e is not None for row in entries for e in row), target
        matrix = sympy.Matrix(entries)
        floats = numpy.array(matrix.evalf(), dtype=float)
        same = [
            target,
            sympy.latex(matrix),  # \left[\begin{matrix}...\end{matrix}\right]
            str(matrix),  # Matrix([[1/5], [-18/5]])
            str(floats),  # numpy's [[ 0.2]\n [-3.6]]
            "$\\boxed{" + target.replace("pmatrix", "bmatrix") + "}$.",
        ]
        if 1 in grid.shape:
            same += [str(floats.flatten()), str(floats.flatten().tolist())]  # [ 0.2 -3.6]
        perturbed = [*entries[:-1], [*entries[-1][:-1], entries[-1][-1] + 1]]
        different = [sympy.latex(sympy.Matrix(perturbed))]
        if matrix != matrix.T:
            different.append(sympy.latex(matrix.T))
        failures += [(target, p, True) for p in same if not is_equivalent(p, target, "math")]
        failures += [(target, p, False) for p in different if is_equivalent(p, target, "math")]
    assert failures == []


def test_numbers_longer_than_pythons_int_conversion_limit() -> None:
    huge = "1" + "0" * 5000
    assert parse_number(huge) == float("inf")
    assert is_equivalent(huge, "inf", "numeric")
    assert not is_equivalent(huge, "5", "numeric")


@pytest.mark.parametrize(
    ("prediction", "target", "same"),
    [
        ("**Paris**", "Paris", True),  # Markdown emphasis printed by a program
        (r"\(\text{B}\)", "b", True),  # inline math delimiters
        ("snake_case", "snake_case", True),  # inner underscores stay
        ("snake_case", "snakecase", False),
    ],
)
def test_text_answers_drop_markdown_emphasis_and_math_delimiters(
    prediction: str, target: str, same: bool
) -> None:
    assert is_equivalent(prediction, target, "text") is same
