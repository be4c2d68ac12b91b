"""Run directories built from constructed records, with numbers small enough to count by hand.

``math_run`` (creator, gpt-4o-mini), six records:

| id | subject | level | strict | paper | rounds | one-time pass |
|---|---|---|---|---|---|---|
| math/algebra/0 | algebra | 1 | yes | yes | 0 | yes |
| math/algebra/1 | algebra | 2 | no | yes | 0 | no |
| math/geometry/0 | geometry | 1 | yes | yes | 1 | no |
| math/geometry/1 | geometry | 5 | yes | yes | 2 | no |
| math/number_theory/0 | number_theory | 3 | no | no | 3 | no |
| math/algebra/2 | algebra | 5 | no (model error) | no | 0 | no |

so 3/6 strict, 4/6 paper; every record used 1,000 prompt and 500 completion tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from creator.eval.config import EvalConfig
from creator.eval.records import Arm, ProblemRecord, ResultsFile, Tokens
from creator.trace import Status, Step


def rec(
    id: str,
    *,
    strict: bool,
    paper: bool | None = None,
    level: int | None = None,
    rounds: int = 0,
    otp: bool = False,
    tokens: tuple[int, int] = (1000, 500),
    arm: Arm | None = None,
    status: Status = "answered",
    dataset: str | None = None,
    replay: bool = False,
    reasoning: int = 0,
    trace: Sequence[Step] = (),
) -> ProblemRecord:
    """``reasoning`` tokens are part of the ``tokens`` completion count, as endpoints report."""
    parts = id.split("/")
    subject = parts[1] if parts[0] == "math" else None
    return ProblemRecord(
        id=id,
        dataset=dataset or parts[0],
        method="creator",
        model="m",
        status=status,
        prediction="1",
        target="1",
        correct=strict,
        correct_strict=strict,
        correct_paper=strict if paper is None else paper,
        subject=subject,
        level=level,
        rectifications=rounds,
        one_time_pass=otp,
        tokens=Tokens(
            prompt=tokens[0], completion=tokens[1], total=sum(tokens), reasoning=reasoning
        ),
        arm=arm,
        replay=replay,
        trace=list(trace),
    )


def write_run(
    path: Path,
    records: Sequence[ProblemRecord],
    *,
    dataset: str,
    method: str = "creator",
    model: str = "gpt-4o-mini",
    hint: str = "none",
    rectify_rounds: int = 3,
    ids: Sequence[str] | None = None,
    **settings: object,
) -> Path:
    """A run of ``records``; its config selects exactly their ids unless ``ids`` is given
    (so the run is complete, not partial), and ``settings`` are further config fields."""
    path.mkdir(parents=True)
    config = EvalConfig.model_validate(
        {
            "dataset": dataset,
            "method": method,
            "model": model,
            "hint": hint,
            "rectify_rounds": rectify_rounds,
            "ids": list(dict.fromkeys(r.id for r in records)) if ids is None else list(ids),
            **settings,
        }
    )
    ResultsFile.dump_json(path / "config.json", config.model_dump(mode="json"))
    results = ResultsFile(path / "results.jsonl")
    for record in records:
        results.append(record)
    return path


MATH_RECORDS = (
    rec("math/algebra/0", strict=True, level=1, otp=True),
    rec("math/algebra/1", strict=False, paper=True, level=2),
    rec("math/geometry/0", strict=True, level=1, rounds=1),
    rec("math/geometry/1", strict=True, level=5, rounds=2),
    rec("math/number_theory/0", strict=False, level=3, rounds=3, status="execution_error"),
    rec("math/algebra/2", strict=False, level=5, status="model_error"),
)

TRANSFER_RECORDS = (
    rec("transfer/0/1", strict=True, arm="control"),
    rec("transfer/0/2", strict=False, arm="control"),
    rec("transfer/0/3", strict=True, arm="control"),
    rec("transfer/1/2", strict=False, arm="control"),
    rec("transfer/1/3", strict=False, arm="control"),
    rec("transfer/2/2", strict=True, arm="control"),
    rec("transfer/0/2", strict=True, arm="transfer"),
    rec("transfer/0/3", strict=True, arm="transfer"),
    rec("transfer/1/2", strict=True, arm="transfer"),
    rec("transfer/1/3", strict=False, arm="transfer"),
)
"""Paired: 0/2, 0/3, 1/2, 1/3 (2/2 has no transfer record). Scenario 2: 0/2 without, 2/2 with;
scenario 3: 1/2 and 1/2; together 1/4 and 3/4. Control overall: 3/6."""


@pytest.fixture
def math_run(tmp_path: Path) -> Path:
    return write_run(tmp_path / "math-creator", MATH_RECORDS, dataset="math")


@pytest.fixture
def pot_run(tmp_path: Path) -> Path:
    records = [
        rec("math/algebra/0", strict=True, level=1),
        rec("math/geometry/0", strict=False, level=2),
    ]
    return write_run(tmp_path / "math-pot", records, dataset="math", method="pot")


@pytest.fixture
def creation_runs(tmp_path: Path) -> list[Path]:
    """creator/gpt-4o-mini: none 1/2, utility 2/2, all 1/4; the reference replay: none 1/1."""
    c = "creation/{}".format
    return [
        write_run(
            tmp_path / "cc-none",
            [rec(c(0), strict=True), rec(c(1), strict=False)],
            dataset="creation",
        ),
        write_run(
            tmp_path / "cc-utility",
            [rec(c(0), strict=True), rec(c(1), strict=True)],
            dataset="creation",
            hint="utility",
        ),
        write_run(
            tmp_path / "cc-all",
            [rec(c(i), strict=i == 0) for i in range(4)],
            dataset="creation",
            hint="all",
        ),
        write_run(
            tmp_path / "cc-reference",
            [rec(c(0), strict=True, tokens=(0, 0), replay=True)],
            dataset="creation",
            model="reference",
        ),
    ]


@pytest.fixture
def transfer_run(tmp_path: Path) -> Path:
    return write_run(tmp_path / "transfer", TRANSFER_RECORDS, dataset="transfer")
