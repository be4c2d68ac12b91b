"""Routing jobs to light (standard library) or full (numpy & co.) workers."""

from __future__ import annotations

import pytest

from creator.sandbox import CodePart, WorkerPool
from creator.sandbox.routing import needs_full_worker

from .conftest import assert_still_works, run


def _parts(*codes: str) -> list[CodePart]:
    return [CodePart(name=f"p{i}", code=code) for i, code in enumerate(codes)]


@pytest.mark.parametrize(
    ("codes", "full"),
    [
        (("print(1 + 1)",), False),
        (("import math, fractions\nfrom collections import Counter\n", "print(math.pi)"), False),
        (("import os.path as p\nfrom itertools import (\n    chain,\n)\n",), False),
        (("import math\n", "import numpy as np\n"), True),
        (("def f():\n    import sympy\n    return sympy\n",), True),
        (("import math, scipy.optimize\n",), True),
        (("from pandas import DataFrame\n",), True),
        (("__import__('numpy')\n",), True),
        (("import importlib\nimportlib.import_module('math')\n",), True),
        (("from . import sibling\n",), True),
        (("x = 'a' * 10\n" * 30_000,), True),
    ],
)
def test_needs_full_worker(codes: tuple[str, ...], full: bool) -> None:
    assert needs_full_worker(_parts(*codes)) is full


def test_both_kinds_of_workers_serve_jobs(bwrap_box: WorkerPool) -> None:
    light = run(bwrap_box, "import sys\nprint('numpy' in sys.modules)")
    full = run(bwrap_box, "import numpy, sys\nprint('numpy' in sys.modules)")
    assert light.stdout == "False\n" and full.stdout == "True\n"
    late = run(bwrap_box, "import sys\nm = __import__('numpy')\nprint(int(m.arange(3).sum()))")
    assert late.ok and late.stdout == "3\n"


@pytest.mark.parametrize(
    ("code", "check"),
    [
        ("import os\nos.kill(os.getppid(), 9)", "PermissionError"),
        ("x = []\nwhile True:\n    x.append(bytearray(10 << 20))", "MemoryError"),
        ("import socket\nsocket.create_connection(('127.0.0.1', 9))", "Error"),
        ("open('/usr/evil', 'w')", "Read-only file system"),
    ],
)
def test_hostile_jobs_on_full_workers(bwrap_box: WorkerPool, code: str, check: str) -> None:
    result = run(bwrap_box, "import numpy\n" + code)
    assert not result.ok
    assert result.error and check in result.error
    assert_still_works(bwrap_box)


def test_timeouts_on_full_workers(bwrap_box: WorkerPool) -> None:
    result = run(bwrap_box, "import numpy, time\ntime.sleep(100)", timeout_s=0.5)
    assert result.timed_out
