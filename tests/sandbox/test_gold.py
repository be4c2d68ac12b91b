"""The gold answers are out of the sandbox's sight, however the package is installed.

Installed as a wheel, this package (its datasets hold every recorded answer) lies in the
site-packages the sandbox must bind for the interpreter. The test builds that layout for
real: a virtual environment whose site-packages holds a copy of the package, a run directory
inside it, and a sandbox started from that environment's interpreter.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import creator
from creator.sandbox import launch

from .conftest import needs_bwrap

pytestmark = needs_bwrap

_PROBE = r"""
import json, os, sys
import creator
from creator.sandbox import CodePart, make_sandbox

package = os.path.dirname(creator.__file__)
data = os.path.join(package, "datasets", "data")
run_dir = sys.argv[1]
attempts = {
    "package": ("list", package),
    "data": ("list", data),
    "gold": ("read", os.path.join(data, "creation.jsonl.gz")),
    "run": ("list", run_dir),
    "results": ("read", os.path.join(run_dir, "results.jsonl")),
}
code = "import json, os\nout = {}\n"
for key, (how, path) in attempts.items():
    action = f"os.listdir({path!r})" if how == "list" else f"open({path!r}, 'rb').read(64)"
    code += (
        f"try:\n    found = {action}\n"
        f"    out[{key!r}] = sorted(found) if isinstance(found, list) else 'read'\n"
        f"except OSError as exc:\n    out[{key!r}] = type(exc).__name__\n"
    )
code += "print(json.dumps(out))"
with make_sandbox("bwrap", workers=1, warm=[], light_workers=0, hide=[run_dir]) as box:
    result = box.run_sync([CodePart(name="decision", code=code)])
host = {key: os.path.exists(path) for key, (_, path) in attempts.items()}
print(json.dumps({"package": package, "host": host, "job": result.stdout, "error": result.error}))
"""


def _wheel_like_install(root: Path) -> Path:
    """A venv whose site-packages holds a copy of this package; its python."""
    venv = root / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout.strip()  # fmt: skip
    shutil.copytree(
        Path(creator.__file__).parent,
        Path(purelib) / "creator",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    # the dependencies (pydantic, ...) from this environment, after the copy in the path
    Path(purelib, "zz_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python


def test_the_packages_datasets_and_the_run_directory_are_hidden(tmp_path: Path) -> None:
    python = _wheel_like_install(tmp_path)
    run_dir = tmp_path / "venv" / "runs" / "math"
    run_dir.mkdir(parents=True)
    (run_dir / "results.jsonl").write_text('{"id": "x", "target": "42"}\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "PYTHON"))}
    done = subprocess.run(
        [python, "-c", _PROBE, str(run_dir)],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["package"].startswith(str(tmp_path))  # the copy, not this checkout
    assert all(report["host"].values()), report  # all of it is there on the host
    seen = json.loads(report["job"])
    assert seen == {
        "package": ["sandbox"],  # the code the worker runs from, and nothing else
        "data": "FileNotFoundError",
        "gold": "FileNotFoundError",
        "run": [],  # an empty read-only directory
        "results": "FileNotFoundError",
    }, report


def test_hidden_paths_cover_the_package_and_what_the_caller_names(tmp_path: Path) -> None:
    package = os.path.dirname(os.path.dirname(launch.__file__))
    assert launch.hidden_paths() == [os.path.realpath(package)]
    named = tmp_path / "run"
    named.mkdir()
    assert str(named.resolve()) in launch.hidden_paths([str(named)])
    assert launch.hidden_paths([str(tmp_path / "missing")]) == [os.path.realpath(package)]
