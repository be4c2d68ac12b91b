"""Job cgroups against the real kernel (v1 on this machine kind) and a simulated v2 tree.

The real-kernel tests are skipped only when cgroups are unusable and we are not root; as root
they fail instead (CI runs as root on a machine where they work).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from creator.sandbox import cgroup
from creator.sandbox.cgroup import JobCgroup, cgroup_support

MIB = 1 << 20
LINUX = sys.platform.startswith("linux")


class Child:
    """A forked child that runs ``body`` (its return value is the exit code) once let go."""

    def __init__(self, body: Callable[[], int]) -> None:
        read, self._go = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 70
            try:
                os.close(self._go)
                os.read(read, 1)
                code = body()
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(read)
        self.pid = pid
        self.status: int | None = None

    def run(self, timeout: float = 3.0) -> int:
        """Let the child go and return its wait status."""
        os.write(self._go, b"x")
        os.close(self._go)
        deadline = time.monotonic() + timeout
        while self.status is None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.status = status
            elif time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"child {self.pid} still running after {timeout} s")
            else:
                time.sleep(0.001)
        return self.status

    def kill(self) -> None:
        if self.status is None:
            with contextlib.suppress(OSError):
                os.close(self._go)
            os.kill(self.pid, signal.SIGKILL)
            self.status = os.waitpid(self.pid, 0)[1]


def killed(status: int) -> bool:
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def exit_code(status: int) -> int | None:
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else None


def dead_pid() -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def ours(parent: Path) -> list[str]:
    prefix = f"creator-{os.getpid()}-"
    return sorted(entry.name for entry in parent.iterdir() if entry.name.startswith(prefix))


# --- the real kernel --------------------------------------------------------------------------


@pytest.fixture
def spawn() -> Iterator[Callable[[Callable[[], int]], Child]]:
    children: list[Child] = []

    def make(body: Callable[[], int]) -> Child:
        children.append(Child(body))
        return children[-1]

    yield make
    for child in children:
        child.kill()


def need_real_cgroups() -> None:
    reason = cgroup_support()
    if reason is not None:
        if LINUX and os.geteuid() == 0:
            pytest.fail(f"root, yet job cgroups are unusable here: {reason}")
        pytest.skip(f"job cgroups are unusable here and we are not root: {reason}")


@pytest.fixture
def jobs() -> Iterator[Callable[[str], JobCgroup]]:
    """Makes job cgroups on the real kernel; afterwards none of them is left (the sandboxes
    other tests share have cgroups of their own meanwhile: those stay)."""
    need_real_cgroups()
    layout = cgroup._layout()
    assert not isinstance(layout, str)
    made: list[JobCgroup] = []

    def make(tag: str) -> JobCgroup:
        job = JobCgroup.create(tag)
        assert job is not None
        made.append(job)
        return job

    yield make
    for job in made:
        job.remove()
    for job in made:
        assert not job._memory.exists() and not job._pids.exists()


def allocate(mib: int) -> Callable[[], int]:
    def body() -> int:
        data = b"\x01" * (mib * MIB)  # written, so every page is really there
        return len(data) & 0

    return body


def limit_files(job: JobCgroup) -> tuple[int, ...]:
    memory, pids = job._memory, job._pids
    names = ["memory.max"] if job.kind == "v2" else ["memory.limit_in_bytes"]
    if (memory / "memory.memsw.limit_in_bytes").exists():
        names.append("memory.memsw.limit_in_bytes")
    values = [int((memory / name).read_text()) for name in names]
    return (*values, int((pids / "pids.max").read_text()))


def test_memory_limit_kills_a_big_allocation(jobs, spawn) -> None:
    job = jobs("mem")
    child = spawn(allocate(200))
    before = job.oom_kills()
    job.admit(child.pid, memory_mb=32, max_processes=8)
    assert killed(child.run())
    assert job.oom_kills() > before


def test_memory_limit_covers_the_whole_job(jobs, spawn) -> None:
    """Three processes of 60 MiB each never hold more than 32 + 64 MiB together."""

    def body() -> int:
        hold_read, hold_write = os.pipe()
        pids = []
        for _ in range(3):
            report_read, report_write = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - a grandchild
                os.close(hold_write)
                os.close(report_read)
                data = b"\x01" * (60 * MIB)
                os.write(report_write, b"1")
                os.read(hold_read, 1)
                os._exit(len(data) & 0)
            os.close(report_write)
            os.read(report_read, 1)  # b"" when it was killed
            os.close(report_read)
            pids.append(pid)
        os.close(hold_write)
        statuses = [os.waitpid(pid, 0)[1] for pid in pids]
        return sum(killed(status) for status in statuses)

    job = jobs("whole")
    child = spawn(body)
    job.admit(child.pid, memory_mb=32, max_processes=8)
    status = child.run()
    assert (exit_code(status) or 0) >= 2 or killed(status), status
    assert job.oom_kills() >= 2


def test_pids_limit_stops_the_fourth_fork(jobs, spawn) -> None:
    def body() -> int:
        hold_read, hold_write = os.pipe()
        pids = []
        try:
            for _ in range(10):
                pid = os.fork()
                if pid == 0:  # pragma: no cover - a grandchild
                    os.close(hold_write)
                    os.read(hold_read, 1)
                    os._exit(0)
                pids.append(pid)
        except BlockingIOError:  # EAGAIN
            return len(pids)
        finally:
            os.close(hold_write)
            for pid in pids:
                os.waitpid(pid, 0)
        return 99

    job = jobs("pids")
    child = spawn(body)
    job.admit(child.pid, memory_mb=32, max_processes=4)
    assert exit_code(child.run()) == 3  # the child and three more


def in_private_tmpfs(where: Path, work: Callable[[Path], None]) -> Callable[[], int]:
    """A child body: mount a fresh tmpfs on ``where`` in a private mount namespace (gone, with
    its files, when the child dies) and run ``work`` there; exit code 3 for an OSError."""

    def body() -> int:
        libc = ctypes.CDLL(None, use_errno=True)
        clone_newns, ms_rec, ms_private = 0x20000, 0x4000, 0x40000
        if libc.unshare(clone_newns) or libc.mount(b"none", b"/", None, ms_rec | ms_private, None):
            return 10
        options = b"size=1g,nr_inodes=1000000"
        if libc.mount(b"tmpfs", str(where).encode(), b"tmpfs", 0, options):
            return 11
        try:
            work(where)
        except OSError:
            return 3
        return 0

    return body


def fill(mib: int) -> Callable[[Path], None]:
    def work(where: Path) -> None:
        chunk = b"\x01" * MIB
        with open(where / "big", "wb", buffering=0) as file:
            for _ in range(mib):
                file.write(chunk)

    return work


def test_tmpfs_files_count_against_the_limit(jobs, spawn, tmp_path: Path) -> None:
    job = jobs("tmpfs")
    roomy = spawn(in_private_tmpfs(tmp_path, fill(150)))
    job.admit(roomy.pid, memory_mb=256, max_processes=4)
    assert exit_code(roomy.run()) == 0
    tight = spawn(in_private_tmpfs(tmp_path, fill(150)))
    job.admit(tight.pid, memory_mb=32, max_processes=4)
    status = tight.run()
    assert killed(status) or exit_code(status) == 3, status


def test_kernel_objects_count_against_the_limit(jobs, spawn, tmp_path: Path) -> None:
    """48 MiB of anonymous memory fits in 1 + 64 MiB; with 60,000 empty files it does not."""

    def files(where: Path) -> None:
        data = b"\x01" * (48 * MIB)
        for number in range(60_000):
            os.close(os.open(where / f"f{number}", os.O_CREAT | os.O_WRONLY, 0o600))
        del data  # held until here

    job = jobs("kmem")
    anon = spawn(allocate(48))
    job.admit(anon.pid, memory_mb=1, max_processes=4)
    assert exit_code(anon.run()) == 0
    with_files = spawn(in_private_tmpfs(tmp_path, files))
    job.admit(with_files.pid, memory_mb=1, max_processes=4)
    status = with_files.run()
    assert killed(status) or exit_code(status) == 3, status


def test_limits_change_between_admits(jobs, spawn) -> None:
    job = jobs("change")
    memsw = 2 if (job._memory / "memory.memsw.limit_in_bytes").exists() else 1
    for memory_mb, processes, survives in [(200, 8, True), (32, 4, False), (200, 16, True)]:
        child = spawn(allocate(150))
        job.admit(child.pid, memory_mb=memory_mb, max_processes=processes)
        assert limit_files(job) == (*[(memory_mb + 64) * MIB] * memsw, processes)
        status = child.run()
        assert (exit_code(status) == 0) if survives else killed(status), (memory_mb, status)


def test_a_process_moves_its_children_in_through_the_procs_files(jobs, spawn) -> None:
    """The sandbox worker's way: descriptors opened here, written by another process (here an
    unprivileged one) with the pid of a child of its own."""
    job = jobs("procs")
    fds = job.procs_files()
    read_end, write_end = os.pipe()
    mover = os.fork()
    if mover == 0:  # pragma: no cover - reports through its exit status
        status = 1
        try:
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            child = os.fork()
            if child == 0:
                os.read(read_end, 1)
                os._exit(0)
            for fd in fds:
                os.write(fd, str(child).encode())
            listed = all(str(child) in (d / "cgroup.procs").read_text().split() for d in job._dirs)
            os.write(write_end, b"x")
            os.waitpid(child, 0)
            status = 0 if listed else 2
        finally:
            os._exit(status)
    for fd in fds:
        os.close(fd)
    os.close(write_end)
    assert exit_code(os.waitpid(mover, 0)[1]) == 0
    os.close(read_end)


def test_remove_removes_the_directories_even_before_reaping(spawn) -> None:
    need_real_cgroups()
    job = JobCgroup.create("remove")
    assert job is not None
    dirs = job._dirs
    try:
        assert all(path.is_dir() for path in dirs)
        child = spawn(lambda: 0)
        job.admit(child.pid, memory_mb=32, max_processes=4)
        os.write(child._go, b"x")
        while Path(f"/proc/{child.pid}/stat").read_text().split(") ")[1][0] != "Z":
            time.sleep(0.001)
        job.remove()  # a zombie holds nothing
        assert not any(path.exists() for path in dirs)
    finally:
        job.remove()  # again: nothing to do, no error


def test_stale_job_cgroups_of_dead_runs_are_removed(jobs, spawn) -> None:
    layout = cgroup._layout()
    assert not isinstance(layout, str)
    parents = {layout.memory, layout.pids}
    dead = dead_pid()
    # tags of their own: the sandboxes other tests share name theirs w0, w1, ...
    stale, busy = f"creator-{dead}-stale-test", f"creator-{dead}-busy-test"
    alive = f"creator-{os.getpid()}-alive-test"
    sleeper = spawn(lambda: 0)
    try:
        for parent in parents:
            for name in (stale, busy, alive):
                (parent / name).mkdir()
            (parent / busy / "cgroup.procs").write_text(str(sleeper.pid))
        jobs("fresh")
        for parent in parents:
            assert not (parent / stale).exists()
            assert (parent / busy).is_dir() and (parent / alive).is_dir()
    finally:
        sleeper.kill()
        for parent in parents:
            for name in (stale, busy, alive):
                with contextlib.suppress(FileNotFoundError):
                    (parent / name).rmdir()


# --- a simulated cgroup v2 tree ---------------------------------------------------------------


class FakeKernel:
    """cgroupfs on plain files: interface files appear on mkdir, writes to cgroup.procs move a
    process, no internal processes (except in the root), rmdir only when empty."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.writes: list[tuple[str, str]] = []

    def mkdir(self, path: Path) -> None:
        os.mkdir(path)
        enabled = (path.parent / "cgroup.subtree_control").read_text().split()
        files = {"cgroup.procs": "", "cgroup.subtree_control": "", "cgroup.type": "domain\n"}
        files["cgroup.controllers"] = " ".join(enabled)
        if "memory" in enabled:
            files["memory.max"] = files["memory.swap.max"] = "max\n"
            files["memory.oom.group"] = "0\n"
            files["memory.events"] = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"
        if "pids" in enabled:
            files["pids.max"] = "max\n"
        for name, text in files.items():
            (path / name).write_text(text)

    def rmdir(self, path: Path) -> None:
        if not path.is_dir():
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))
        if self.procs(path) or any(entry.is_dir() for entry in path.iterdir()):
            raise OSError(errno.EBUSY, "Device or resource busy", str(path))
        shutil.rmtree(path)

    def write(self, path: str | Path, text: str) -> None:
        path = Path(path)
        if not path.is_relative_to(self.root):  # /proc/<pid>/oom_score_adj, as a user
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        self.writes.append((str(path.relative_to(self.root)), text))
        if not path.is_file():
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))
        if path.name == "cgroup.procs":
            for procs in self.root.rglob("cgroup.procs"):
                procs.write_text("".join(f"{p}\n" for p in self.procs(procs.parent) if p != text))
            path.write_text(path.read_text() + f"{text}\n")
        elif path.name == "cgroup.subtree_control":
            where = path.parent
            if where != self.root and self.procs(where):
                raise OSError(errno.EBUSY, "Device or resource busy", str(path))
            enabled = set(path.read_text().split())
            for word in text.split():
                if word[1:] not in (where / "cgroup.controllers").read_text().split():
                    raise OSError(errno.ENOENT, "No such file or directory", str(path))
                (enabled.add if word[0] == "+" else enabled.discard)(word[1:])
            path.write_text(" ".join(sorted(enabled)))
        else:
            path.write_text(text)

    def procs(self, where: Path) -> list[str]:
        return (where / "cgroup.procs").read_text().split()


