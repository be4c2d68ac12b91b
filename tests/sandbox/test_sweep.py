"""The sweep between jobs: nothing a job leaves (processes, threads, files) reaches the next.

Also the shortcut that skips the wipe of the private tmp when a job wrote nothing, and that
finished jobs do not pile up as zombies.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from creator.sandbox import WorkerPool
from creator.sandbox.tmpfs import TmpCheck

from .conftest import assert_still_works, needs_bwrap, run

_OTHERS = (  # live processes but this one, the worker and the ns init (zombies are dead)
    "import os, time\ntime.sleep(0.05)\n"
    "def alive(p):\n    try:\n"
    "        return open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[0] != 'Z'\n"
    "    except OSError:\n        return False\n"
    "others = [int(p) for p in os.listdir('/proc') if p.isdigit()"
    " and int(p) not in (1, os.getpid(), os.getppid()) and alive(p)]\n"
)
_COUNT_ZOMBIES = (
    "import os\nstates = []\nfor p in os.listdir('/proc'):\n    if p.isdigit():\n"
    "        try:\n            states.append(open(f'/proc/{p}/stat').read().rsplit(')', 1)"
    "[1].split()[0])\n        except OSError:\n            pass\n"
    "print(states.count('Z'))"
)


@needs_bwrap
def test_a_job_cannot_kill_any_live_process_but_its_own(solo_box: WorkerPool) -> None:
    kill_all = (
        _OTHERS + "hits = []\nfor pid in others:\n    try:\n        os.kill(pid, 9)\n"
        "        hits.append(pid)\n    except OSError:\n        pass\n"
        "print(hits)"
    )
    run(solo_box, "print(1)")
    result = run(solo_box, kill_all)
    assert result.ok and result.stdout == "[]\n", result
    assert_still_works(solo_box)


@needs_bwrap
def test_what_a_job_leaves_is_gone_before_the_next(solo_box: WorkerPool) -> None:
    leave = (
        "import os, threading, time\n"
        "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
        "if os.fork() == 0:\n    os.close(1)\n    os.close(2)\n    time.sleep(30)\n"
        "open('/tmp/left.txt', 'w').write('x')\nopen('here.txt', 'w').write('x')\n"
        "os.mkdir('/tmp/d')\nprint('left')"
    )
    look = (
        _OTHERS + "mine = [p for p in others if os.stat(f'/proc/{p}').st_uid == os.getuid()]\n"
        "print(sorted(os.listdir('/tmp')), os.listdir('.'), mine)"
    )
    # the clean /tmp: the job directory, plus mount points of read-only binds when the project
    # itself lives under /tmp (a clone in /tmp binds its .venv there)
    clean = run(solo_box, look).stdout
    assert clean.endswith(" [] []\n") and "'job'" in clean
    for _ in range(3):
        left = run(solo_box, leave)
        assert left.ok and left.stdout == "left\n", left
        after = run(solo_box, look)
        assert after.ok, after
        assert after.stdout == clean


@needs_bwrap
def test_jobs_that_write_nothing_leave_a_clean_tmp(solo_box: WorkerPool) -> None:
    listing = "import os\nprint(sorted(os.listdir('/tmp')), os.listdir('.'))"
    clean = run(solo_box, listing).stdout  # see the test above for what a clean /tmp holds
    assert clean.endswith(" []\n") and "'job'" in clean
    for index in range(20):  # the wipe is skipped after each of these
        result = run(solo_box, f"print({index} * 2)")
        assert result.ok and result.stdout == f"{index * 2}\n", result
    assert run(solo_box, listing).stdout == clean
    written = run(solo_box, "import os\nos.removedirs(os.getcwd())\nopen('/tmp/x', 'w')")
    assert written.ok, written  # the job directory replaced by a file: a full wipe
    assert run(solo_box, listing).stdout == clean


@needs_bwrap
def test_finished_jobs_do_not_pile_up_as_zombies(solo_box: WorkerPool) -> None:
    for index in range(16):
        if index < 8:
            time.sleep(0.02)
        assert run(solo_box, "print(1)").ok
        if index in (7, 15):
            zombies = run(solo_box, _COUNT_ZOMBIES).stdout.strip()
            assert zombies in ("0", "1")  # at most the last job's, reaped by the next sweep


class _Stat:
    def __init__(self, used: int) -> None:
        self.f_files = 1000
        self.f_ffree = 1000 - used


def test_tmp_check_needs_the_clean_count_and_an_empty_job_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    used = [2]
    monkeypatch.setattr(os, "statvfs", lambda _: _Stat(used[0]))
    jobdir = tmp_path / "job"
    jobdir.mkdir()
    off = TmpCheck(str(tmp_path), str(jobdir), enabled=False)
    off.reset()
    assert not off.clear_if_clean()
    check = TmpCheck(str(tmp_path), str(jobdir), enabled=True)
    check.reset()
    used[0] = 3  # one more inode somewhere
    assert not check.clear_if_clean() and jobdir.exists()
    used[0] = 2
    (jobdir / "f").write_text("x")  # same count (the stat is faked) but not empty
    assert not check.clear_if_clean() and jobdir.exists()
    (jobdir / "f").unlink()
    assert check.clear_if_clean() and not jobdir.exists()
    monkeypatch.setattr(os, "statvfs", lambda _: type("S", (), {"f_files": 0})())
    check.reset()  # no inode accounting: never clean
    assert not check.clear_if_clean()
