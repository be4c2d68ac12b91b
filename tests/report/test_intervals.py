"""95% Wilson intervals: known values, and the ``±`` of tables (Markdown) and bounds (CSV)."""

from __future__ import annotations

from pathlib import Path

import pytest

from creator.report.measures import Score, half_width, wilson
from creator.report.paper import math_by_level_table, method_by_dataset_table, transfer_table
from creator.report.runs import load_run
from creator.report.tables import read_csv, to_csv, to_markdown
from creator.report.usage import runs_table


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # textbook values (Newcombe 1998, and the usual 0/10, 5/10, 10/10 examples)
        (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
        (81, 263, 0.2553, 0.3662),
        (1, 1, 0.2065, 1.0),
    ],
)
def test_wilson_known_values(k: int, n: int, low: float, high: float) -> None:
    interval = wilson(k, n)
    assert interval is not None
    assert interval == pytest.approx((low, high), abs=5e-5)


def test_wilson_edges() -> None:
    assert wilson(0, 0) is None and half_width(0, 0) is None
    narrow, wide = wilson(5, 10, z=1.0), wilson(5, 10, z=2.576)
    assert narrow is not None and wide is not None
    assert wide[0] < narrow[0] < 0.5 < narrow[1] < wide[1]  # 68% inside 99%
    with pytest.raises(ValueError, match="0 <= k <= n"):
        wilson(3, 2)


def test_a_score_carries_its_interval() -> None:
    s = Score(n=10, strict=5, paper=6)
    assert s.interval == pytest.approx((0.2366, 0.7634), abs=5e-5)
    assert s.pm == pytest.approx((0.7634 - 0.2366) / 2, abs=5e-5)
    assert Score(0, 0, 0).interval is None and Score(0, 0, 0).pm is None


def test_markdown_shows_plus_minus_and_the_csv_the_bounds(math_run: Path) -> None:
    table = method_by_dataset_table([load_run(math_run)])  # 3 of 6 correct
    low, high = wilson(3, 6) or (0, 0)
    markdown = to_markdown(table)
    assert "| MATH n | MATH | MATH ± | MATH (paper) | runs |" in markdown
    assert f"| 6 | 50.0% | ±{(high - low) / 2 * 100:.1f} | 66.7% |" in markdown
    assert "±31.2" in markdown and "ci low" not in markdown
    header, rows = read_csv(to_csv(table))
    assert "MATH ±" not in header
    cells = dict(zip(header, rows[0], strict=True))
    assert float(cells["MATH ci low"]) == pytest.approx(low, abs=1e-4)
    assert float(cells["MATH ci high"]) == pytest.approx(high, abs=1e-4)
    assert header.index("MATH ci low") == header.index("MATH") + 1


def test_the_runs_overview_and_transfer_tables_have_intervals(
    math_run: Path, transfer_run: Path
) -> None:
    overview = runs_table([load_run(math_run)])
    assert "±31.2" in to_markdown(overview)
    transfer = transfer_table([load_run(transfer_run)])
    shown = [c.name for c in transfer.display_columns]
    assert "scenarios 2+3 without transfer ±" in shown
    assert "scenarios 2+3 with transfer ±" in shown
    header, rows = read_csv(to_csv(transfer))
    cells = dict(zip(header, rows[0], strict=True))
    # scenarios 2+3: 1 of 4 without transfer, 3 of 4 with
    assert float(cells["scenarios 2+3 without transfer ci low"]) == pytest.approx(
        (wilson(1, 4) or (0, 0))[0], abs=1e-4
    )
    assert float(cells["scenarios 2+3 with transfer ci high"]) == pytest.approx(
        (wilson(3, 4) or (0, 0))[1], abs=1e-4
    )


def test_no_records_means_no_interval(pot_run: Path) -> None:
    table = math_by_level_table([load_run(pot_run)])  # levels 1 and 2 only
    assert table.column("level 1 ±") == [pytest.approx(half_width(1, 1))]
    assert table.column("level 5 ±") == [None] and table.column("level 5 ci low") == [None]
    assert "| 0 | - | - |" in to_markdown(table)