class Sim:
    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp = tmp
        self.root = tmp / "cgroup"
        self.root.mkdir()
        self.kernel = FakeKernel(self.root)
        self.monkeypatch = monkeypatch
        monkeypatch.setattr(cgroup, "_kernel", self.kernel)
        monkeypatch.setattr(cgroup, "_MOUNTINFO", tmp / "mountinfo")
        monkeypatch.setattr(cgroup, "_SELF_CGROUP", tmp / "cgroup-self")
        self.as_root(False)  # a delegated subtree unless a test says otherwise

    def as_root(self, root: bool) -> None:
        self.monkeypatch.setattr(os, "geteuid", lambda: 0 if root else 1000)

    def v2(self, own: str, *, controllers: str = "cpu io memory pids") -> Path:
        """A v2 root with ``own`` (made with memory and pids available) holding this process."""
        (self.root / "cgroup.controllers").write_text(controllers)
        (self.root / "cgroup.subtree_control").write_text(controllers)
        (self.root / "cgroup.procs").write_text("1\n")
        where = self.root
        for part in Path(own).parts[1:]:
            (where / "cgroup.subtree_control").write_text(controllers)  # delegated down to own
            where = where / part
            self.kernel.mkdir(where)
        with open(where / "cgroup.procs", "a") as procs:
            procs.write(f"{os.getpid()}\n")
        self.mounts(f"41 31 0:38 / {self.root} rw,relatime - cgroup2 cgroup2 rw")
        (self.tmp / "cgroup-self").write_text(f"0::{own}\n")
        return where

    def mounts(self, *lines: str) -> None:
        (self.tmp / "mountinfo").write_text("".join(f"{line}\n" for line in lines))


