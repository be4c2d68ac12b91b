"""``creator exec FILE``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from creator.cli.main import main

from .conftest import RLIMITS_REFUSAL


def test_json_result_and_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "solution.py"
    script.write_text("def f(x):\n    return 1 / x\n\nprint('hi')\nf(0)\n")
    assert main(["exec", str(script), "--json", "--sandbox", "none", "--timeout", "5"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["stdout"] == "hi\n" and result["ok"] is False and result["isolation"] == "none"
    assert 'File "solution.py", line 5' in result["traceback"]
    assert 'File "solution.py", line 2, in f' in result["traceback"]


def test_plain_output_and_success(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "ok.py"
    script.write_text("print(2 + 2)\n")
    assert main(["exec", str(script), "--sandbox", "none"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "4\n"
    assert "ok" in captured.err and "sandbox none" in captured.err


def test_timeout_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "slow.py"
    script.write_text("import time\ntime.sleep(30)\n")
    argv = ["exec", str(script), "--json", "--sandbox", "rlimits", "--timeout", "0.5"]
    if RLIMITS_REFUSAL is not None:  # root with an interpreter other users cannot read
        assert main(argv) == 2
        error = capsys.readouterr().err.strip()
        assert error.startswith("creator: error: sandbox level 'rlimits' as root")
        assert "\n" not in error
        return
    assert main(argv) == 1
    assert json.loads(capsys.readouterr().out)["timed_out"] is True


def test_missing_file_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exec", "/nonexistent/x.py", "--sandbox", "none"]) == 2
    assert capsys.readouterr().err.strip() == "creator: error: file not found: /nonexistent/x.py"
