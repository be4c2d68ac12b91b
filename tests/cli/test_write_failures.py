"""Files that cannot be written: a full disk, a read-only file system, an ``--out`` that is a
file or a directory. ``eval``, ``report``, ``view`` and ``tools`` end with one line and exit
status 2, keep every file they had finished (``results.jsonl`` whole lines only) and leave no
temporary file; an evaluation stopped by a full disk resumes once there is room.

The full disk and the read-only file system are small tmpfs mounts in a private mount
namespace (:mod:`tests.cli.private_mounts`), real for root and for an ordinary user alike.
"""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from creator.cli.main import main
from creator.errors import OutputError
from creator.eval import ResultsFile
from creator.files import append_bytes, atomic_open, write_text
from creator.models.loopback import LoopbackServer, ServerReply
from creator.tools import ToolLibrary
from tests.cli.private_mounts import run_steps, unavailable
from tests.report.conftest import MATH_RECORDS, write_run

PROGRAM = "```python\nprint('Final Answer:', 18)\n```"
TOOL = 'def area(w: float, h: float) -> float:\n    """Area of a rectangle."""\n    return w * h\n'

needs_mounts = pytest.mark.skipif(
    unavailable() is not None, reason=f"no private tmpfs mounts: {unavailable()}"
)


def leftovers(*roots: Path) -> list[Path]:
    """Temporary files left under ``roots``."""
    return [p for root in roots for p in root.rglob("*") if p.name.endswith(".tmp")]


def one_line(outcome: dict[str, Any]) -> str:
    """The error line of a command that failed with exit status 2."""
    err: str = outcome["err"]
    lines = [line for line in err.splitlines() if line.startswith("creator: ")]
    assert outcome["code"] == 2, outcome
    assert len(lines) == 1 and lines[0].startswith("creator: error: "), outcome["err"]
    assert "internal error" not in outcome["err"] and "Traceback" not in outcome["err"]
    return lines[0]


def library_with_a_tool(path: Path) -> Path:
    with ToolLibrary(path) as library:
        library.add(TOOL, problem="the area of a 3 by 4 rectangle", ran=True, verified=True)
    return path


# the helper --------------------------------------------------------------------------------


def test_a_failed_atomic_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    target.write_text("old\n")
    with pytest.raises(RuntimeError, match="half way"), atomic_open(target) as handle:
        handle.write("new, but only half")
        raise RuntimeError("half way")
    assert target.read_text() == "old\n" and leftovers(tmp_path) == []
    write_text(target, "new\n")
    assert target.read_text() == "new\n" and leftovers(tmp_path) == []


def test_writing_over_a_directory_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "out.json").mkdir()
    with pytest.raises(OutputError, match=r"^cannot write .*out\.json: Is a directory$"):
        ResultsFile.dump_json(tmp_path / "out.json", {"n": 1})
    assert leftovers(tmp_path) == []


def test_appending_a_record_to_a_full_device_is_one_line() -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    with pytest.raises(OutputError) as raised:
        append_bytes(Path("/dev/full"), b'{"id": "x"}\n')
    assert str(raised.value) == "cannot write /dev/full: No space left on device"


APPEND = """
import sys
from pathlib import Path
from creator.errors import OutputError
from creator.files import append_bytes
try:
    append_bytes(Path(sys.argv[1]), b'{"id": "b", "long": "' + b"x" * 100 + b'"}\\n')
except OutputError as exc:
    print(exc)
"""


def test_a_line_written_part_way_is_cut_back_off(tmp_path: Path) -> None:
    """The file size limit lets the first bytes of the line through and refuses the rest (as
    a disk that fills up mid-line does): the file keeps its whole lines and nothing else."""
    path = tmp_path / "results.jsonl"
    first = b'{"id": "a"}\n'
    path.write_bytes(first)
    limit = len(first) + 10

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        [sys.executable, "-c", APPEND, str(path)],
        capture_output=True,
        text=True,
        preexec_fn=small_files,
        check=True,
        timeout=60,
    )
    assert done.stdout.strip() == f"cannot write {path}: File too large"
    assert path.read_bytes() == first


# --out that is a file or a directory -------------------------------------------------------


def test_outputs_that_are_files_or_directories_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_run(tmp_path / "run", MATH_RECORDS, dataset="math")
    library = library_with_a_tool(tmp_path / "tools.sqlite")
    a_file = tmp_path / "a-file"
    a_file.write_text("keep me\n")
    a_dir = tmp_path / "a-dir"
    a_dir.mkdir()
    cases = [
        (["report", str(run), "--out", str(a_file)], f"--out {a_file} is a file"),
        (["view", str(run), "--out", str(a_dir)], f"cannot write {a_dir}: Is a directory"),
        (["tools", "export", str(a_dir), "--library", str(library)], "Is a directory"),
        (
            ["eval", "--dataset", "creation", "--model", "reference", "--limit", "1",
             "--out", str(a_file)],
            f"cannot write into {a_file}: it is a file, not a directory",
        ),
    ]  # fmt: skip
    for argv, said in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("creator: error: ") and said in err[0], err
    assert a_file.read_text() == "keep me\n" and list(a_dir.iterdir()) == []
    assert leftovers(tmp_path) == []


