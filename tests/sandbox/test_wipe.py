"""The wipe of the worker's private tmp: whatever a hostile job leaves there goes, quickly.

Every tree is built by "the job" and wiped by "the worker" with the same uid. Run as root,
each case also runs in a forked child that has dropped to an unprivileged uid (as the
worker inside bubblewrap has no capabilities): root ignores permission bits, so only there
do directories with mode 000 or 0500 test anything.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import stat
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from creator.sandbox import tmpfs
from creator.sandbox.tmpfs import wipe

JOB_UID = 65534  # nobody
IS_ROOT = os.geteuid() == 0
LINUX = sys.platform.startswith("linux")
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY


def _tmpfs() -> str | None:
    """/dev/shm if it is a tmpfs anyone may use (as the worker's /tmp is), else None."""
    try:
        info, fs = os.stat("/dev/shm"), os.statvfs("/dev/shm")
    except OSError:
        return None
    public = stat.S_IMODE(info.st_mode) == 0o1777 and fs.f_favail > 100_000
    return "/dev/shm" if public and os.access("/dev/shm", os.W_OK | os.X_OK) else None


_TMPFS = _tmpfs()  # the timings then measure what the worker sees; else the default tmp


@dataclass
class Area:
    """A root to wipe and, beside it, an outside directory that must survive."""

    base: str
    root: str
    outside: str
    unprivileged: bool

    def job(self, work: Callable[[], Any]) -> Any:
        """``work()`` in this process, or in a child with the job uid (JSON result)."""
        if not self.unprivileged:
            return work()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            status = 0
            try:
                os.close(read)
                os.setgroups([])
                os.setresgid(JOB_UID, JOB_UID, JOB_UID)
                os.setresuid(JOB_UID, JOB_UID, JOB_UID)
                payload = json.dumps({"value": work()})
            except BaseException:
                payload, status = json.dumps({"error": traceback.format_exc()}), 1
            with os.fdopen(write, "w") as pipe:
                pipe.write(payload)
            os._exit(status)
        os.close(write)
        with os.fdopen(read) as pipe:
            answer = json.loads(pipe.read() or '{"error": "no answer"}')
        os.waitpid(pid, 0)
        assert "error" not in answer, answer["error"]
        return answer["value"]


def _remove(base: str) -> None:
    if os.path.isdir(base):
        with os.scandir(base) as entries:
            for entry in entries:
                if not entry.is_symlink() and entry.is_dir():
                    os.chmod(entry.path, 0o700)
                    wipe(entry.path)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["direct", "unprivileged"])
def area(request: pytest.FixtureRequest) -> Iterator[Area]:
    unprivileged = request.param == "unprivileged"
    if unprivileged and not IS_ROOT:
        pytest.skip("not root: the direct runs already are unprivileged")
    base = tempfile.mkdtemp(prefix="wipe-test-", dir=_TMPFS)
    os.chmod(base, 0o755)
    root, outside = os.path.join(base, "root"), os.path.join(base, "outside")
    for path in (root, outside):
        os.mkdir(path, 0o700)
        if unprivileged:
            os.chown(path, JOB_UID, JOB_UID)
    try:
        yield Area(base, root, outside, unprivileged)
    finally:
        _remove(base)


def _files(root: str) -> list[str]:
    """Every path under ``root`` (as root would see it), sorted; links not followed."""
    found = []
    for top, dirs, files in os.walk(root):
        found += [os.path.relpath(os.path.join(top, name), root) for name in dirs + files]
    return sorted(found)


def _write(path: str, text: str = "x", mode: int = 0o600) -> None:
    with open(path, "w") as handle:
        handle.write(text)
    os.chmod(path, mode)


