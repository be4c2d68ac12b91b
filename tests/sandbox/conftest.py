"""Sandboxes shared by the sandbox tests: small limits so hostile jobs end fast.

bwrap tests are skipped only when bubblewrap is not installed at all; if it is installed but
does not work, they fail (CI installs it, so there they must run). The ``rlimits`` level as
root runs code as an unprivileged uid, which is refused where that uid cannot read the
interpreter (CI's lives under /root): there its tests are skipped, and test_as_user.py runs
them again as root in a mount namespace where the interpreter is readable.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from creator.sandbox import CodePart, ExecResult, Limits, WorkerPool, launch, make_sandbox
from creator.sandbox.base import Sandbox

LIMITS = Limits(
    timeout_s=2.0, memory_mb=256, max_output_bytes=64_000, max_processes=32, max_file_mb=16
)
HAVE_BWRAP = shutil.which("bwrap") is not None
needs_bwrap = pytest.mark.skipif(not HAVE_BWRAP, reason="bubblewrap is not installed")
RLIMITS_REFUSAL = launch.rlimits_refusal()
RLIMITS_SKIP = "rlimits as root with a private interpreter (test_as_user runs it readable)"
needs_rlimits = pytest.mark.skipif(RLIMITS_REFUSAL is not None, reason=RLIMITS_SKIP)


def run(box: Sandbox, code: str, *, name: str = "decision", **limits: float) -> ExecResult:
    """Run one part in ``box``, overriding some limits."""
    chosen = LIMITS.model_copy(update=limits) if limits else LIMITS
    return box.run_sync([CodePart(name=name, code=code)], limits=chosen)


def assert_still_works(box: Sandbox) -> None:
    result = run(box, "print(6 * 7)")
    assert result.ok, result
    assert result.stdout == "42\n"


@pytest.fixture(scope="session")
def bwrap_box() -> Iterator[WorkerPool]:
    """The full-isolation pool with the real warm-up (numpy, sympy, scipy, pandas)."""
    if not HAVE_BWRAP:
        pytest.skip("bubblewrap is not installed")
    box = make_sandbox("bwrap", workers=2, limits=LIMITS, tmpfs_mb=64)
    assert isinstance(box, WorkerPool)
    box.start()
    yield box
    box.close()


@pytest.fixture(scope="session")
def solo_box() -> Iterator[WorkerPool]:
    """One bwrap worker without warm-up: jobs run one after another in the same worker."""
    if not HAVE_BWRAP:
        pytest.skip("bubblewrap is not installed")
    box = make_sandbox("bwrap", workers=1, limits=LIMITS, warm=[], tmpfs_mb=64)
    assert isinstance(box, WorkerPool)
    yield box
    box.close()


@pytest.fixture(scope="module")  # as an ordinary user it makes this process undumpable
def rlimits_box() -> Iterator[WorkerPool]:
    if RLIMITS_REFUSAL is not None:
        pytest.skip(RLIMITS_SKIP)
    box = make_sandbox("rlimits", workers=1, limits=LIMITS, warm=["math"])
    assert isinstance(box, WorkerPool)
    yield box
    box.close()