# a full disk and a read-only file system, for real ----------------------------------------


@needs_mounts
def test_a_full_disk_stops_eval_keeping_whole_records_and_the_run_resumes(tmp_path: Path) -> None:
    disk, out = tmp_path / "disk", tmp_path / "run"
    disk.mkdir()
    with LoopbackServer(responder=lambda body: ServerReply(content=PROGRAM)) as server:
        evaluate = [
            "creator", "eval", "--dataset", "tabmwp", "--method", "pot", "--limit", "8",
            "--model", "test-model", "--base-url", server.url, "--no-cache",
            "--sandbox", "none", "--concurrency", "1", "--out", str(disk / "run"),
        ]  # fmt: skip
        _, _, full, _, _, resumed, _ = run_steps(
            [
                ["mount", str(disk), "size=256k"],
                ["fill", str(disk / "filler"), 20_000],  # room for a record or two
                evaluate,
                ["copy", str(disk / "run"), str(out / "stopped")],
                ["rm", str(disk / "filler")],
                evaluate,
                ["copy", str(disk / "run"), str(out / "resumed")],
            ]
        )
    line = one_line(full)
    assert line == (
        f"creator: error: cannot write {disk / 'run' / 'results.jsonl'}: No space left on device"
    )
    stopped = out / "stopped" / "results.jsonl"
    data = stopped.read_bytes()
    assert data.endswith(b"\n")  # whole lines only: the one that did not fit was cut back off
    kept = ResultsFile(stopped).load(repair=False)
    assert 1 <= len(kept) < 8 and len(data.splitlines()) == len(kept)
    assert all(r.status == "answered" for r in kept.values())
    assert leftovers(out) == []
    assert resumed["code"] == 0, resumed["err"]
    done = ResultsFile(out / "resumed" / "results.jsonl").load(repair=False)
    assert len(done) == 8 and all(done[key] == record for key, record in kept.items())
    lines = (out / "resumed" / "results.jsonl").read_text().splitlines()
    assert len(lines) == 8  # nothing finished was solved twice
    assert json.loads((out / "resumed" / "summary.json").read_text())["n"] == 8


@needs_mounts
@pytest.mark.parametrize(
    ("options", "reason"),
    [("size=64k", "No space left on device"), ("ro", "Read-only file system")],
    ids=["full", "read-only"],
)
def test_report_view_tools_and_eval_on_a_disk_that_takes_nothing(
    tmp_path: Path, options: str, reason: str
) -> None:
    run = write_run(tmp_path / "run", MATH_RECORDS, dataset="math")
    library = library_with_a_tool(tmp_path / "tools.sqlite")
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    prepare: list[list[Any]] = [
        ["mount", str(disk), "size=1m" if options == "ro" else options],
        ["copy", str(out), str(disk / "report")],  # the report's directory exists, empty
        ["mount", str(disk), "remount,ro"]
        if options == "ro"
        else ["fill", str(disk / "filler"), 0],
    ]
    export = tmp_path / "export.json"
    assert main(["tools", "export", str(export), "--library", str(library)]) == 0
    steps = [
        *prepare,
        ["creator", "report", str(run), "--out", str(disk / "report")],
        ["creator", "view", str(run), "--out", str(disk / "view.html")],
        ["creator", "tools", "export", str(disk / "tools.json"), "--library", str(library)],
        ["creator", "tools", "import", str(export), "--library", str(disk / "tools.sqlite")],
        ["creator", "eval", "--dataset", "creation", "--model", "reference", "--limit", "1",
         "--sandbox", "none", "--out", str(disk / "run")],
        ["copy", str(disk), str(tmp_path / "after")],
    ]  # fmt: skip
    outcomes = run_steps(steps)[len(prepare) :]
    report, view, export_, import_, evaluate, _ = outcomes
    assert reason in one_line(report) and str(disk / "report") in one_line(report)
    assert one_line(view) == f"creator: error: cannot write {disk / 'view.html'}: {reason}"
    assert one_line(export_) == f"creator: error: cannot write {disk / 'tools.json'}: {reason}"
    assert f"the tool library {disk / 'tools.sqlite'}:" in one_line(import_)
    assert str(disk / "run") in one_line(evaluate) and reason in one_line(evaluate)
    after = tmp_path / "after"
    assert leftovers(after) == []
    names = {p.name for p in after.rglob("*")} - {"filler", "report"}
    assert not names & {"view.html", "tools.json", "report.md", "results.jsonl", "summary.json"}


def test_a_symlink_is_written_through_and_a_pipe_or_device_is_never_replaced(
    tmp_path: Path,
) -> None:
    """Renaming a finished file over the target would turn /dev/stdout, a named pipe or a
    user's symlink into a plain file: they are written through instead."""
    real = tmp_path / "real.html"
    real.write_text("old")
    link = tmp_path / "link.html"
    link.symlink_to(real)
    write_text(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_text(pipe, "through the pipe")
        assert os.read(reader, 100) == b"through the pipe"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)
    if os.path.exists("/dev/full"):
        with pytest.raises(OutputError, match=r"^cannot write /dev/full: No space left on device$"):
            write_text(Path("/dev/full"), "x" * 10_000)
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