def _chain(top: str, depth: int, *, name: str = "d" * 30, every: int = 0) -> None:
    """A chain of ``depth`` nested directories under ``top``, made through descriptors
    (its paths are far longer than PATH_MAX); a file every ``every`` levels."""
    fd = os.open(top, DIR_FLAGS)
    try:
        for level in range(depth):
            os.mkdir(name, dir_fd=fd)
            if every and level % every == 0:
                os.close(os.open("f", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd))
            fd, parent = os.open(name, DIR_FLAGS, dir_fd=fd), fd
            os.close(parent)
    finally:
        os.close(fd)


def _timed_wipe(root: str, keep: list[str] | None = None) -> list[Any]:
    start = time.perf_counter()
    clean = wipe(root, keep=keep or [])
    return [clean, time.perf_counter() - start]


def test_an_empty_root_is_clean_and_a_missing_one_is_not(area: Area) -> None:
    assert area.job(lambda: wipe(area.root)) is True
    assert area.job(lambda: wipe(os.path.join(area.root, "missing"))) is False
    assert os.path.isdir(area.root)


def test_links_are_removed_never_followed(area: Area) -> None:
    def job() -> bool:
        os.mkdir(os.path.join(area.outside, "precious"))
        _write(os.path.join(area.outside, "precious", "data"), "keep me", 0o644)
        _write(os.path.join(area.outside, "file"), "keep me too", 0o644)
        inside = os.path.join(area.root, "inside")
        os.mkdir(inside)
        _write(os.path.join(inside, "x"))
        links = {
            "to_dir": os.path.join(area.outside, "precious"),
            "to_file": os.path.join(area.outside, "file"),
            "to_outside": area.outside,
            "to_root": area.root,
            "to_base": area.base,
            "to_inside": "inside",
            "dangling": "/nonexistent/where",
            "self": "self",
            "loop_a": "loop_b",
            "loop_b": "loop_a",
        }  # into this test's directories only: a wipe that followed links would run as root
        for name, target in links.items():
            os.symlink(target, os.path.join(area.root, name))
            os.symlink(target, os.path.join(inside, name))
        os.chmod(os.path.join(area.outside, "precious"), 0o500)  # the wipe must not chmod it
        os.link(os.path.join(area.outside, "file"), os.path.join(inside, "hard"))
        return wipe(area.root)

    assert area.job(job) is True
    assert os.listdir(area.root) == []
    assert _files(area.outside) == ["file", "precious", "precious/data"]
    assert stat.S_IMODE(os.stat(os.path.join(area.outside, "precious")).st_mode) == 0o500
    with open(os.path.join(area.outside, "precious", "data")) as data:
        assert data.read() == "keep me"
    with open(os.path.join(area.outside, "file")) as data:
        assert data.read() == "keep me too"
    assert os.stat(os.path.join(area.outside, "file")).st_nlink == 1


def _wiped_in_time(area: Area, clean: Any, seconds: float, *, what: str) -> None:
    """Assert that the wipe emptied the area in well under a second; print how long."""
    mode = "unprivileged" if area.unprivileged else "as is"
    print(f"\nwipe of {what} ({mode}): {seconds * 1000:.1f} ms")
    assert clean is True
    assert os.listdir(area.root) == []
    assert seconds < 2


def test_a_chain_1500_deep_with_paths_past_path_max(area: Area) -> None:
    def job() -> list[Any]:
        _chain(area.root, 1500, every=100)  # 1500 * 31 bytes: ~46 KB paths
        return _timed_wipe(area.root)

    _wiped_in_time(area, *area.job(job), what="a 1,500-deep chain")


