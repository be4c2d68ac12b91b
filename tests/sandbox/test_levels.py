"""Choosing the isolation level, the report, and the named ``none`` level."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from creator.errors import SandboxError
from creator.sandbox import (
    CodePart,
    Sandbox,
    SubprocessSandbox,
    WorkerPool,
    isolation_report,
    launch,
    make_sandbox,
)

from .conftest import HAVE_BWRAP, LIMITS, RLIMITS_REFUSAL, needs_bwrap, run


@needs_bwrap
def test_auto_uses_bwrap_when_it_works() -> None:
    report = isolation_report("auto")
    assert report.level == "bwrap" and report.warning is None
    assert "seccomp on" in report.detail


def test_auto_falls_back_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(launch, "probe_bwrap", lambda: "bwrap not found on PATH")
    if RLIMITS_REFUSAL is not None:  # root, and the fallback could not read the interpreter
        with pytest.raises(SandboxError, match=r"bwrap is unavailable \(bwrap not found"):
            isolation_report("auto")
        return
    report = isolation_report("auto")
    assert report.level == "rlimits"
    assert report.warning and "NOT isolated from your files" in report.warning
    assert "bwrap not found" in report.warning
    with caplog.at_level(logging.WARNING, logger="creator.sandbox"):
        box = make_sandbox("auto", workers=1, warm=[])
    try:
        assert isinstance(box, WorkerPool) and box.isolation == "rlimits"
        assert any("NOT isolated" in r.message for r in caplog.records)
        assert run(box, "print('fallback')").isolation == "rlimits"
    finally:
        box.close()
    with pytest.raises(SandboxError, match="unavailable: bwrap not found"):
        make_sandbox("bwrap")


def test_unknown_level_is_an_error() -> None:
    with pytest.raises(SandboxError, match="unknown sandbox level"):
        make_sandbox("docker")


def test_none_is_a_subprocess_with_only_the_timeout() -> None:
    report = isolation_report("none")
    assert report.level == "none" and report.warning
    box = make_sandbox("none", limits=LIMITS)
    assert isinstance(box, SubprocessSandbox) and isinstance(box, Sandbox)
    result = run(box, f"import os\nprint(os.getpid() != {os.getpid()})")
    assert result.ok and result.stdout == "True\n" and result.isolation == "none"
    assert run(box, "import time\ntime.sleep(100)", timeout_s=0.5).timed_out
    box.close()


@pytest.mark.skipif(not HAVE_BWRAP, reason="bubblewrap is not installed")
def test_sandboxes_satisfy_the_protocol(bwrap_box: WorkerPool) -> None:
    assert isinstance(bwrap_box, Sandbox)
    assert bwrap_box.isolation == "bwrap"
    result = bwrap_box.run_sync([CodePart(name="decision", code="print('hi')")])
    assert result.isolation == "bwrap"


def test_rlimits_as_root_is_refused_when_its_uid_cannot_read_the_interpreter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    open_dir = Path(tempfile.mkdtemp(prefix="creator-levels-"))  # not under a private basetemp
    open_dir.chmod(0o755)
    private = open_dir / "private"
    (private / "python").mkdir(parents=True)
    private.chmod(0o700)
    assert launch._unreadable([str(private / "python")]) == str(private)
    assert launch._unreadable(["/usr/bin/env"]) is None
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(launch, "_python_roots", lambda: [str(private / "python")])
    monkeypatch.setattr(sys, "executable", str(private / "python" / "bin" / "python3"))
    refusal = launch.rlimits_refusal()
    assert refusal and f"cannot read {private}" in refusal
    with pytest.raises(SandboxError, match="runs generated code as an unprivileged uid"):
        make_sandbox("rlimits")
    shutil.rmtree(open_dir)