@pytest.fixture
def sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sim]:
    cgroup._layout.cache_clear()
    yield Sim(tmp_path, monkeypatch)
    cgroup._layout.cache_clear()


def test_v2_delegated_scope_moves_us_into_a_leaf(sim: Sim) -> None:
    scope = sim.v2("/user.slice/app.scope")
    assert cgroup_support() is None
    leaf = scope / f"creator-{os.getpid()}-host"
    assert sim.kernel.procs(leaf) == [str(os.getpid())]
    assert sim.kernel.procs(scope) == []
    assert (scope / "cgroup.subtree_control").read_text().split() == ["memory", "pids"]
    assert [path.name for path in scope.iterdir() if path.is_dir()] == [leaf.name]  # no probe


def test_v2_job_files_and_cached_limits(sim: Sim) -> None:
    scope = sim.v2("/app.scope")
    job = JobCgroup.create("w0")
    assert job is not None and job.kind == "v2"
    where = scope / f"creator-{os.getpid()}-w0"
    assert job._dirs == [where]
    assert (where / "memory.oom.group").read_text() == "1"
    assert (where / "memory.swap.max").read_text() == "0"
    sim.kernel.writes.clear()
    job.admit(1234, memory_mb=100, max_processes=8)
    assert (where / "memory.max").read_text() == str(164 * MIB)
    assert (where / "pids.max").read_text() == "8"
    assert sim.kernel.procs(where) == ["1234"]
    job.admit(1235, memory_mb=100, max_processes=8)
    job.admit(1236, memory_mb=300, max_processes=8)
    names = [(Path(path).name, text) for path, text in sim.kernel.writes]
    assert names == [
        ("memory.max", str(164 * MIB)),
        ("pids.max", "8"),
        ("cgroup.procs", "1234"),
        ("cgroup.procs", "1235"),
        ("memory.max", str(364 * MIB)),
        ("pids.max", "8"),
        ("cgroup.procs", "1236"),
    ]
    assert job.oom_kills() == job.oom_events() == 0
    (where / "memory.events").write_text("low 0\nhigh 0\nmax 7\noom 3\noom_kill 2\n")
    assert job.oom_kills() == 2 and job.oom_events() == 3
    for pid in ("1234", "1235", "1236"):
        sim.kernel.write(scope / "cgroup.procs", pid)  # as if the jobs went away
    job.remove()
    assert not where.exists()


