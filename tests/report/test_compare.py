"""``creator compare``: the paired statistics, the comparison of two runs, and the command.

Exact McNemar values are checked against hand computations: 8 against 2 discordant pairs
give p = 2 * (C(10,0) + C(10,1) + C(10,2)) / 2^10 = 2 * 56 / 1024 = 0.109375.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from creator import ReferenceModel, ScriptedModel
from creator.cli.main import main
from creator.errors import InputError
from creator.eval import EvalConfig, run_eval
from creator.eval.records import ProblemRecord, SampleRecord, Tokens, Vote
from creator.models.base import CallContext, GenerationSettings, Message
from creator.report.compare import compare_runs
from creator.report.costs import PriceTable, known_prices, parse_price
from creator.report.measures import wilson
from creator.report.runs import load_run
from creator.report.significance import mcnemar_exact, paired_bootstrap
from creator.sandbox.base import Sandbox
from tests.report.conftest import rec, write_run

NO_PRICES = PriceTable()


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


def one_line_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("creator: error: "), err
    return err


def math_ids(n: int) -> list[str]:
    return [f"math/algebra/{i}" for i in range(n)]


def paired_runs(tmp_path: Path, a: Sequence[bool], b: Sequence[bool]) -> tuple[Path, Path]:
    """Run A and run B on the same MATH ids, right where ``a`` and ``b`` say."""
    ids = math_ids(len(a))
    run_a = write_run(
        tmp_path / "a", [rec(i, strict=ok) for i, ok in zip(ids, a, strict=True)], dataset="math"
    )
    run_b = write_run(
        tmp_path / "b",
        [rec(i, strict=ok, tokens=(2000, 1000)) for i, ok in zip(ids, b, strict=True)],
        dataset="math",
        method="pot",
    )
    return run_a, run_b


# -- the statistics ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a_only", "b_only", "p"),
    [
        (8, 2, 0.109375),  # 2 * 56 / 1024
        (2, 8, 0.109375),  # two-sided: symmetric
        (0, 5, 0.0625),  # 2 * 1 / 32
        (1, 1, 1.0),  # 2 * (1 + 2) / 4 = 1.5, capped
        (0, 0, 1.0),  # no discordant pair
        (7, 13, 0.26317596435546875),  # 2 * sum C(20, 0..7) / 2^20 = 2 * 137980 / 1048576
    ],
)
def test_mcnemar_exact(a_only: int, b_only: int, p: float) -> None:
    assert mcnemar_exact(a_only, b_only) == pytest.approx(p, rel=1e-12)


def test_mcnemar_refuses_negative_counts() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        mcnemar_exact(-1, 2)


def test_paired_bootstrap_is_seeded_and_brackets_the_difference() -> None:
    first = paired_bootstrap(2, 8, 40, resamples=5000, seed=7)
    assert first == paired_bootstrap(2, 8, 40, resamples=5000, seed=7)
    seven, eight = (paired_bootstrap(100, 130, 1000, seed=seed) for seed in (7, 8))
    assert (seven.low, seven.high) != (eight.low, eight.high)  # the seed matters
    assert first.low < 6 / 40 < first.high  # the observed difference, B - A
    assert first.low > -0.1 and first.high < 0.4
    # no discordant pair: every resample's difference is 0
    same = paired_bootstrap(0, 0, 10)
    assert (same.low, same.high) == (0.0, 0.0)
    # every pair discordant one way: B - A is exactly 1 in every resample
    assert (paired_bootstrap(0, 5, 5).low, paired_bootstrap(0, 5, 5).high) == (1.0, 1.0)
    with pytest.raises(ValueError, match="resamples"):
        paired_bootstrap(1, 1, 4, resamples=0)
    with pytest.raises(ValueError, match="a_only \\+ b_only <= n"):
        paired_bootstrap(3, 3, 4)


def test_paired_bootstrap_matches_resampling_pairs() -> None:
    """The multinomial shortcut gives what resampling the pairs themselves gives."""
    import random

    a = [1] * 3 + [0] * 6 + [1] * 5 + [0] * 6
    b = [0] * 3 + [1] * 6 + [1] * 5 + [0] * 6
    draw = random.Random(1)
    diffs = sorted(
        sum(b[i] - a[i] for i in (draw.randrange(20) for _ in range(20))) / 20
        for _ in range(20_000)
    )
    naive = (diffs[500], diffs[19_499])
    fast = paired_bootstrap(3, 6, 20, resamples=20_000, seed=1)
    assert (fast.low, fast.high) == pytest.approx(naive, abs=0.051)  # one problem in 20


# -- the comparison ---------------------------------------------------------------------------


def test_overlapping_runs_known_mcnemar_table(tmp_path: Path) -> None:
    """20 problems: both right on 5, both wrong on 5, A alone on 2, B alone on 8."""
    a = [True] * 5 + [False] * 5 + [True] * 2 + [False] * 8
    b = [True] * 5 + [False] * 5 + [False] * 2 + [True] * 8
    run_a, run_b = paired_runs(tmp_path, a, b)
    result = compare_runs(load_run(run_a), load_run(run_b), prices=known_prices())
    assert result.n == 20 and (result.a.correct, result.b.correct) == (7, 13)
    assert result.difference == pytest.approx(0.3)
    assert result.p_value == pytest.approx(0.109375)
    assert result.a_not_b == ("math/algebra/10", "math/algebra/11")
    assert result.b_not_a == tuple(f"math/algebra/{i}" for i in range(12, 20))
    assert result.low <= 0 < 0.3 < result.high  # p = 0.11: the interval reaches 0
    assert result.a.interval == pytest.approx(wilson(7, 20))
    # gpt-4o-mini (conftest's default model) is in the price table: 1,000 in and 500 out
    # tokens per problem at 0.15 and 0.60 USD per 1M
    price = known_prices().get("gpt-4o-mini")
    assert price is not None
    cost = 20 * (1000 * price.input + 500 * price.output) / 1e6
    assert result.a.cost == pytest.approx(cost)
    assert result.a.cost_per_correct == pytest.approx(cost / 7)
    assert result.a.tokens_per_correct == pytest.approx(20 * 1500 / 7)
    assert result.b.tokens_per_problem == 3000
    assert result.notes == ()  # same problems, same scoring and settings, priced
    again = compare_runs(load_run(run_a), load_run(run_b), prices=known_prices())
    assert (again.low, again.high) == (result.low, result.high)  # seeded


def test_identical_runs_differ_by_nothing(tmp_path: Path) -> None:
    a = [True, False, True, True, False]
    run_a, run_b = paired_runs(tmp_path, a, a)
    result = compare_runs(load_run(run_a), load_run(run_b), prices=known_prices())
    assert result.difference == 0 and result.p_value == 1.0
    assert (result.low, result.high) == (0.0, 0.0)
    assert result.a_not_b == () and result.b_not_a == ()
    same = compare_runs(load_run(run_a), load_run(run_a), prices=known_prices())
    assert same.p_value == 1.0 and "same run directory" in same.notes[0]


def test_partly_overlapping_runs_compare_the_shared_problems(tmp_path: Path) -> None:
    ids = math_ids(6)
    run_a = write_run(tmp_path / "a", [rec(i, strict=True) for i in ids[:4]], dataset="math")
    run_b = write_run(tmp_path / "b", [rec(i, strict=False) for i in ids[1:]], dataset="math")
    result = compare_runs(load_run(run_a), load_run(run_b), prices=known_prices())
    assert result.n == 3 and (result.a.only, result.b.only) == (1, 2)
    assert (result.a.problems, result.b.problems) == (4, 5)
    assert result.a_not_b == tuple(ids[1:4])
    assert any("A has 1 that B lacks, B has 2 that A lacks" in n for n in result.notes)


def test_disjoint_runs_and_other_datasets_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_a = write_run(tmp_path / "a", [rec("math/algebra/0", strict=True)], dataset="math")
    run_b = write_run(tmp_path / "b", [rec("math/algebra/1", strict=True)], dataset="math")
    err = one_line_error(capsys, "compare", str(run_a), str(run_b))
    assert "share no problem" in err and "nothing to compare" in err
    run_c = write_run(tmp_path / "c", [rec("creation/0", strict=True)], dataset="creation")
    err = one_line_error(capsys, "compare", str(run_a), str(run_c))
    assert "MATH run" in err and "Creation Challenge run" in err and "same dataset" in err
    mine = [rec("mine/0", strict=True, dataset="mine.jsonl")]
    old = write_run(tmp_path / "old", mine, dataset="mine.jsonl", dataset_sha256="1" * 64)
    new = write_run(tmp_path / "new", mine, dataset="mine.jsonl", dataset_sha256="2" * 64)
    err = one_line_error(capsys, "compare", str(old), str(new))
    assert "different versions of the dataset file 'mine.jsonl'" in err
    err = one_line_error(capsys, "compare", str(run_a), str(tmp_path / "missing"))
    assert "does not exist" in err


def test_unscored_records_are_left_out(tmp_path: Path) -> None:
    unscored = rec("math/algebra/1", strict=False).model_copy(update={"target": None})
    run_a = write_run(
        tmp_path / "a", [rec("math/algebra/0", strict=True), unscored], dataset="math"
    )
    run_b = write_run(
        tmp_path / "b", [rec("math/algebra/0", strict=False), unscored], dataset="math"
    )
    result = compare_runs(load_run(run_a), load_run(run_b), prices=known_prices())
    assert result.n == 1 and result.a_not_b == ("math/algebra/0",)
    run_c = write_run(tmp_path / "c", [unscored], dataset="math")
    with pytest.raises(Exception, match="share no problem"):
        compare_runs(load_run(run_a), load_run(run_c), prices=known_prices())


def test_different_scoring_and_settings_are_said(tmp_path: Path) -> None:
    """A scored strict, B paper: by default each by its own rule; --scoring picks one."""
    ids = math_ids(2)
    run_a = write_run(
        tmp_path / "a", [rec(i, strict=False, paper=True) for i in ids], dataset="math"
    )
    b_records = [rec(i, strict=False, paper=True).model_copy(update={"correct": True}) for i in ids]
    run_b = write_run(
        tmp_path / "b", b_records, dataset="math", scoring="paper", settings={"temperature": 0.7}
    )
    a, b = load_run(run_a), load_run(run_b)
    own = compare_runs(a, b, prices=known_prices())
    assert (own.a.scoring, own.b.scoring) == ("strict", "paper")
    assert (own.a.correct, own.b.correct) == (0, 2)
    assert any("A is scored strict and B paper" in n for n in own.notes)
    assert any("settings.temperature 0.3 vs 0.7" in n for n in own.notes)
    strict = compare_runs(a, b, prices=known_prices(), scoring="strict")
    assert (strict.a.correct, strict.b.correct) == (0, 0) and strict.p_value == 1.0
    assert not any("scored" in n for n in strict.notes)
    paper = compare_runs(a, b, prices=known_prices(), scoring="paper")
    assert (paper.a.correct, paper.b.correct) == (2, 2)


def test_tool_transfer_runs_compare_their_control_arms(tmp_path: Path) -> None:
    a_records = [
        rec("transfer/0/2", strict=False, arm="control"),
        rec("transfer/0/2", strict=False, arm="transfer"),
        rec("transfer/0/3", strict=True, arm="control"),
    ]
    b_records = [
        rec("transfer/0/2", strict=True, arm="control"),
        rec("transfer/0/2", strict=True, arm="transfer"),
        rec(
            "transfer/0/3", strict=False
        ),  # no arm: its scenario solved on its own, a control record
    ]
    run_a = write_run(tmp_path / "a", a_records, dataset="transfer")
    run_b = write_run(tmp_path / "b", b_records, dataset="transfer")
    result = compare_runs(load_run(run_a), load_run(run_b), prices=known_prices())
    assert result.n == 2 and result.b_not_a == ("transfer/0/2",)
    assert result.a_not_b == ("transfer/0/3",) and result.b.correct == 1
    assert any("control arms are compared" in note for note in result.notes)


def test_ids_sort_naturally_and_any_digit_is_safe(tmp_path: Path) -> None:
    ids = ["p10", "p2", "1\u00b2", "p1"]
    run_a = write_run(tmp_path / "a", [rec(i, strict=True) for i in ids], dataset="tabmwp")
    run_b = write_run(tmp_path / "b", [rec(i, strict=False) for i in ids], dataset="tabmwp")
    result = compare_runs(load_run(run_a), load_run(run_b), prices=known_prices())
    assert result.a_not_b == ("1\u00b2", "p1", "p2", "p10")


def test_a_negative_seed_or_too_many_resamples_is_one_line(tmp_path: Path) -> None:
    run = load_run(write_run(tmp_path / "a", [rec("p1", strict=True)], dataset="tabmwp"))
    with pytest.raises(InputError, match=r"--seed -1: must be 0 or more"):
        compare_runs(run, run, prices=known_prices(), seed=-1)
    with pytest.raises(InputError, match=r"--resamples 1000000000: must be from 1 to"):
        compare_runs(run, run, prices=known_prices(), resamples=10**9)


def test_mcnemar_stays_exact_and_fast_with_many_discordant_problems() -> None:
    assert mcnemar_exact(8, 2) == 0.109375
    assert mcnemar_exact(20_000, 20_010) == pytest.approx(0.96411186622397, rel=1e-12)  # scipy
    assert mcnemar_exact(0, 60_000) == 0.0


def sampled(
    id: str, groups: Sequence[int | None], correct: Sequence[bool], chosen: int, *, right: bool
) -> ProblemRecord:
    """A record of ``len(groups)`` attempts of 100 + 50 tokens each, voted ``right``."""
    samples = [
        SampleRecord(
            index=i,
            status="answered" if g is not None else "no_answer",
            prediction=None if g is None else str(g),
            correct=ok,
            correct_strict=ok,
            correct_paper=ok,
            group=g,
            eligible=g is not None,
            tokens=Tokens(prompt=100, completion=50, total=150),
        )
        for i, (g, ok) in enumerate(zip(groups, correct, strict=True))
    ]
    k = len(samples)
    return rec(id, strict=right, tokens=(100 * k, 50 * k)).model_copy(
        update={"samples": samples, "vote": Vote(rule="majority", k=k, chosen=chosen, votes=2)}
    )


def test_a_sampled_run_is_compared_by_its_voted_answers(tmp_path: Path) -> None:
    ids = math_ids(2)
    run_a = write_run(tmp_path / "a", [rec(i, strict=False) for i in ids], dataset="math")
    b_records = [
        sampled(ids[0], [0, 1, 1], [False, True, True], chosen=1, right=True),
        sampled(ids[1], [0, 0, 1], [False, False, True], chosen=0, right=False),
    ]
    run_b = write_run(tmp_path / "b", b_records, dataset="math", samples=3)
    result = compare_runs(load_run(run_a), load_run(run_b), prices=known_prices())
    assert result.b.samples == 3 and result.b.correct == 1
    assert (result.a.vote, result.b.vote) == (None, "majority")
    assert result.b_not_a == (ids[0],)  # the second problem's vote is wrong (2 against 1)
    assert result.b.tokens == 2 * 3 * 150  # every attempt's tokens
    assert any("B made up to 3 attempts per problem" in n for n in result.notes)


def test_cost_unknown_priced_and_replay(tmp_path: Path) -> None:
    ids = math_ids(2)
    run_a = write_run(
        tmp_path / "a", [rec(i, strict=True) for i in ids], dataset="math", model="my-llama"
    )
    replay_records = [rec(i, strict=True, tokens=(0, 0), replay=True) for i in ids]
    run_b = write_run(tmp_path / "b", replay_records, dataset="math", model="reference")
    a, b = load_run(run_a), load_run(run_b)
    result = compare_runs(a, b, prices=known_prices())
    assert result.a.cost == "unknown" and result.a.cost_per_correct == "unknown"
    assert result.a.unpriced == ("my-llama",)
    assert result.b.cost == "n/a (replay)" and result.b.replay
    assert any("no price for my-llama" in n for n in result.notes)
    assert any("B is the reference replay" in n for n in result.notes)
    priced = compare_runs(a, b, prices=NO_PRICES.with_overrides([parse_price("my-llama=1,2")]))
    assert priced.a.cost == pytest.approx(2 * (1000 * 1 + 500 * 2) / 1e6)
    assert priced.a.cost_per_correct == pytest.approx((1000 * 1 + 500 * 2) / 1e6)
    assert priced.b.cost == "n/a (replay)"  # the replay is never priced


def test_two_model_records_are_priced_per_model(tmp_path: Path) -> None:
    by_model = {
        "gpt-4o": Tokens(prompt=1000, completion=0, total=1000),
        "my-llama": Tokens(prompt=0, completion=500, total=500),
    }
    record = rec("math/algebra/0", strict=True).model_copy(
        update={"creation_model": "gpt-4o", "tokens_by_model": by_model}
    )
    run = load_run(write_run(tmp_path / "a", [record], dataset="math", model="my-llama"))
    prices = known_prices().with_overrides([parse_price("my-llama=0,4")])
    result = compare_runs(run, run, prices=prices)
    gpt4o = known_prices().get("gpt-4o")
    assert gpt4o is not None
    assert result.a.cost == pytest.approx((1000 * gpt4o.input + 500 * 4) / 1e6)
    assert compare_runs(run, run, prices=known_prices()).a.unpriced == ("my-llama",)


# -- the command ----------------------------------------------------------------------------


def test_compare_prints_both_runs_the_test_and_the_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = [False] * 12 + [True] * 3
    b = [True] * 12 + [False] * 3
    run_a, run_b = paired_runs(tmp_path, a, b)
    assert main(["compare", str(run_a), str(run_b)]) == 0
    out = capsys.readouterr().out
    assert "15 shared MATH problems" in out
    assert "creator · gpt-4o-mini" in out and "pot · gpt-4o-mini" in out
    assert "3 of 15" in out and "12 of 15" in out and "+60.0 pp" in out
    p = mcnemar_exact(3, 12)
    assert f"p = {p:.4g}" in out and "10,000 resamples, seed 0" in out
    assert "B solved, A did not (12)" in out and "2 more: --list shows all" in out
    assert "math/algebra/11" not in out  # the 11th id is past the first ten
    assert main(["compare", str(run_a), str(run_b), "--list"]) == 0
    assert "math/algebra/11" in capsys.readouterr().out
    assert main(["compare", str(run_a), str(run_b), "--json", "--seed", "3"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["shared"] == 15 and data["mcnemar_p"] == pytest.approx(p)
    assert data["a"]["correct"] == 3 and data["b"]["accuracy"] == pytest.approx(0.8)
    assert len(data["b_not_a"]) == 12 and data["bootstrap_seed"] == 3
    assert data["a"]["label"] == "creator · gpt-4o-mini"
    err = one_line_error(capsys, "compare", str(run_a), str(run_b), "--resamples", "0")
    assert "--resamples 0" in err
    err = one_line_error(capsys, "compare", str(run_a), str(run_b), "--price", "x=1")
    assert "MODEL=IN,OUT" in err


def test_compare_real_runs_a_replay_against_a_scripted_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sandbox: Sandbox
) -> None:
    """Run A: the reference replay; run B: a scripted model that gives the recorded solution
    for creation/0 and creation/1 only (a wrong answer elsewhere)."""

    def responder(
        messages: Sequence[Message], settings: GenerationSettings, context: CallContext | None
    ) -> str:
        assert context is not None and context.problem.reference is not None
        reference = context.problem.reference
        if context.problem.id not in ("creation/0", "creation/1"):
            return '```python\nprint("Final Answer: -987654321")\n```'
        code = reference.tool if context.stage == "creation" else reference.solution
        return f"```python\n{code}\n```"

    run_a, run_b = tmp_path / "replay", tmp_path / "scripted"
    asyncio.run(
        run_eval(
            EvalConfig(dataset="creation", model="reference", limit=4),
            out_dir=run_a,
            model=ReferenceModel(),
            sandbox=sandbox,
        )
    )
    asyncio.run(
        run_eval(
            EvalConfig(dataset="creation", model="scripted", limit=5),
            out_dir=run_b,
            model=ScriptedModel(responder=responder),
            sandbox=sandbox,
        )
    )
    assert main(["compare", str(run_a), str(run_b), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    replay, scripted = data["a"], data["b"]
    assert data["shared"] == 4 and scripted["only_here"] == 1
    assert replay["replay"] is True and replay["cost_usd"] == "n/a (replay)"
    assert "not an LLM" in replay["label"]
    assert scripted["cost_usd"] == "unknown" and scripted["unpriced_models"] == ["scripted"]
    wrong_b = {"creation/2", "creation/3"} & set(data["a_not_b"])
    assert not set(data["b_not_a"]) and wrong_b == set(data["a_not_b"])
    assert main(["compare", str(run_a), str(run_b), "--price", "scripted=1,1"]) == 0
    out = capsys.readouterr().out
    assert "n/a (replay)" in out and "unknown" not in out
    assert "A is the reference replay" in out
