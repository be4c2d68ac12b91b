"""Running creator commands against a full disk or a read-only file system, for real.

A full disk and a read-only directory cannot be made with ``chmod`` when the tests run as root
(CI does), and cannot be made at all without privileges on the real file system. So
:func:`run_steps` starts this file as a script in a private mount namespace, as root of a new
user namespace (``unshare --user --map-root-user --mount``, which works as root and as an
ordinary user wherever user namespaces are allowed), where it may mount small tmpfs file
systems that vanish with it. The script runs a list of steps and prints what each did as
JSON:

- ``["mount", DIR, OPTIONS]``: mount a tmpfs on DIR (``size=64k``, ``ro``, ...);
- ``["fill", FILE, ROOM]``: fill DIR's file system with FILE, then give back ROOM bytes;
- ``["rm", FILE]``; ``["copy", DIR, TO]``: copy a directory out (the mounts go away);
- ``["creator", ARG, ...]``: ``creator.cli.main.main([ARG, ...])`` in this process: its exit
  status, stdout and stderr.

:func:`unavailable` says why this cannot run here (None when it can), for a skip reason.
Nothing here is a test; it has no test-framework imports.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["run_steps", "unavailable"]

UNSHARE = ("unshare", "--user", "--map-root-user", "--mount")


@functools.cache
def unavailable() -> str | None:
    """Why private mounts cannot be made here, or None."""
    if shutil.which("unshare") is None:
        return "no unshare(1) here to make a private mount namespace"
    with tempfile.TemporaryDirectory() as where:
        try:
            run_steps([["mount", where, "size=64k"]], timeout=30)
        except RuntimeError as exc:
            said = " ".join(str(exc).split())[-200:]
            return f"cannot mount a tmpfs in a private user and mount namespace here: {said}"
    return None


def run_steps(steps: list[list[Any]], *, timeout: float = 120.0) -> list[dict[str, Any]]:
    """Run ``steps`` in a private mount namespace; what each did, in order."""
    done = subprocess.run(
        [*UNSHARE, sys.executable, __file__, json.dumps(steps)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"the steps failed ({done.returncode}): {done.stderr[-3000:]}")
    outcome: list[dict[str, Any]] = json.loads(done.stdout.splitlines()[-1])
    return outcome


def _fill(path: Path, room: int) -> dict[str, Any]:
    chunk = b"\0" * 65536
    with path.open("wb") as handle:
        try:
            while True:
                handle.write(chunk)
                handle.flush()
        except OSError:
            pass
        size = handle.tell()
    with path.open("r+b") as handle:
        handle.truncate(max(0, path.stat().st_size - room))
    return {"filled": size}


def _creator(args: list[str]) -> dict[str, Any]:
    from creator.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return {"code": code, "out": out.getvalue(), "err": err.getvalue()}


def _step(step: list[Any]) -> dict[str, Any]:
    kind, *args = step
    if kind == "mount":
        where, options = args
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", where], check=True)
        return {}
    if kind == "fill":
        return _fill(Path(args[0]), int(args[1]))
    if kind == "rm":
        Path(args[0]).unlink()
        return {}
    if kind == "copy":
        shutil.copytree(args[0], args[1])
        return {}
    if kind == "creator":
        return _creator([str(a) for a in args])
    raise ValueError(f"unknown step {kind!r}")


if __name__ == "__main__":
    results = [_step(step) for step in json.loads(sys.argv[1])]
    sys.stdout.write("\n" + json.dumps(results) + "\n")
