"""The sandbox battery once more as an ordinary user, when the suite itself runs as root.

As root the sandbox drops each worker to a random unprivileged uid of its own and bounds jobs
with cgroups; as an ordinary user bubblewrap makes the user namespace and the worker watches
its jobs' memory itself. CI runs as root, so without this test only the root mode would be
exercised there. When the suite runs as an ordinary user, it already is the ordinary-user
run, and the test only says so.

The ``rlimits`` level as root runs code as an unprivileged uid, which cannot start an
interpreter that lives under /root (as CI's does): the main run skips those tests, and a
second run here, as root in the same readable world, runs them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from .as_user import (
    NOBODY,
    lookup_chain,
    plan_reveals,
    readable_world_command,
    run_pytest,
    work_base,
)
from .conftest import RLIMITS_SKIP

PROJECT = Path(__file__).resolve().parents[2]
# tests/sandbox without this file: 200 tests when written, 177 of them run as nobody. Fewer
# passing means something failed to run (or was deleted): lower this on purpose, not by accident.
MIN_PASSED = 160
# How the reasons of skips that are legitimate as an ordinary user begin: tests of what only root
# does, and job cgroups (an ordinary user has none delegated). Any other skip (no bubblewrap, no
# seccomp, ...) is a gap in what this run was meant to cover.
ALLOWED_SKIPS = (
    "root only",
    "not root",
    "needs root",
    "job cgroups are unusable here and we are not root",
)
TIMEOUT_S = 600.0
TAIL_LINES = 150


def _count(summary: str, word: str) -> int:
    found = re.search(rf"(\d+) {word}\b", summary)
    return int(found.group(1)) if found else 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux namespaces")
def test_sandbox_battery_as_an_ordinary_user() -> None:
    if os.geteuid() != 0:
        # The battery this test belongs to is running as an ordinary user right now.
        assert os.geteuid() != 0
        return
    done = run_pytest(
        ["tests/sandbox", "-q", "-rs", "--ignore=tests/sandbox/test_as_user.py"],
        uid=NOBODY,
        gid=NOBODY,
        timeout=TIMEOUT_S,
        cwd=str(PROJECT),
    )
    lines = done.stdout.splitlines()
    summary = next((s for s in reversed(lines) if re.search(r"\d+ (passed|failed)", s)), "")
    passed, skipped = _count(summary, "passed"), _count(summary, "skipped")
    problems: list[str] = []
    if done.returncode != 0:
        problems.append(f"exit status {done.returncode}")
    if passed < MIN_PASSED:
        problems.append(f"{passed} passed, expected at least {MIN_PASSED}")
    skips = [m for s in lines if (m := re.match(r"SKIPPED \[(\d+)\] \S+: (.*)", s))]
    if (listed := sum(int(m.group(1)) for m in skips)) != skipped:
        problems.append(f"{skipped} skipped but {listed} listed by -rs")
    problems += [
        f"skip not allowed as an ordinary user: {m.group(0)}"
        for m in skips
        if not m.group(2).startswith(ALLOWED_SKIPS)
    ]
    if problems:
        tail = "\n".join(lines[-TAIL_LINES:])
        pytest.fail(
            f"tests/sandbox as uid {NOBODY}: {'; '.join(problems)}\n"
            f"summary: {summary or '(none)'}\n--- child output (last {TAIL_LINES} lines) ---\n"
            f"{tail}",
            pytrace=False,
        )


# The files that use the rlimits level, and how many of their tests pass as root at least.
RLIMITS_FILES = (
    *("test_fallback.py", "test_escapes.py", "test_report.py", "test_exec_cmd.py"),
    "test_undumpable.py",
)
RLIMITS_MIN_PASSED = 30


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux namespaces")
def test_rlimits_as_root_where_its_uid_can_read_the_interpreter() -> None:
    if os.geteuid() != 0:
        assert os.geteuid() != 0  # the rlimits level ran as this ordinary user already
        return
    files = [f"tests/sandbox/{name}" for name in RLIMITS_FILES]
    done = run_pytest([*files, "-q", "-rs"], uid=0, gid=0, timeout=TIMEOUT_S, cwd=str(PROJECT))
    lines = done.stdout.splitlines()
    summary = next((s for s in reversed(lines) if re.search(r"\d+ (passed|failed)", s)), "")
    problems = [f"exit status {done.returncode}"] if done.returncode else []
    if (passed := _count(summary, "passed")) < RLIMITS_MIN_PASSED:
        problems.append(f"{passed} passed, expected at least {RLIMITS_MIN_PASSED}")
    problems += [f"still skipped: {line}" for line in lines if RLIMITS_SKIP in line]
    if problems:
        tail = "\n".join(lines[-TAIL_LINES:])
        pytest.fail(f"rlimits as root: {'; '.join(problems)}\n{tail}", pytrace=False)


def test_lookup_chain_follows_symlinks(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    (root / "base" / "bin").mkdir(parents=True)
    (root / "base" / "bin" / "python3.11").write_text("")
    (root / "base" / "bin" / "python3").symlink_to("python3.11")
    (root / "venv" / "bin").mkdir(parents=True)
    (root / "venv" / "bin" / "python").symlink_to("../../base/bin/python3")
    assert lookup_chain(str(root / "venv" / "bin" / "python")) == [
        str(root / "venv" / "bin"),
        str(root / "base" / "bin"),
        str(root / "base" / "bin" / "python3.11"),
    ]


@pytest.mark.skipif(os.geteuid() != 0, reason="root only: mounts in a private namespace")
def test_readable_world_reveals_only_the_needed_paths(tmp_path: Path) -> None:
    top = tmp_path.resolve()
    blocked, kept, inner = top / "a", top / "a" / "b", top / "a" / "b" / "c"
    (inner / "d" / "one").mkdir(parents=True)
    (kept / "x").mkdir()
    (inner / "d" / "one" / "f.txt").write_text("one\n")
    (kept / "x" / "two.txt").write_text("two\n")
    (kept / "sibling.txt").write_text("three\n")
    (blocked / "e").mkdir()
    (blocked / "e" / "four.txt").write_text("four\n")
    (blocked / "hidden.txt").write_text("secret\n")
    for path in (top, *top.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    blocked.chmod(0o700)
    inner.chmod(0o700)
    needed = [str(kept), str(inner / "d" / "one"), str(kept / "x" / "two.txt")]
    needed.append(str(blocked / "e" / "four.txt"))  # a second path under the same blocker
    steps = plan_reveals(needed)
    assert str(inner) in [step.blocker for step in steps]  # brought back by binding b back
    assert {str(kept), str(blocked / "e" / "four.txt")} <= set(steps[0].keep)
    script = (
        f"id -u; cat {inner}/d/one/f.txt {kept}/x/two.txt {kept}/sibling.txt {blocked}/e/four.txt; "
        f"ls -A {blocked}; ls -ld {blocked} | cut -c1-10"
    )
    with tempfile.TemporaryDirectory(dir=work_base()) as stage:
        argv = readable_world_command(
            ["sh", "-c", script], uid=NOBODY, gid=NOBODY, needed=needed, stage=stage
        )
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["65534", "one", "two", "three", "four", "b", "e", "drwxr-xr-x"]
    # Nothing changed on the host.
    assert blocked.stat().st_mode & 0o777 == 0o700
    assert sorted(os.listdir(blocked)) == ["b", "e", "hidden.txt"]