def test_v2_as_root_job_cgroups_go_under_the_hierarchys_root(sim: Sim) -> None:
    scope = sim.v2("/user.slice/session-1.scope")
    sim.kernel.write(scope / "cgroup.procs", "4242")  # a login shell beside us: no leaf possible
    sim.as_root(True)
    assert cgroup_support() is None
    assert sorted(sim.kernel.procs(scope)) == sorted(["4242", str(os.getpid())])  # none moved
    job = JobCgroup.create("w3")
    assert job is not None and job._dirs == [sim.root / f"creator-{os.getpid()}-w3"]


def test_v2_root_cgroup_needs_no_leaf(sim: Sim) -> None:
    sim.v2("/")
    (sim.root / "cgroup.subtree_control").write_text("")
    assert cgroup_support() is None
    assert (sim.root / "cgroup.subtree_control").read_text() == "memory pids"
    assert sim.kernel.procs(sim.root) == ["1", str(os.getpid())]
    job = JobCgroup.create("w1")
    assert job is not None and job._dirs == [sim.root / f"creator-{os.getpid()}-w1"]


def test_v2_shared_scope_is_unsupported_and_left_as_it_was(sim: Sim) -> None:
    scope = sim.v2("/session.scope")
    (scope / "cgroup.procs").write_text(f"{os.getpid()}\n999999\n")
    reason = cgroup_support()
    assert reason is not None and "other processes share our cgroup" in reason, reason
    assert sorted(sim.kernel.procs(scope)) == sorted([str(os.getpid()), "999999"])
    assert not any(path.is_dir() for path in scope.iterdir())
    assert JobCgroup.create("w0") is None


