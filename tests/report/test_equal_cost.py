"""The report's equal-cost view: strict accuracy against mean tokens per problem, a point per
run and, for sampled runs, per k = 1..K (each checked by hand from the attempts' groups).

Four sampled problems, K = 3, every attempt 100 + 50 tokens, majority vote (a tie goes to the
group that answered first):

| problem | groups | right | k=1 | k=2 | k=3 |
|---|---|---|---|---|---|
| 0 | 0, 1, 1 | no, yes, yes | no | no (tie: group 0 first) | yes |
| 1 | 0, 0, 1 | yes, yes, no | yes | yes | yes |
| 2 | none, 0, 1 | no, no, yes | no (no answer) | no | no (tie: group 0 first) |
| 3 | 0, 0 (stopped early) | yes, yes | yes | yes | yes (2 attempts) |

so accuracy 2/4, 2/4, 3/4, and tokens per problem 150, 300 and (3 * 450 + 300) / 4 = 412.5.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

import numpy
import pytest

from creator import ScriptedModel
from creator.cli.main import main
from creator.eval import EvalConfig, run_eval
from creator.eval.records import ProblemRecord, SampleRecord, Tokens, Vote
from creator.eval.sampling import SAMPLE_STRIDE
from creator.eval.voting import vote_at
from creator.models.base import CallContext, GenerationSettings, Message
from creator.report.equal_cost import (
    attempts,
    equal_cost_figure,
    equal_cost_table,
    points,
    strict_at,
)
from creator.report.measures import wilson
from creator.report.plots import metadata, save
from creator.report.runs import Run, load_run
from creator.report.tables import read_csv, to_csv, to_markdown
from creator.sandbox.base import Sandbox
from tests.report.conftest import rec, write_run

EACH = Tokens(prompt=100, completion=50, total=150)


def sampled(
    id: str,
    groups: Sequence[int | None],
    right: Sequence[bool],
    *,
    k: int = 3,
    paper: Sequence[bool] | None = None,
) -> ProblemRecord:
    """A majority-voted record of these attempts (fewer than ``k``: stopped early)."""
    paper = right if paper is None else paper
    samples = [
        SampleRecord(
            index=i,
            status="no_answer" if g is None else "answered",
            prediction=None if g is None else str(g),
            correct=p,
            correct_strict=ok,
            correct_paper=p,
            group=g,
            eligible=g is not None,
            tokens=EACH,
        )
        for i, (g, ok, p) in enumerate(zip(groups, right, paper, strict=True))
    ]
    won = [g for g in groups if g is not None]
    chosen = None
    if won:
        best = max(set(won), key=lambda g: (won.count(g), -groups.index(g)))
        chosen = groups.index(best)
    n = len(samples)
    record = rec(
        id,
        strict=chosen is not None and right[chosen],
        paper=chosen is not None and paper[chosen],
        tokens=(100 * n, 50 * n),
    )
    vote = Vote(rule="majority", k=k, chosen=chosen, votes=2, early=n < k)
    return record.model_copy(update={"samples": samples, "vote": vote})


SAMPLED = (
    sampled("math/algebra/0", [0, 1, 1], [False, True, True]),
    sampled("math/algebra/1", [0, 0, 1], [True, True, False]),
    sampled("math/algebra/2", [None, 0, 1], [False, False, True]),
    sampled("math/algebra/3", [0, 0], [True, True]),
)


def plain_run(tmp_path: Path) -> Run:
    """pot, one attempt: 1 of 1 right, 1,500 tokens."""
    records = [rec("math/algebra/0", strict=True)]
    return load_run(write_run(tmp_path / "plain", records, dataset="math", method="pot"))


def test_points_per_k_of_a_sampled_run(tmp_path: Path) -> None:
    run = load_run(write_run(tmp_path / "voted", SAMPLED, dataset="math", samples=3))
    assert attempts(run) == 3
    got = points(run)
    assert [p.k for p in got] == [1, 2, 3]
    assert [p.correct for p in got] == [2, 2, 3] and {p.n for p in got} == {4}
    assert [p.tokens_per_problem for p in got] == [150, 300, 412.5]
    assert got[2].interval == wilson(3, 4)
    # the last point is the run itself: its records' voted verdicts and summed tokens
    assert got[2].correct == sum(r.correct_strict for r in run.records)
    assert got[2].tokens == sum(r.tokens.total for r in run.records)


def test_a_run_of_one_attempt_is_one_point(tmp_path: Path) -> None:
    records = [rec("math/algebra/0", strict=True), rec("math/algebra/1", strict=False)]
    run = load_run(write_run(tmp_path / "one", records, dataset="math"))
    assert attempts(run) == 1
    (point,) = points(run)
    assert (point.k, point.n, point.correct, point.tokens_per_problem) == (1, 2, 1, 1500)


def test_strict_at_elects_like_vote_at_and_takes_the_strict_verdict() -> None:
    for record in SAMPLED:
        for k in (1, 2, 3):
            assert strict_at(record, k) == vote_at(record, k)[0]
    # the elected attempt is right only under the paper rule: vote_at follows the run's rule
    # (correct), the equal-cost view strict scoring like the rest of the report
    lenient = sampled("math/algebra/9", [0, 0, 1], [False, False, True], paper=[True, True, False])
    assert vote_at(lenient, 3)[0] is True and strict_at(lenient, 3) is False


def test_table_rows_per_run_and_per_k(tmp_path: Path) -> None:
    voted = load_run(write_run(tmp_path / "voted", SAMPLED, dataset="math", samples=3))
    plain = plain_run(tmp_path)
    table = equal_cost_table([plain, voted])
    assert table.name == "equal_cost"
    assert table.column("method") == ["pot", "creator", "creator", "creator"]
    assert table.column("k") == [1, 1, 2, 3]
    assert table.column("accuracy") == [1.0, 0.5, 0.5, 0.75]
    assert table.column("tokens per problem") == [1500, 150, 300, 412.5]
    assert table.column("run") == [plain.name, voted.name, voted.name, voted.name]
    header, rows = read_csv(to_csv(table))
    cells = dict(zip(header, rows[3], strict=True))
    low, high = wilson(3, 4) or (0, 0)
    assert float(cells["accuracy ci low"]) == pytest.approx(low, abs=1e-4)
    assert float(cells["accuracy ci high"]) == pytest.approx(high, abs=1e-4)
    assert "| creator | gpt-4o-mini | MATH | 3 | 4 | 75.0% |" in to_markdown(table)


def test_figure_draws_each_run_at_its_tokens(tmp_path: Path) -> None:
    voted = load_run(write_run(tmp_path / "voted", SAMPLED, dataset="math", samples=3))
    plain = plain_run(tmp_path)
    spec = equal_cost_figure([plain, voted])
    assert spec is not None and spec.name == "accuracy_by_tokens" and spec.x == ()
    one, many = spec.series
    assert one.x == (1500,) and one.y == (1.0,) and "k = 1.." not in one.label
    assert many.x == (150, 300, 412.5) and many.y == (0.5, 0.5, 0.75)
    assert many.label.endswith("(k = 1..3, left to right)")
    figure = save(spec, tmp_path / "tokens.png")
    lines = figure.axes[0].get_lines()
    assert numpy.asarray(lines[1].get_xdata(), dtype=float).tolist() == [150, 300, 412.5]
    assert numpy.asarray(lines[1].get_ydata(), dtype=float).tolist() == [50, 50, 75]
    described = json.loads(metadata(spec)["Description"])
    assert described["lines"][1]["x"] == [150, 300, 412.5]
    assert equal_cost_figure([]) is None


def test_report_has_per_k_rows_from_a_real_sampled_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sandbox: Sandbox
) -> None:
    """pot with 3 attempts on 3 Creation Challenge problems, a scripted model answering right
    (R) or wrong (two different wrong answers, W and V) by attempt: creation/0 W R R,
    creation/1 R R W, creation/2 W V R; so the vote is right at k = 1, 2, 3 on 1, 1, 2."""
    plan = {"creation/0": "WRR", "creation/1": "RRW", "creation/2": "WVR"}

    def responder(
        messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
    ) -> str:
        assert context is not None and context.problem.answer is not None
        which = plan[context.problem.id][settings.sample_index // SAMPLE_STRIDE]
        answer = {"R": context.problem.answer, "W": "-1", "V": "-2"}[which]
        return f'```python\nprint("Final Answer: {answer}")\n```'

    run = tmp_path / "pot-k3"
    config = EvalConfig(dataset="creation", model="scripted", method="pot", limit=3, samples=3)
    model = ScriptedModel(responder=responder)
    asyncio.run(run_eval(config, out_dir=run, model=model, sandbox=sandbox, concurrency=1))
    out = tmp_path / "out"
    assert main(["report", str(run), "--out", str(out)]) == 0
    capsys.readouterr()
    header, rows = read_csv((out / "equal_cost.csv").read_text())
    table = [dict(zip(header, row, strict=True)) for row in rows]
    assert [row["k"] for row in table] == ["1", "2", "3"]
    assert [row["accuracy"] for row in table] == ["0.3333", "0.3333", "0.6667"]
    records = load_run(run).records
    spent = [float(row["tokens per problem"]) for row in table]
    assert spent[0] < spent[1] < spent[2]
    assert spent[2] == pytest.approx(sum(r.tokens.total for r in records) / 3, abs=0.01)
    assert (out / "accuracy_by_tokens.png").exists()
    assert "(accuracy_by_tokens.png)" in (out / "report.md").read_text()