def test_unreadable_and_unwritable_directories_and_files(area: Area) -> None:
    def job() -> bool:
        for mode in (0o000, 0o100, 0o300, 0o400, 0o500, 0o600):
            top = os.path.join(area.root, f"mode{mode:o}")
            os.makedirs(os.path.join(top, "sub", "subsub"))
            _write(os.path.join(top, "file"), mode=0o000)
            _write(os.path.join(top, "sub", "file"), mode=0o000)
            _write(os.path.join(top, "sub", "subsub", "file"), mode=0o400)
            os.mkfifo(os.path.join(top, "sub", "fifo"), 0o000)
            for path in (os.path.join(top, "sub", "subsub"), os.path.join(top, "sub"), top):
                os.chmod(path, mode)  # innermost first, or the job locks itself out
        _chain(area.root, 200, name="z", every=7)  # then 000 / 0500 / 0300 all the way down
        fd = os.open(os.path.join(area.root, "z"), DIR_FLAGS)
        for level in range(199):
            fd, parent = os.open("z", DIR_FLAGS, dir_fd=fd), fd
            os.fchmod(parent, (0o000, 0o500, 0o300)[level % 3])
            os.close(parent)
        os.fchmod(fd, 0o000)
        os.close(fd)
        _write(os.path.join(area.root, "locked"), mode=0o000)
        os.chmod(area.root, 0o1555)  # even the root: the job has the worker's uid
        return wipe(area.root)

    assert area.job(job) is True
    assert os.listdir(area.root) == []
    assert stat.S_IMODE(os.stat(area.root).st_mode) == 0o1755  # owner bits back, rest kept


def test_fifos_sockets_and_odd_names(area: Area) -> None:
    def job() -> bool:
        sub = os.path.join(area.root, "sub")
        os.mkdir(sub)
        for where in (area.root, sub):
            os.mkfifo(os.path.join(where, "fifo"))  # opening it would block
            with socket.socket(socket.AF_UNIX) as server:
                server.bind(os.path.join(where, "sock"))
                server.listen()
            os.close(os.open(os.path.join(where, "sock").encode() + b"\xff\n", os.O_CREAT))
            os.mkdir(os.path.join(where.encode(), b"dir\xfe \\"))
        return wipe(area.root)

    assert area.job(job) is True
    assert os.listdir(area.root) == []


def test_names_that_moved_directories_could_take(area: Area) -> None:
    def job() -> bool:
        for index in range(1, 8):  # taken up front, as files, full and empty directories
            name = os.path.join(area.root, f"{tmpfs._MOVED}{index}")
            if index % 3 == 0:
                _write(name)
            else:
                os.makedirs(os.path.join(name, "a", "b") if index % 3 == 1 else name)
        for top in ("p", "q"):
            os.makedirs(os.path.join(area.root, top, "a", "b", "c"))
            _write(os.path.join(area.root, top, "a", "b", "c", "f"))
        return wipe(area.root)

    assert area.job(job) is True
    assert os.listdir(area.root) == []


def test_keep_paths_and_the_directories_leading_to_them_stay(area: Area) -> None:
    opt = os.path.join(area.root, "opt")
    kept = os.path.join(opt, "py", "lib")
    kept_file = os.path.join(area.root, "tool.bin")

    def job() -> bool:
        os.makedirs(os.path.join(kept, "site"))
        _write(os.path.join(kept, "site", "module.py"), "print(1)")
        _write(kept_file, "binary", 0o500)
        os.makedirs(os.path.join(opt, "other", "deep"))
        _write(os.path.join(opt, "py", "junk"))
        os.symlink(area.outside, os.path.join(opt, "py", "link"))
        _write(os.path.join(opt, "junk"))
        _chain(opt, 50)
        os.makedirs(os.path.join(area.root, "tmpdir", "x"))
        _write(os.path.join(area.root, "junk"))
        os.chmod(os.path.join(opt, "py"), 0o500)
        os.chmod(opt, 0o000)  # a leading directory the job locked up
        keep = [
            kept + "/",  # not normalized
            os.path.join(area.root, ".", "tool.bin"),
            os.path.join(area.outside, "elsewhere"),  # not under root: no effect
            os.path.join(area.root, "absent", "dir"),  # absent: nothing to keep
        ]
        return wipe(area.root, keep=keep)

    assert area.job(job) is True
    assert _files(area.root) == [
        "opt",
        "opt/py",
        "opt/py/lib",
        "opt/py/lib/site",
        "opt/py/lib/site/module.py",
        "tool.bin",
    ]
    assert stat.S_IMODE(os.stat(opt).st_mode) == 0o700
    with open(os.path.join(kept, "site", "module.py")) as module:
        assert module.read() == "print(1)"
    assert os.listdir(area.outside) == []


