"""Reading run directories: typed errors naming the path, and never a write into the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from creator.errors import InputError
from creator.models.reference import REFERENCE_LABEL
from creator.report.runs import load_run, load_runs
from tests.report.conftest import rec, write_run


def test_a_run_is_read_with_its_config_and_records(math_run: Path) -> None:
    run = load_run(math_run)
    assert run.config.dataset == "math" and run.config.model == "gpt-4o-mini"
    assert len(run.records) == 6
    assert not run.replay and run.model_label == "gpt-4o-mini"
    assert run.label == "creator · gpt-4o-mini" and run.dataset_label == "MATH"


def test_a_replay_is_labelled_as_one(tmp_path: Path) -> None:
    path = write_run(tmp_path / "r", [rec("creation/0", strict=True)], dataset="creation",
                     model="reference", hint="all")  # fmt: skip
    run = load_run(path)
    assert run.replay and run.model_label == REFERENCE_LABEL
    assert "not an LLM" in run.label and "replay" in run.label
    assert run.dataset_label == "Creation Challenge (all hints)"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.write_text("x"), r"is not a run directory \(it is a file\)"),
        (lambda p: p.mkdir(), "has no config.json"),
    ],
)
def test_unusable_paths_are_input_errors_naming_the_path(tmp_path: Path, setup, message) -> None:
    path = tmp_path / "run"
    setup(path)
    with pytest.raises(InputError, match=message) as caught:
        load_run(path)
    assert str(path) in str(caught.value)


def test_a_run_without_results_is_an_input_error(math_run: Path) -> None:
    (math_run / "results.jsonl").unlink()
    with pytest.raises(InputError, match="has no results yet"):
        load_run(math_run)
    (math_run / "results.jsonl").write_text("")
    with pytest.raises(InputError, match="holds no finished record"):
        load_run(math_run)


def test_corrupt_files_are_input_errors(math_run: Path) -> None:
    results = math_run / "results.jsonl"
    lines = results.read_text().splitlines(keepends=True)
    results.write_text(lines[0] + "{not json}\n" + "".join(lines[1:]))
    with pytest.raises(InputError, match="corrupt line") as caught:
        load_run(math_run)
    assert str(results) in str(caught.value)
    (math_run / "config.json").write_text("[1, 2")
    with pytest.raises(InputError, match="not a creator evaluation config"):
        load_run(math_run)


def test_a_torn_last_line_is_skipped_and_the_run_left_as_it_was(math_run: Path) -> None:
    results = math_run / "results.jsonl"
    with results.open("a") as handle:
        handle.write('{"id": "math/algebra/9", "dataset": "ma')  # a run still writing
    before = results.read_bytes()
    assert len(load_run(math_run).records) == 6
    assert results.read_bytes() == before


def test_runs_come_in_the_paper_order_and_once(math_run: Path, pot_run: Path) -> None:
    runs = load_runs([math_run, pot_run, math_run / ".." / math_run.name])
    assert [r.config.method for r in runs] == ["pot", "creator"]
    with pytest.raises(InputError, match="no run directory"):
        load_runs([])
