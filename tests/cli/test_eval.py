"""``creator eval`` as a user runs it: a real process, the reference replay, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_solve import creator, one_line_error


def test_eval_reference_replay_writes_results_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ("eval", "--dataset", "creation", "--model", "reference", "--limit", "6")
    proc = creator(*args, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "replay of recorded dataset solutions" in proc.stdout
    assert "accuracy" in proc.stdout
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 6
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 6 and summary["replay"] is True
    again = creator(*args, "--out", str(out))
    assert again.returncode == 0 and "6 of 6 problems already finished" in again.stdout
    assert len((out / "results.jsonl").read_text().splitlines()) == 6
    changed = creator(*args, "--rectify-rounds", "1", "--out", str(out))
    assert "different settings (rectify_rounds: 3 in the run, 1 now)" in one_line_error(changed)


def test_eval_bad_selection_is_a_one_line_error(tmp_path: Path) -> None:
    proc = creator(
        "eval", "--dataset", "math", "--subject", "alegbra", "--model", "m",
        "--base-url", "http://127.0.0.1:9/v1", "--out", str(tmp_path / "x"),
    )  # fmt: skip
    assert "unknown subject 'alegbra'" in one_line_error(proc)
    proc = creator(
        "eval", "--dataset", "math", "--model", "reference", "--out", str(tmp_path / "y")
    )
    assert "no recorded solutions for math" in one_line_error(proc)


def test_an_internal_bug_is_one_line_with_status_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from creator.cli import doctor, main

    def broken(args: object) -> int:
        raise RuntimeError("something\nwent wrong")

    monkeypatch.setattr(doctor, "run", broken)
    monkeypatch.delenv("CREATOR_DEBUG", raising=False)
    assert main.main(["doctor"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: RuntimeError: something went wrong" in err


def test_the_run_directory_exists_and_is_hidden_when_the_sandbox_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its records hold the targets: the first workers must already hide it (a path that does
    not exist yet cannot be hidden)."""
    import creator.sandbox
    from creator.cli.main import main
    from creator.errors import SandboxError

    seen: list[tuple[bool, list[str]]] = []

    def record(level: str, **options: object) -> None:
        hide = [str(path) for path in options["hide"]]  # type: ignore[attr-defined]
        seen.append((all(Path(path).is_dir() for path in hide), hide))
        raise SandboxError("stop here")

    monkeypatch.setattr(creator.sandbox, "make_sandbox", record)
    out = tmp_path / "fresh" / "run"
    args = ["eval", "--dataset", "creation", "--model", "reference", "--limit", "1"]
    assert main([*args, "--out", str(out)]) == 2
    assert seen == [(True, [str(out)])]
