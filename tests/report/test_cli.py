"""``creator report`` through ``creator.cli.main.main``: files written, one-line errors."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from creator.cli.main import main
from creator.eval import EvalConfig, run_eval
from creator.models import ReferenceModel
from creator.report.tables import read_csv
from creator.sandbox.base import Sandbox
from tests.report.conftest import rec, write_run


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")


def one_line_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("creator: error: "), err
    assert "Traceback" not in err
    return err


def test_report_writes_markdown_csv_and_figures(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    math_run: Path,
    pot_run: Path,
    creation_runs: list[Path],
    transfer_run: Path,
) -> None:
    out = tmp_path / "out"
    argv = ["report", str(math_run), str(pot_run), *map(str, creation_runs), str(transfer_run)]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"report: {out / 'report.md'}" in printed
    assert "Accuracy by method and dataset" in printed and "gpt-4o-mini" in printed
    assert "not an LLM" in printed  # the reference run among them
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        ["report.md", "accuracy_by_level.png", "accuracy_by_rounds.png", "accuracy_by_tokens.png"]
        + [f"{n}.csv" for n in ("method_by_dataset", "math_by_subject", "math_by_level",
                                 "creation_by_hint", "transfer", "accuracy_by_rounds", "costs",
                                 "equal_cost", "runs")]
    )  # fmt: skip
    markdown = (out / "report.md").read_text()
    for link in ("(accuracy_by_level.png)", "(accuracy_by_rounds.png)", "(transfer.csv)"):
        assert link in markdown
    assert "**Replay.**" in markdown and "| 50.0% |" in markdown
    header, rows = read_csv((out / "creation_by_hint.csv").read_text())
    assert header[2:8] == ["no hint n", "no hint", "no hint ci low", "no hint ci high",
                           "utility hint n", "utility hint"]  # fmt: skip
    gpt = dict(zip(header, next(row for row in rows if row[1] == "gpt-4o-mini"), strict=True))
    hints = ("no hint n", "no hint", "utility hint n", "utility hint", "all hints n", "all hints")
    assert [gpt[h] for h in hints] == ["2", "0.5", "2", "1.0", "4", "0.25"]
    # the 95% Wilson interval of 1 of 2 (not the ± of Markdown, which is display only)
    assert (gpt["no hint ci low"], gpt["no hint ci high"]) == ("0.0945", "0.9055")
    assert "no hint ±" not in header


def test_a_second_report_removes_what_no_longer_applies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], math_run: Path, creation_runs: list[Path]
) -> None:
    out = tmp_path / "out"
    (tmp_path / "keep").mkdir()
    assert main(["report", str(math_run), "--out", str(out)]) == 0
    assert (out / "accuracy_by_level.png").exists() and (out / "math_by_subject.csv").exists()
    (out / "mine.txt").write_text("not the report's")
    assert main(["report", str(creation_runs[0]), "--out", str(out)]) == 0
    assert not (out / "accuracy_by_level.png").exists()
    assert not (out / "math_by_subject.csv").exists()
    assert (out / "mine.txt").exists()
    assert "MATH levels" in capsys.readouterr().out


def test_the_default_out_is_report_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, math_run: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(math_run)]) == 0
    assert (tmp_path / "report" / "report.md").exists()
    assert sorted(p.name for p in math_run.iterdir()) == ["config.json", "results.jsonl"]


def test_prices_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = write_run(tmp_path / "r", [rec("creation/0", strict=True)], dataset="creation",
                    model="my-llama")  # fmt: skip
    out = tmp_path / "out"
    assert main(["report", str(run), "--out", str(out), "--price", "my-llama=1,2"]) == 0
    header, rows = read_csv((out / "costs.csv").read_text())
    costs = dict(zip(header, rows[0], strict=True))
    assert float(costs["cost"]) == pytest.approx(0.002)
    assert costs["USD per 1M in"] == "1.0"
    assert "bad" in one_line_error(capsys, "report", str(run), "--price", "bad")


def test_reasoning_tokens_reach_the_files(tmp_path: Path) -> None:
    records = [
        rec("creation/0", strict=True, tokens=(100, 900), reasoning=800),
        rec("creation/1", strict=True, tokens=(100, 1900), reasoning=1700),
    ]
    run = write_run(tmp_path / "r", records, dataset="creation", model="o-mini")
    out = tmp_path / "out"
    assert main(["report", str(run), "--out", str(out), "--price", "o-mini=1,2"]) == 0
    header, rows = read_csv((out / "costs.csv").read_text())
    costs = dict(zip(header, rows[0], strict=True))
    assert costs["reasoning tokens"] == "2500" and costs["completion tokens"] == "2800"
    assert float(costs["cost"]) == pytest.approx((200 * 1 + 2800 * 2) / 1e6)
    assert "| 2,500 |" in (out / "report.md").read_text()


def test_without_matplotlib_the_tables_are_still_written(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    math_run: Path,
) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "out"
    assert main(["report", str(math_run), "--out", str(out)]) == 0
    assert "pip install 'creator[report]'" in capsys.readouterr().out
    assert (out / "math_by_level.csv").exists() and not list(out.glob("*.png"))
    assert "uv sync --extra report" in (out / "report.md").read_text()


def test_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], math_run: Path
) -> None:
    missing = tmp_path / "nope"
    assert f"{missing} does not exist" in one_line_error(capsys, "report", str(missing))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "has no config.json" in one_line_error(capsys, "report", str(empty))
    (math_run / "results.jsonl").rename(tmp_path / "moved.jsonl")
    assert "has no results yet" in one_line_error(capsys, "report", str(math_run))
    lines = (tmp_path / "moved.jsonl").read_text().splitlines(keepends=True)
    corrupt = "".join([lines[0], "garbage\n", *lines[1:]])
    (math_run / "results.jsonl").write_text(corrupt)
    err = one_line_error(capsys, "report", str(math_run), "--out", str(tmp_path / "o"))
    assert "corrupt line" in err and str(math_run / "results.jsonl") in err
    assert (math_run / "results.jsonl").read_text() == corrupt
    assert not (tmp_path / "o").exists()


def test_a_report_never_writes_into_a_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], math_run: Path, pot_run: Path
) -> None:
    before = sorted(p.name for p in pot_run.iterdir())
    err = one_line_error(capsys, "report", str(math_run), "--out", str(pot_run))
    assert "is a run directory" in err
    err = one_line_error(capsys, "report", str(math_run), "--out", str(math_run))
    assert "is a run directory" in err
    assert sorted(p.name for p in pot_run.iterdir()) == before
    a_file = tmp_path / "file"
    a_file.write_text("")
    assert "is a file" in one_line_error(capsys, "report", str(math_run), "--out", str(a_file))


def test_a_real_replay_run_is_reported_as_a_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sandbox: Sandbox
) -> None:
    run = tmp_path / "cc"
    config = EvalConfig(dataset="creation", model="reference", limit=3)
    asyncio.run(run_eval(config, out_dir=run, model=ReferenceModel(), sandbox=sandbox))
    out = tmp_path / "out"
    assert main(["report", str(run), "--out", str(out)]) == 0
    assert "not an LLM" in capsys.readouterr().out
    header, rows = read_csv((out / "costs.csv").read_text())
    costs = dict(zip(header, rows[0], strict=True))
    assert costs["n"] == "3" and costs["cost"] == "n/a (replay)"
    assert "replay" in costs["model"] and "not an LLM" in costs["model"]


def test_figure_formats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], math_run: Path, pot_run: Path
) -> None:
    from xml.etree import ElementTree

    out = tmp_path / "out"
    assert main(["report", str(math_run), str(pot_run), "--out", str(out),
                 "--format", "png,svg,pdf"]) == 0  # fmt: skip
    figures = sorted(p.name for p in out.iterdir() if p.suffix in (".png", ".svg", ".pdf"))
    assert figures == sorted(
        f"accuracy_by_{name}.{fmt}"
        for name in ("level", "rounds", "tokens")
        for fmt in ("png", "svg", "pdf")
    )
    for path in out.glob("*.svg"):
        assert ElementTree.parse(path).getroot().tag.endswith("svg")
    for path in out.glob("*.pdf"):
        assert path.read_bytes().startswith(b"%PDF")
    assert "(accuracy_by_level.png)" in (out / "report.md").read_text()
    assert "9 figure(s)" in capsys.readouterr().out
    # SVG alone: the PNG and PDF files of the last report go, the Markdown shows the SVG
    assert main(["report", str(math_run), "--out", str(out), "--format", "svg"]) == 0
    assert sorted(p.name for p in out.iterdir() if p.suffix in (".png", ".svg", ".pdf")) == [
        "accuracy_by_level.svg", "accuracy_by_rounds.svg", "accuracy_by_tokens.svg",
    ]  # fmt: skip
    markdown = (out / "report.md").read_text()
    assert "(accuracy_by_level.svg)" in markdown and ".png)" not in markdown
    # PDF alone: linked, not shown as an image
    assert main(["report", str(math_run), "--out", str(out), "--format", "pdf"]) == 0
    assert (
        "Figure: [Accuracy by MATH difficulty level](accuracy_by_level.pdf)"
        in (out / "report.md").read_text()
    )
    err = one_line_error(capsys, "report", str(math_run), "--out", str(tmp_path / "o"),
                         "--format", "png,gif")  # fmt: skip
    assert "'gif' is not a figure format" in err and "png, svg, pdf" in err
    assert not (tmp_path / "o").exists()