def test_a_leading_directory_replaced_by_a_link_is_just_unlinked(area: Area) -> None:
    def job() -> bool:
        os.makedirs(os.path.join(area.outside, "py", "lib"))
        _write(os.path.join(area.outside, "py", "junk"))
        os.symlink(area.outside, os.path.join(area.root, "opt"))
        return wipe(area.root, keep=[os.path.join(area.root, "opt", "py", "lib")])

    assert area.job(job) is True
    assert os.listdir(area.root) == []
    assert _files(area.outside) == ["py", "py/junk", "py/lib"]


def test_8000_entries_take_well_under_a_second(area: Area) -> None:
    def job() -> list[Any]:
        for top in range(40):
            for sub in range(4):
                where = os.path.join(area.root, f"t{top}", f"s{sub}")
                os.makedirs(where)
                fd = os.open(where, DIR_FLAGS)
                for index in range(50):
                    os.close(os.open(f"f{index}", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd))
                os.close(fd)
        return _timed_wipe(area.root)

    _wiped_in_time(area, *area.job(job), what="8,000 files in 200 directories")


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="no /proc/self/fd")
def test_open_descriptors_do_not_grow_with_depth(
    area: Area, monkeypatch: pytest.MonkeyPatch
) -> None:
    if area.unprivileged:
        pytest.skip("the same code either way")
    scandir = os.scandir
    peak = [0]

    def counting(fd: int) -> Any:
        peak[0] = max(peak[0], len(os.listdir("/proc/self/fd")))
        return scandir(fd)

    monkeypatch.setattr(os, "scandir", counting)
    peaks = []
    for depth in (3, 1500):
        _chain(area.root, depth)
        peak[0] = 0
        assert wipe(area.root) is True
        peaks.append(peak[0])
    assert peaks[0] == peaks[1]


def test_false_when_something_cannot_be_removed(
    area: Area, monkeypatch: pytest.MonkeyPatch
) -> None:
    unlink = os.unlink

    def refuse(path: Any, *, dir_fd: int | None = None) -> None:
        if path == "stuck":
            raise OSError(errno.EROFS, "read-only file system", path)
        unlink(path, dir_fd=dir_fd)

    def job() -> bool:
        os.makedirs(os.path.join(area.root, "a", "b"))
        _write(os.path.join(area.root, "a", "b", "stuck"))
        _write(os.path.join(area.root, "a", "b", "other"))
        _write(os.path.join(area.root, "c"))
        return wipe(area.root)

    with monkeypatch.context() as patch:  # undone before the area is cleaned up
        patch.setattr(os, "unlink", refuse)
        assert area.job(job) is False
    assert len(os.listdir(area.root)) == 1  # the directory holding it (moved up)
    assert [os.path.basename(path) for path in _files(area.root)] == [
        os.listdir(area.root)[0],
        "stuck",
    ]


@pytest.mark.skipif(not IS_ROOT, reason="needs root to leave a file the job cannot remove")
def test_false_when_the_files_are_someone_elses(area: Area) -> None:
    if not area.unprivileged:
        pytest.skip("root can remove anything")
    for name, mode in (("open", 0o755), ("closed", 0o700)):
        foreign = os.path.join(area.root, name)
        os.mkdir(foreign, mode)
        _write(os.path.join(foreign, "file"))

    def job() -> bool:
        os.makedirs(os.path.join(area.root, "mine", "sub"))
        return wipe(area.root)

    assert area.job(job) is False
    assert _files(area.root) == ["closed", "closed/file", "open", "open/file"]
