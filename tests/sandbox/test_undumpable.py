"""The host is undumpable exactly while it runs ``rlimits`` jobs as its own uid.

In a module of its own: the ``rlimits_box`` fixture of other modules would hold the host
undumpable while this runs.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
from pathlib import Path

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


@linux_only
@needs_rlimits
def test_a_job_running_when_the_pool_closes_does_not_outlive_it(tmp_path: Path) -> None:
    """Without a PID namespace nothing ends a job with its worker but the worker itself: a
    grandchild left running must be gone once the pool is closed (before the host is
    dumpable again)."""
    tmp_path.chmod(0o777)  # as root the job runs as another uid
    marker = tmp_path / "outlived"
    code = (
        "import os, time\nif os.fork() == 0:\n    time.sleep(1.0)\n"
        f"    open({str(marker)!r}, 'w').write('x')\n    os._exit(0)\ntime.sleep(30)"
    )
    box = make_sandbox("rlimits", workers=1, limits=LIMITS, warm=[])
    job = threading.Thread(target=run, args=(box, code), kwargs={"timeout_s": 20})
    job.start()
    time.sleep(0.4)  # the grandchild runs now
    box.close()
    job.join(20)
    time.sleep(1.5)
    assert not marker.exists()
