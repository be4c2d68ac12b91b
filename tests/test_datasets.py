import pytest

from creator import datasets
from creator.errors import InputError


def test_sizes_and_ids():
    sizes = {name: len(datasets.load(name)) for name in datasets.DATASETS}
    assert sizes == {"math": 5000, "tabmwp": 5376, "creation": 2047, "transfer": 300}
    assert datasets.get("creation/0").id == "creation/0"
    assert datasets.get("transfer/99/3").metadata["scenario"] == 3
    assert datasets.get("math/algebra/0").answer_kind == "math"
    assert (datasets.get("tabmwp/0").context or "").startswith("Name:")


def test_creation_quirks_are_normalised():
    problems = datasets.load("creation")
    constants = [p.metadata["constant"] for p in problems]
    assert all(c is None or not c.lower().lstrip("-* `").startswith("none") for c in constants)
    assert all(c is None or not c.startswith("s\n") for c in constants)
    returns = [p.metadata["return"] for p in problems]
    assert all(r is None or not r.startswith("s\n") for r in returns)
    assert {p.answer for p in problems} >= {"inf"}


def test_reference_solutions_are_code_without_output_blocks():
    problems = datasets.load("creation")
    assert all(p.reference and p.reference.tool and p.reference.solution for p in problems)
    first = datasets.get("creation/0").reference
    assert first is not None and first.solution is not None
    assert "polygon_perimeter(" in first.solution
    assert "The output shows" not in first.solution


def test_transfer_scenarios_have_their_own_question():
    q = [datasets.get(f"transfer/0/{n}").question for n in (1, 2, 3)]
    assert len(set(q)) == 3
    assert datasets.get("transfer/0/1").metadata["title"] == "Production Planning"


def test_unknown_ids_are_clear_errors():
    with pytest.raises(InputError, match="no problem"):
        datasets.get("creation/99999")
    with pytest.raises(InputError, match="unknown problem id"):
        datasets.get("gsm8k/1")
    with pytest.raises(InputError, match="unknown dataset"):
        datasets.load("gsm8k")


def test_find_by_question_ignores_whitespace_and_case():
    p = datasets.get("creation/5")
    assert datasets.find_by_question("  " + p.question.upper() + " ") == p
    assert datasets.find_by_question("What is 2+2?") is None