def test_v2_without_memory_controller_is_unsupported(sim: Sim) -> None:
    sim.v2("/", controllers="hugetlb")  # a hybrid host's unified mount, no v1 found
    reason = cgroup_support()
    assert reason is not None and "memory and pids not available" in reason, reason
    assert "v1: " in reason


def test_not_linux_is_unsupported(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert cgroup_support() == "cgroups need Linux"


def test_v2_stale_siblings_of_dead_runs_go(sim: Sim) -> None:
    scope = sim.v2("/app.scope")
    assert cgroup_support() is None
    dead = dead_pid()
    names = [f"creator-{dead}-w0", f"creator-{dead}-w1", f"creator-{dead}-host", "other"]
    names += [f"creator-{os.getppid()}-w0", f"creatorx-{dead}-w0"]
    for name in names:
        sim.kernel.mkdir(scope / name)
    sim.kernel.write(scope / names[1] / "cgroup.procs", "4242")  # still busy
    assert JobCgroup.create("w0") is not None
    left = sorted(path.name for path in scope.iterdir() if path.is_dir())
    mine = [f"creator-{os.getpid()}-host", f"creator-{os.getpid()}-w0"]
    assert left == sorted([names[1], *names[3:], *mine])


def test_v1_paths_follow_the_mount_root(sim: Sim) -> None:
    point = sim.tmp / "mem point"
    escaped = str(point).replace(" ", r"\040")
    sim.mounts(
        f"35 31 0:32 /process_api {escaped} rw - cgroup cgroup rw,memory",
        f"39 31 0:36 / {sim.tmp / 'pids'} rw - cgroup cgroup rw,pids",
    )
    (sim.tmp / "cgroup-self").write_text("8:pids:/\n4:memory:/process_api/abc\n0::/\n")
    assert cgroup._own_dir("memory") == point / "abc"
    assert cgroup._own_dir("pids") == sim.tmp / "pids"
    with pytest.raises(OSError):
        cgroup._own_dir("cpu")
