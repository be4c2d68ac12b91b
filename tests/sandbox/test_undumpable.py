"""The host is undumpable exactly while it runs ``rlimits`` jobs as its own uid.

In a module of its own: the ``rlimits_box`` fixture of other modules would hold the host
undumpable while this runs.
"""

from __future__ import annotations

import ctypes
import os
import sys

import pytest

from creator.sandbox import make_sandbox

from .conftest import LIMITS, needs_rlimits, run

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")


@linux_only
@needs_rlimits
def test_the_host_is_undumpable_only_while_it_runs_jobs_as_its_own_uid() -> None:
    """As an ordinary user jobs share the host's uid: while the pool runs, /proc must not
    open the host's memory to them; afterwards the host may read its own /proc files again."""

    def dumpable() -> int:
        return int(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))  # PR_GET_DUMPABLE

    assert dumpable() == 1
    with make_sandbox("rlimits", workers=2, limits=LIMITS, warm=[]) as box:
        assert run(box, "print(1)").ok
        assert dumpable() == (1 if os.geteuid() == 0 else 0)  # as root: jobs on another uid
    assert dumpable() == 1
