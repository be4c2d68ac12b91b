"""The paper's tables from constructed runs, checked against numbers counted by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from creator.models.base import Completion, Message
from creator.models.reference import REFERENCE_LABEL
from creator.report.costs import Price, PriceTable, known_prices
from creator.report.document import TABLE_NAMES, build_tables
from creator.report.paper import (
    creation_by_hint_table,
    math_by_level_table,
    math_by_subject_table,
    method_by_dataset_table,
    transfer_table,
)
from creator.report.runs import Run, load_run, load_runs
from creator.report.tables import Cell, Table, read_csv, to_csv, to_markdown
from creator.report.usage import NOT_REPORTED, costs_table, rounds_table, runs_table
from creator.trace import ModelCall, Step
from tests.report.conftest import rec, write_run


def shown(table: Table) -> list[str]:
    """The header as Markdown and the terminal show it (no CSV-only interval bounds)."""
    return [column.name for column in table.display_columns]


def row_of(table: Table, **match: object) -> dict[str, Cell]:
    rows = [
        dict(zip(table.header, row, strict=True))
        for row in table.rows
        if all(dict(zip(table.header, row, strict=True))[k] == v for k, v in match.items())
    ]
    assert len(rows) == 1, (match, table.rows)
    return rows[0]


@pytest.fixture
def everything(math_run, pot_run, creation_runs, transfer_run) -> list[Run]:
    return load_runs([math_run, pot_run, *creation_runs, transfer_run])


def test_method_by_dataset(everything: list[Run]) -> None:
    table = method_by_dataset_table(everything)
    assert shown(table) == [
        "method", "model", "MATH n", "MATH", "MATH ±", "MATH (paper)", "Creation Challenge n",
        "Creation Challenge", "Creation Challenge ±", "Tool Transfer n", "Tool Transfer",
        "Tool Transfer ±", "runs",
    ]  # fmt: skip
    assert [r[:2] for r in table.rows] == [
        ("pot", "gpt-4o-mini"),
        ("creator", "gpt-4o-mini"),
        ("creator", REFERENCE_LABEL),
    ]
    creator = row_of(table, method="creator", model="gpt-4o-mini")
    assert creator["MATH n"] == 6 and creator["MATH"] == 0.5
    assert creator["MATH (paper)"] == pytest.approx(4 / 6)
    # the no-hint run only; the transfer run's control arm only (3 of 6)
    assert creator["Creation Challenge n"] == 2 and creator["Creation Challenge"] == 0.5
    assert creator["Tool Transfer n"] == 6 and creator["Tool Transfer"] == 0.5
    pot = row_of(table, method="pot")
    assert (pot["MATH n"], pot["MATH"], pot["MATH (paper)"]) == (2, 0.5, 0.5)
    assert pot["Creation Challenge"] is None
    assert any("hint-mode table" in note for note in table.notes)
    # which run fills each cell of the merged row
    named = {Path(r.name).name: r.name for r in everything}
    assert creator["runs"] == (
        f"MATH: {named['math-creator']}; Creation Challenge: {named['cc-none']}; "
        # the transfer fixture lacks the scenario 1 problems its ids pull in, and a transfer
        f"Tool Transfer: {named['transfer']} (partial: 10 of 13 selected)"
    )
    assert any(note.startswith("One row per method, model and settings") for note in table.notes)


def test_two_runs_for_one_cell_make_two_rows(tmp_path: Path, math_run: Path) -> None:
    other = write_run(tmp_path / "again", [rec("math/algebra/0", strict=False)], dataset="math")
    table = method_by_dataset_table(load_runs([math_run, other]))
    assert [row[-1] for row in table.rows] == [f"MATH: {other}", f"MATH: {math_run}"]
    assert "MATH (paper)" in table.header
    # what tells them apart: the problems they selected
    assert table.column("settings") == ["MATH ids=math/algebra/0", "MATH ids=6 ids"]


def test_the_paper_column_appears_only_where_the_rules_differ(pot_run: Path) -> None:
    table = method_by_dataset_table([load_run(pot_run)])
    assert shown(table) == ["method", "model", "MATH n", "MATH", "MATH ±", "runs"]


def test_math_by_subject(everything: list[Run]) -> None:
    table = math_by_subject_table(everything)
    assert table.header[:4] == ["method", "model", "Algebra n", "Algebra"]
    assert "Number Theory" in table.header and "Precalculus" not in table.header
    creator = row_of(table, method="creator")
    assert creator["Algebra n"] == 3 and creator["Algebra"] == pytest.approx(1 / 3)
    assert (creator["Geometry n"], creator["Geometry"]) == (2, 1.0)
    assert (creator["Number Theory n"], creator["Number Theory"]) == (1, 0.0)
    assert (creator["overall n"], creator["overall"]) == (6, 0.5)
    assert creator["overall (paper)"] == pytest.approx(4 / 6)
    pot = row_of(table, method="pot")
    assert (pot["Number Theory n"], pot["Number Theory"]) == (0, None)


def test_math_by_level(math_run: Path) -> None:
    table = math_by_level_table([load_run(math_run)])
    row = row_of(table, method="creator")
    assert [row[f"level {k}"] for k in range(1, 6)] == [1.0, 0.0, 0.0, None, 0.5]
    assert [row[f"level {k} n"] for k in range(1, 6)] == [2, 1, 1, 0, 2]


def test_creation_by_hint(everything: list[Run]) -> None:
    table = creation_by_hint_table(everything)
    assert shown(table) == [
        "method", "model", "no hint n", "no hint", "no hint ±", "utility hint n", "utility hint",
        "utility hint ±", "all hints n", "all hints", "all hints ±", "runs",
    ]  # fmt: skip
    creator = row_of(table, model="gpt-4o-mini")
    assert [creator[h] for h in ("no hint", "utility hint", "all hints")] == [0.5, 1.0, 0.25]
    assert [creator[f"{h} n"] for h in ("no hint", "utility hint", "all hints")] == [2, 2, 4]
    replay = row_of(table, model=REFERENCE_LABEL)
    assert replay["no hint"] == 1.0 and replay["utility hint"] is None


def test_transfer(transfer_run: Path) -> None:
    table = transfer_table([load_run(transfer_run)])
    row = row_of(table, method="creator")
    assert (row["scenario 2 n"], row["scenario 2 without transfer"]) == (2, 0.0)
    assert (row["scenario 2 with transfer"], row["scenario 2 change"]) == (1.0, 1.0)
    assert (row["scenario 3 without transfer"], row["scenario 3 with transfer"]) == (0.5, 0.5)
    assert row["scenario 3 change"] == 0.0
    assert row["scenarios 2+3 n"] == 4
    assert row["scenarios 2+3 without transfer"] == 0.25
    assert row["scenarios 2+3 with transfer"] == 0.75
    assert row["scenarios 2+3 change"] == 0.5
    assert any("1 scenario 2/3 record(s)" in note for note in table.notes)
    assert not any("(paper)" in h for h in table.header)


def test_transfer_without_a_transfer_arm_says_so(tmp_path: Path) -> None:
    path = write_run(tmp_path / "t", [rec("transfer/0/2", strict=True)], dataset="transfer")
    table = transfer_table([load_run(path)])
    assert row_of(table, method="creator")["scenario 2 with transfer"] is None
    assert any("no transfer-arm records" in note for note in table.notes)


def test_rounds(math_run: Path, pot_run: Path) -> None:
    runs = load_runs([math_run, pot_run])
    table = rounds_table(runs)
    assert table.header[3:8] == ["n", "≤ 0 rounds", "≤ 1 rounds", "≤ 2 rounds", "≤ 3 rounds"]
    row = row_of(table, method="creator")
    assert [row[f"≤ {r} rounds"] for r in range(4)] == pytest.approx([1 / 6, 2 / 6, 3 / 6, 3 / 6])
    assert row["one-time pass"] == pytest.approx(1 / 6)


def test_costs(tmp_path: Path, math_run: Path, creation_runs: list[Path]) -> None:
    llama = write_run(tmp_path / "llama", [rec("creation/0", strict=True)], dataset="creation",
                      model="my-llama")  # fmt: skip
    runs = load_runs([math_run, creation_runs[3], llama])
    table = costs_table(runs, prices=known_prices())
    row = row_of(table, model="gpt-4o-mini")
    assert (row["prompt tokens"], row["completion tokens"], row["tokens"]) == (6000, 3000, 9000)
    assert row["correct"] == 3 and row["tokens per correct"] == 3000
    # 6000 x 0.15 + 3000 x 0.60 per million = 0.0027 USD; 3 correct
    assert row["cost"] == pytest.approx(0.0027) and row["cost per correct"] == pytest.approx(0.0009)
    replay = row_of(table, model=REFERENCE_LABEL)
    assert replay["cost"] == "n/a (replay)" and replay["USD per 1M in"] == "n/a (replay)"
    assert row_of(table, model="my-llama")["cost"] == "unknown"
    priced = known_prices().with_overrides([("my-llama", Price(1.0, 2.0, "--price"))])
    row = row_of(costs_table(runs, prices=priced), model="my-llama")
    assert row["cost"] == pytest.approx((1000 * 1 + 500 * 2) / 1e6)
    assert any("--price: my-llama" in n for n in costs_table(runs, prices=priced).notes)


def _thinking_call(reasoning: str) -> ModelCall:
    completion = Completion(text="Final Answer: 1", reasoning=reasoning)
    return ModelCall(messages=[Message(role="user", content="q")], completion=completion)


def test_reasoning_tokens_are_shown_inside_completion_and_priced_once(
    tmp_path: Path, math_run: Path
) -> None:
    records = [
        rec("creation/0", strict=True, tokens=(1000, 500), reasoning=300),
        rec("creation/1", strict=False, tokens=(1000, 500), reasoning=450),
        rec("creation/2", strict=True, tokens=(1000, 500)),  # this call did not reason
    ]
    thinker = write_run(tmp_path / "thinker", records, dataset="creation", model="o-mini")
    runs = load_runs([math_run, thinker])
    prices = PriceTable(prices={"o-mini": Price(1.0, 2.0, "--price")})
    table = costs_table(runs, prices=prices)
    header = table.header
    assert header.index("reasoning tokens") == header.index("completion tokens") + 1
    row = row_of(table, model="o-mini")
    assert row["reasoning tokens"] == 750
    assert (row["completion tokens"], row["tokens"]) == (1500, 4500)  # not 2,250 and 5,250
    assert row["cost"] == pytest.approx((3000 * 1.0 + 1500 * 2.0) / 1e6)  # reasoning once
    assert row_of(table, model="gpt-4o-mini")["reasoning tokens"] == 0
    assert any("part of the completion tokens" in note for note in table.notes)
    markdown = to_markdown(table)
    assert "| reasoning tokens |" in markdown and "| 750 |" in markdown
    header_csv, rows = read_csv(to_csv(table))
    cells = dict(zip(header_csv, rows[1], strict=True))
    assert cells["reasoning tokens"] == "750" and cells["completion tokens"] == "1500"


def test_without_reasoning_the_cost_table_keeps_its_columns(math_run: Path) -> None:
    table = costs_table([load_run(math_run)], prices=known_prices())
    assert "reasoning tokens" not in table.header
    assert not any("reasoning" in note.lower() for note in table.notes)


def test_reasoning_the_endpoint_did_not_count_is_not_reported_as_zero(
    tmp_path: Path, math_run: Path
) -> None:
    inline = [
        rec("creation/0", strict=True, trace=[Step(stage="creation", call=_thinking_call("hm"))])
    ]
    run = write_run(tmp_path / "inline", inline, dataset="creation", model="qwen3")
    table = costs_table(load_runs([math_run, run]), prices=known_prices())
    assert row_of(table, model="qwen3")["reasoning tokens"] == NOT_REPORTED
    assert row_of(table, model="gpt-4o-mini")["reasoning tokens"] == 0
    assert "not reported" in to_markdown(table)


def test_a_replay_can_not_be_priced_even_when_asked(creation_runs: list[Path]) -> None:
    prices = PriceTable(prices={"reference": Price(1.0, 1.0, "--price")})
    row = row_of(costs_table([load_run(creation_runs[3])], prices=prices), method="creator")
    assert row["cost"] == "n/a (replay)"


def test_runs_overview(everything: list[Run], math_run: Path) -> None:
    table = runs_table(everything)
    assert len(table.rows) == len(everything)
    row = row_of(table, run=str(math_run))
    assert row["model errors"] == 1 and row["accuracy (paper)"] == pytest.approx(4 / 6)
    assert row_of(table, dataset="Creation Challenge (all hints)")["accuracy"] == 0.25


def test_the_replay_is_labelled_in_every_table_that_holds_it(
    tmp_path: Path, creation_runs: list[Path]
) -> None:
    math = write_run(tmp_path / "m", [rec("math/algebra/0", strict=True, level=1, replay=True)],
                     dataset="math", model="reference")  # fmt: skip
    trans = write_run(tmp_path / "t", [rec("transfer/0/2", strict=True, replay=True)],
                      dataset="transfer", model="reference")  # fmt: skip
    tables = build_tables(load_runs([math, trans, creation_runs[3]]), prices=known_prices())
    assert tuple(t.name for t in tables) == TABLE_NAMES
    for table in tables:
        assert table.rows, table.name
        assert set(table.column("model")) == {REFERENCE_LABEL}, table.name
        assert "gpt" not in str(table.rows)


def test_tool_use_sits_in_the_method_table_in_the_paper_order_with_its_service(
    tmp_path: Path, math_run: Path, pot_run: Path
) -> None:
    records = [rec("math/algebra/0", strict=True, level=1), rec("math/algebra/1", strict=False)]
    sympy_run = write_run(tmp_path / "tooluse", records, dataset="math", method="tooluse")
    wolfram_run = write_run(tmp_path / "wolfram", records[:1], dataset="math", method="tooluse")
    config = json.loads((wolfram_run / "config.json").read_text())
    (wolfram_run / "config.json").write_text(json.dumps(config | {"tool_service": "wolfram"}))
    table = method_by_dataset_table(load_runs([math_run, wolfram_run, sympy_run, pot_run]))
    assert [r[0] for r in table.rows] == ["pot", "tooluse (sympy)", "tooluse (wolfram)", "creator"]
    sympy_row = row_of(table, method="tooluse (sympy)")
    assert (sympy_row["MATH n"], sympy_row["MATH"]) == (2, 0.5)
    assert row_of(table, method="tooluse (wolfram)")["MATH"] == 1.0
