"""Escapes an attacker who read our code tried: each is closed, for the host as root and as
an ordinary user (tests/sandbox/test_as_user.py runs this file again as ``nobody``).

Reaching the worker or the host through /proc and signals, kernel state that outlives a job,
a job's memory across many processes, what a job leaves to stall the next one, the gold
answers, and the worker's own privileges.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from creator.sandbox import WorkerPool, cgroup, make_sandbox

from .conftest import LIMITS, assert_still_works, needs_bwrap, run

pytestmark = needs_bwrap


def _worker_pid(box: WorkerPool) -> int:
    proc = box._workers[0].proc
    assert proc is not None
    return proc.pid


_REACH = """
import os
mine = {os.getpid()}
seen = {}
for name in os.listdir('/proc'):
    if not name.isdigit() or int(name) in mine:
        continue
    status = open(f'/proc/{name}/status').read()
    fields = dict(line.split(':', 1) for line in status.splitlines() if ':' in line)
    if fields['State'].split()[0] in ('Z', 'X'):
        continue  # the last job's processes, killed, not reaped yet: nothing runs there
    opened = []
    for entry in ('mem', 'environ', 'maps', 'fd', 'root/.', 'cwd/.'):
        try:
            path = f'/proc/{name}/{entry}'
            os.listdir(path) if entry in ('fd', 'root/.', 'cwd/.') else open(path, 'rb').close()
            opened.append(entry)
        except OSError:
            pass
    seen[int(name)] = (fields['Seccomp'].strip(), opened, open(f'/proc/{name}/cmdline').read())
print(seen)
"""


def test_the_only_process_beside_the_job_is_the_worker_and_it_is_out_of_reach(
    solo_box: WorkerPool,
) -> None:
    result = run(solo_box, _REACH)
    assert result.ok, result
    seen = eval(result.stdout)  # our own test's output: a dict literal
    assert list(seen) == [1], seen  # no bubblewrap init, no helper: the worker is PID 1
    seccomp_mode, opened, cmdline = seen[1]
    assert "_creator_sandbox" in cmdline and opened == []
    assert seccomp_mode == "0"  # unfiltered, which is why nothing of it may be opened


def test_writing_the_workers_memory_is_denied(solo_box: WorkerPool) -> None:
    before = _worker_pid(solo_box)
    attack = (
        "import os\nfor flags in (os.O_RDWR, os.O_RDONLY):\n"
        "    try:\n        os.open('/proc/1/mem', flags)\n        print('opened')\n"
        "    except OSError as exc:\n        print(type(exc).__name__)"
    )
    result = run(solo_box, attack)
    assert result.stdout == "PermissionError\nPermissionError\n", result
    assert_still_works(solo_box)
    assert _worker_pid(solo_box) == before


_SIGNAL_PATHS = """
import ctypes, errno, fcntl, os, resource, signal, socket
target = {target}
libc = ctypes.CDLL(None, use_errno=True)
def attempt(name, call):
    try:
        result = call()
        if isinstance(result, int) and result < 0:
            raise OSError(ctypes.get_errno(), name)
        print(name, 'ALLOWED')
    except OSError as exc:
        print(name, errno.errorcode.get(exc.errno, exc.errno))
def setown(command, value):
    r, w = os.pipe()
    fcntl.fcntl(r, fcntl.F_SETFL, os.O_ASYNC | os.O_NONBLOCK)
    libc_value = libc.fcntl(r, command, value)
    if libc_value >= 0:
        os.write(w, b'x')
    return libc_value
fd = os.open(f'/proc/{{target}}', os.O_RDONLY | os.O_DIRECTORY)
attempt('pidfd_send_signal', lambda: signal.pidfd_send_signal(fd, {signo}))
attempt('F_SETOWN', lambda: setown(8, target))
attempt('F_SETSIG', lambda: setown(10, {signo}))
owner = (ctypes.c_int * 2)(1, target)  # F_OWNER_PID
attempt('F_SETOWN_EX', lambda: setown(15, ctypes.addressof(owner)))
sock = socket.socketpair()[0]
attempt('FIOSETOWN', lambda: libc.ioctl(sock.fileno(), 0x8901, ctypes.byref(ctypes.c_int(target))))
attempt('SIOCSPGRP', lambda: libc.ioctl(sock.fileno(), 0x8902, ctypes.byref(ctypes.c_int(target))))
attempt('kill', lambda: os.kill(target, {signo}))
attempt('setpriority', lambda: os.setpriority(os.PRIO_PROCESS, target, 19))
attempt('setpriority_user', lambda: os.setpriority(os.PRIO_USER, os.getuid(), 19))
attempt('prlimit', lambda: resource.prlimit(target, resource.RLIMIT_NOFILE, (4, 4)))
attempt('sched_setaffinity', lambda: os.sched_setaffinity(target, {{0}}))
attempt('ioprio_set', lambda: libc.syscall({ioprio}, 1, target, 7))
"""
_IOPRIO_SET = {"x86_64": 251, "aarch64": 30}[os.uname().machine]
_PATHS = (
    *("pidfd_send_signal", "F_SETOWN", "F_SETSIG", "F_SETOWN_EX", "FIOSETOWN", "SIOCSPGRP"),
    *("kill", "setpriority", "setpriority_user", "prlimit", "sched_setaffinity", "ioprio_set"),
)


def _all_denied(stdout: str) -> None:
    outcomes = dict(line.split() for line in stdout.splitlines())
    assert set(outcomes) == set(_PATHS), stdout
    assert all(value == "EPERM" for value in outcomes.values()), outcomes


def test_no_signal_or_setting_reaches_the_worker(solo_box: WorkerPool) -> None:
    before = _worker_pid(solo_box)
    code = _SIGNAL_PATHS.format(target=1, signo=int(signal.SIGINT), ioprio=_IOPRIO_SET)
    result = run(solo_box, code)
    assert result.ok, result
    _all_denied(result.stdout)
    assert_still_works(solo_box)
    assert _worker_pid(solo_box) == before  # not lost, not replaced


def test_no_signal_reaches_the_host_at_the_rlimits_level(rlimits_box: WorkerPool) -> None:
    received: list[int] = []
    previous = {
        signo: signal.signal(signo, lambda number, _frame: received.append(number))
        for signo in (signal.SIGUSR1, signal.SIGIO)
    }
    try:
        code = _SIGNAL_PATHS.format(
            target=os.getpid(), signo=int(signal.SIGUSR1), ioprio=_IOPRIO_SET
        )
        result = run(rlimits_box, code)
        time.sleep(0.2)
    finally:
        for signo, handler in previous.items():
            signal.signal(signo, handler)
    assert result.ok, result
    _all_denied(result.stdout)
    assert received == []
    assert os.getpriority(os.PRIO_PROCESS, 0) == 0


_IPC = """
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
for name, call in (
    ('shmget', lambda: libc.shmget(0, 64 << 20, 0o1600)),
    ('msgget', lambda: libc.msgget(0, 0o1600)),
    ('semget', lambda: libc.semget(0, 1, 0o1600)),
    ('mq_open', lambda: libc.mq_open(b'/creator-leak', 0o100 | 2, 0o600, None)),
    ('memfd_create', lambda: libc.memfd_create(b'hoard', 0)),
):
    print(name, call(), errno.errorcode.get(ctypes.get_errno()))
"""
_SYSVIPC = (
    "import os\nfor kind in ('shm', 'msg', 'sem'):\n"
    "    rows = open(f'/proc/sysvipc/{kind}').read().splitlines()[1:]\n"
    "    print(kind, len([r for r in rows if r.strip()]))"
)


def test_the_hosts_memory_is_closed_to_rlimits_jobs(rlimits_box: WorkerPool) -> None:
    """At this level jobs may share the host's uid: /proc must not open its memory to them."""
    code = (
        "import os\nfor entry in ('mem', 'environ', 'maps', 'fd'):\n"
        f"    path = '/proc/{os.getpid()}/' + entry\n"
        "    try:\n        os.listdir(path) if entry == 'fd' else open(path, 'rb').read(1)\n"
        "        print(entry, 'open')\n    except OSError as exc:\n"
        "        print(entry, type(exc).__name__)"
    )
    result = run(rlimits_box, code)
    assert result.stdout.split() == [
        *("mem", "PermissionError", "environ", "PermissionError"),
        *("maps", "PermissionError", "fd", "PermissionError"),
    ], result


@pytest.mark.parametrize("level", ["bwrap", "rlimits"])
def test_ipc_objects_that_would_outlive_a_job_cannot_be_made(
    level: str, solo_box: WorkerPool, rlimits_box: WorkerPool
) -> None:
    box = solo_box if level == "bwrap" else rlimits_box
    made = run(box, _IPC)
    assert made.ok, made
    lines = made.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [
        *("shmget", "msgget", "semget", "mq_open", "memfd_create")
    ]
    assert all(line.split()[1:] == ["-1", "ENOSYS"] for line in lines), made.stdout
    if level == "bwrap":  # the worker's IPC namespace is the next job's: still empty
        assert run(box, _SYSVIPC).stdout == "shm 0\nmsg 0\nsem 0\n"


def test_extended_attributes_are_refused(solo_box: WorkerPool) -> None:
    code = (
        "import os\nopen('f', 'w').close()\n"
        "try:\n    os.setxattr('f', 'user.pad', b'x' * 60000)\nexcept OSError as exc:\n"
        "    print(exc.errno)"
    )
    assert run(solo_box, code).stdout == "95\n"  # ENOTSUP


def test_many_processes_share_one_memory_limit(solo_box: WorkerPool) -> None:
    """6 children x 200 MiB under memory_mb=256 took 1.2 GiB: the job is stopped instead."""
    hog = (
        "import os, time\nchildren = []\nfor _ in range(6):\n    pid = os.fork()\n"
        "    if pid == 0:\n        block = bytearray(200 << 20)\n"
        "        for at in range(0, len(block), 4096):\n            block[at] = 1\n"
        "        time.sleep(20)\n        os._exit(0)\n    children.append(pid)\n"
        "for pid in children:\n    os.waitpid(pid, 0)\nprint('all held')"
    )
    started = time.monotonic()
    result = run(solo_box, hog, memory_mb=256, timeout_s=15)
    assert result.memory_exceeded and not result.ok, result
    assert result.error and result.error.startswith("MemoryError")
    assert "all held" not in result.stdout
    assert time.monotonic() - started < 10  # stopped, not timed out
    assert_still_works(solo_box)


_HIDING_HOGS = {
    # each child makes itself undumpable, so a watcher that may not read it saw nothing
    "undumpable": "import ctypes\nctypes.CDLL(None).prctl(4, 0, 0, 0, 0)\n",
    # each child asks the OOM killer to pass it over (as root, the worker's -1000 is there
    # to take; as an ordinary user it is refused): the cgroup is out of memory, nobody dies
    "unkillable": (
        "try:\n    open('/proc/self/oom_score_adj', 'w').write('-1000')\n"
        "except OSError:\n    pass\n"
    ),
    # the main thread of each child exits alone: its smaps_rollup says ESRCH
    "leaderless": (
        "import ctypes, threading\nthreading.Thread(target=hold, daemon=False).start()\n"
        "ctypes.CDLL(None).syscall(60 if __import__('os').uname().machine == 'x86_64' "
        "else 93, 0)\n"
    ),
}


@pytest.mark.parametrize("hide", sorted(_HIDING_HOGS))
def test_processes_that_hide_their_memory_are_counted(solo_box: WorkerPool, hide: str) -> None:
    hog = (
        "import os, time\ndef hold():\n    block = bytearray(150 << 20)\n"
        "    for at in range(0, len(block), 4096):\n        block[at] = 1\n    time.sleep(20)\n"
        "children = []\nfor _ in range(6):\n    pid = os.fork()\n    if pid == 0:\n"
        + "".join(f"        {line}\n" for line in _HIDING_HOGS[hide].splitlines())
        + "        hold()\n        os._exit(0)\n    children.append(pid)\n"
        "time.sleep(15)\nprint('all held')"
    )
    started = time.monotonic()
    result = run(solo_box, hog, memory_mb=256, timeout_s=12)
    assert result.memory_exceeded and "all held" not in result.stdout, result
    assert time.monotonic() - started < 10
    assert_still_works(solo_box)


def test_socket_buffers_cannot_grow_and_count_against_the_memory_limit(
    solo_box: WorkerPool,
) -> None:
    grow = (
        "import socket\na, b = socket.socketpair()\n"
        "for option in (socket.SO_SNDBUF, socket.SO_RCVBUF, 32, 33):\n"
        "    try:\n        a.setsockopt(socket.SOL_SOCKET, option, 1 << 26)\n"
        "    except OSError as exc:\n        print(exc.errno)"
    )
    assert run(solo_box, grow).stdout == "1\n1\n1\n1\n"  # EPERM: no buffer past the default
    if cgroup.cgroup_support() is None:
        return  # the kernel charges socket buffers to the job's cgroup (test_cgroup)
    # Without a cgroup the worker counts every socket at twice its default buffer: 240 of
    # them (~100 MiB) are over a 32 MiB job's limit (96 MiB with the slack) before any write.
    hoard = (
        "import socket, time\npairs = [socket.socketpair() for _ in range(120)]\n"
        "time.sleep(10)\nprint('kept')"
    )
    result = run(solo_box, hoard, memory_mb=32, timeout_s=8)
    assert result.memory_exceeded and "kept" not in result.stdout, result


def test_one_process_under_the_limit_is_left_alone(solo_box: WorkerPool) -> None:
    code = (
        "import os\nblock = bytearray(100 << 20)\nfor at in range(0, len(block), 4096):\n"
        "    block[at] = 1\npid = os.fork()\nif pid == 0:\n    import time\n"
        "    time.sleep(0.3)\n    os._exit(0)\nos.waitpid(pid, 0)\nprint('ok')"
    )
    result = run(solo_box, code, memory_mb=256, timeout_s=10)
    assert result.ok and result.stdout == "ok\n", result  # shared pages are counted once


def test_an_inode_flood_is_capped_and_the_next_job_starts_at_once(solo_box: WorkerPool) -> None:
    before = _worker_pid(solo_box)
    flood = (
        "import os\nn = 0\ntry:\n    while True:\n        os.mkdir(f'd{n}')\n"
        "        open(f'd{n}/f', 'w').close()\n        n += 1\nexcept OSError as exc:\n"
        "    print(n, exc.errno)"
    )
    result = run(solo_box, flood, timeout_s=10)
    count, err = result.stdout.split()
    assert err == "28" and 0 < int(count) < 5000, result  # ENOSPC at the inode cap
    started = time.monotonic()
    assert_still_works(solo_box)
    assert time.monotonic() - started < 1.0
    assert _worker_pid(solo_box) == before


@pytest.mark.parametrize(
    "leave",
    [
        "import os\nos.symlink('/usr', 'link')\nos.symlink('/tmp', '/tmp/up')",
        "import os\nos.chdir('/tmp')\nfor _ in range(1100):\n    os.mkdir('d')\n    os.chdir('d')",
        "import os\nos.makedirs('a/b')\nopen('a/b/f', 'w').close()\nos.chmod('a/b', 0)\n"
        "os.chmod('a', 0o500)\nos.mkfifo('/tmp/fifo')",
    ],
    ids=["symlinks-to-directories", "1100-deep", "unwritable-dirs-and-fifo"],
)
def test_what_a_job_leaves_never_costs_the_worker(solo_box: WorkerPool, leave: str) -> None:
    before = _worker_pid(solo_box)
    assert run(solo_box, leave, timeout_s=10).ok
    started = time.monotonic()
    clean = run(solo_box, "import os\nprint(sorted(os.listdir('/tmp')), os.listdir('.'))")
    assert clean.ok and clean.stdout.endswith(" []\n"), clean
    assert "link" not in clean.stdout and "'d'" not in clean.stdout and "fifo" not in clean.stdout
    assert time.monotonic() - started < 1.0
    assert _worker_pid(solo_box) == before


def _host_view_of_the_worker(bwrap: int) -> dict[str, str]:
    """The first field of each line of the worker's /proc status as the host sees it
    (the worker is bubblewrap's one child: it runs as PID 1 of the sandbox)."""
    children = Path(f"/proc/{bwrap}/task/{bwrap}/children").read_text().split()
    assert len(children) == 1, children
    status = Path(f"/proc/{children[0]}/status").read_text().splitlines()
    fields = (line.split(":", 1) for line in status)
    return {key: (value.split() or [""])[0] for key, value in fields}


def test_slowly_dying_leftovers_are_gone_before_the_next_job(solo_box: WorkerPool) -> None:
    """Children with large address spaces take a while to die after the sweep's SIGKILL: the
    next job must not meet them (nor lose its process limit to them)."""
    leave = (
        "import mmap, os, time\nfor _ in range(24):\n    if os.fork() == 0:\n"
        "        maps = [mmap.mmap(-1, 4096) for _ in range(2000)]\n"
        "        for m in maps:\n            m[0] = 1\n"
        "        for fd in range(4):\n            os.close(fd)\n        time.sleep(60)\n"
        "time.sleep(1.5)\nprint('left')"
    )
    assert run(solo_box, leave, timeout_s=10, memory_mb=512).stdout == "left\n"
    count = (
        "import os\nmine = str(os.getpid())\n"
        "print(len([p for p in os.listdir('/proc') if p.isdigit() and p not in ('1', mine)]))\n"
        "kids = []\nfor _ in range(25):\n    pid = os.fork()\n    if pid == 0:\n"
        "        os._exit(0)\n    kids.append(pid)\nfor pid in kids:\n    os.waitpid(pid, 0)\n"
        "print(len(kids))"
    )
    assert run(solo_box, count, timeout_s=10).stdout == "0\n25\n"


def test_the_tmp_root_carries_nothing_to_the_next_job(solo_box: WorkerPool) -> None:
    mark = "import os\nos.utime('/tmp', (111000424242, 111000424242))\nos.chmod('/tmp', 0o1300)"
    assert run(solo_box, mark).ok
    look = "import os\nst = os.stat('/tmp')\nprint(oct(st.st_mode & 0o7777), int(st.st_atime))"
    mode, atime = run(solo_box, look).stdout.split()
    assert mode == "0o1777" and atime != "111000424242"


def test_host_files_cannot_be_watched(solo_box: WorkerPool) -> None:
    code = (
        "import ctypes, os, sys\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "fd = libc.inotify_init1(0)\n"
        "print(libc.inotify_add_watch(fd, os.path.dirname(os.__file__).encode(), 0xFFF),"
        " ctypes.get_errno())\n"
        "print(libc.fanotify_init(0, 0), ctypes.get_errno())"
    )
    assert run(solo_box, code).stdout == "-1 1\n-1 1\n"


def test_pages_cannot_be_pinned_in_pipes_nor_inode_flags_set(solo_box: WorkerPool) -> None:
    code = (
        "import ctypes, fcntl, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "r, w = os.pipe()\nbuf = ctypes.create_string_buffer(b'x' * 4096)\n"
        "iov = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 4096)\n"
        "print(libc.vmsplice(w, iov, 1, 0), ctypes.get_errno())\n"
        "fd = os.open('/tmp', os.O_RDONLY)\nflags = ctypes.c_long(0x40 | 0x80)\n"
        "print(libc.ioctl(fd, 0x40086602, ctypes.byref(flags)), ctypes.get_errno())"
    )
    assert run(solo_box, code).stdout == "-1 1\n-1 1\n"  # EPERM, EPERM


def test_a_job_that_fills_memory_outside_its_processes_never_costs_the_worker() -> None:
    """Memory no process maps (tmpfs files written by a tiny process) must get the job, not
    its worker, killed where a cgroup bounds it; the worker serves the next job either way."""
    fill = (
        "import os\nos.execv('/bin/sh', ['sh', '-c', "
        "'for i in $(seq 30); do head -c 10000000 /dev/zero > /tmp/f$i || exit 3; done'])"
    )
    with make_sandbox("bwrap", workers=1, warm=[], light_workers=0, tmpfs_mb=512) as box:
        assert isinstance(box, WorkerPool)
        assert run(box, "print(1)").ok
        before = _worker_pid(box)
        result = run(box, fill, memory_mb=32, timeout_s=10)
        if cgroup.cgroup_support() is None:  # the cgroup charges the tmpfs pages to the job
            assert result.memory_exceeded, result
        assert_still_works(box)
        assert _worker_pid(box) == before


def test_one_jobs_oom_is_not_the_next_jobs(solo_box: WorkerPool) -> None:
    """A job whose child ran out of memory but which itself ended well must not get the next
    job counted (or killed) as over its limit."""
    code = (
        "import os, time\npid = os.fork()\nif pid == 0:\n    block = bytearray(1 << 30)\n"
        "    os._exit(0)\nos.waitpid(pid, 0)\nprint('fine')"
    )
    first = run(solo_box, code, memory_mb=64, timeout_s=10)
    assert first.stdout == "fine\n", first
    second = run(solo_box, "import time\ntime.sleep(0.3)\nprint('next')", memory_mb=64)
    assert second.ok and second.stdout == "next\n", second


def test_a_lower_limit_right_after_a_big_job(solo_box: WorkerPool) -> None:
    before = _worker_pid(solo_box)
    big = (
        "block = bytearray(700 << 20)\nfor at in range(0, len(block), 4096):\n"
        "    block[at] = 1\nprint('big')"
    )
    assert run(solo_box, big, memory_mb=1024, timeout_s=10).stdout == "big\n"
    small = run(solo_box, "print('small')", memory_mb=64)
    assert small.ok and small.stdout == "small\n", small
    assert _worker_pid(solo_box) == before


def test_the_worker_has_no_privileges(solo_box: WorkerPool) -> None:
    code = (
        "import os\nstatus = dict(l.split(':', 1) for l in open('/proc/1/status').read()"
        ".splitlines())\nfor key in ('Uid', 'Gid', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', "
        "'NoNewPrivs'):\n    print(key, status[key].split()[0])\n"
        "print('job', os.getuid(), os.getgid(), os.getgroups())\n"
        "try:\n    open('/proc/sys/kernel/shmmni', 'w').write('8')\nexcept OSError as exc:\n"
        "    print('sysctl', exc.errno)"
    )
    result = run(solo_box, code)
    assert result.ok, result
    values = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert values["Uid"] == values["Gid"] == "1000" and values["job"] == "1000 1000 []"
    assert values["NoNewPrivs"] == "1"
    for key in ("CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(values[key], 16) == 0, values
    assert values["sysctl"] == "30"  # EROFS: /proc/sys is read-only
    host = _host_view_of_the_worker(_worker_pid(solo_box))  # what the worker is on the host
    assert host["Uid"] != "0" and host["Gid"] != "0" and int(host["CapEff"], 16) == 0
    if os.geteuid() != 0:
        assert host["Uid"] == str(os.geteuid())


def test_each_worker_of_a_root_host_has_its_own_uid() -> None:
    if os.geteuid() != 0:
        pytest.skip("root only: an ordinary user's workers all run as that user")
    with make_sandbox("bwrap", workers=2, limits=LIMITS, warm=[], light_workers=0) as box:
        assert isinstance(box, WorkerPool)
        box.start()
        pids = [handle.proc.pid for handle in box._workers if handle.proc is not None]
        uids = {int(_host_view_of_the_worker(pid)["Uid"]) for pid in pids}
    assert len(pids) == len(uids) == 2 and all(uid >= 1 << 20 for uid in uids), uids


_UNPRIVILEGED = (
    "import os\nprint(os.getuid(), os.getgid(), os.getgroups())\n"
    "for path in ('/etc/shadow', '/proc/{host}/environ', '/proc/1/environ'):\n"
    "    try:\n        open(path, 'rb').read()\n        print('read', path)\n"
    "    except OSError as exc:\n        print(type(exc).__name__)\n"
    "reached = []\nfor name in os.listdir('/proc'):\n"
    "    try:\n        owner = os.stat(f'/proc/{{name}}').st_uid if name.isdigit() else None\n"
    "        if owner not in (None, os.getuid()):  # not this job's (nor the last one's)\n"
    "            os.kill(int(name), 0)\n            reached.append(name)\n"
    "    except OSError:\n        pass\nprint('reached', reached)"
)


def test_the_rlimits_level_as_root_runs_jobs_as_an_unprivileged_uid(
    rlimits_box: WorkerPool,
) -> None:
    if os.geteuid() != 0:
        pytest.skip("root only: an ordinary user's jobs run as that user")
    result = run(rlimits_box, _UNPRIVILEGED.format(host=os.getpid()))
    assert result.ok, result
    ids, *denied, reached = result.stdout.splitlines()
    uid, gid, groups = ids.split(" ", 2)
    assert int(uid) >= 1 << 20 and gid == uid and groups == "[]"
    assert denied == ["PermissionError"] * 3, result.stdout
    assert reached == "reached []"  # no process of another uid: host, workers, init
    bomb = (
        "import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
        "            time.sleep(30)\n        n += 1\nexcept OSError:\n    print(n)"
    )
    capped = run(rlimits_box, bomb, timeout_s=10)
    assert capped.ok and 0 < int(capped.stdout) < LIMITS.max_processes, capped
    assert_still_works(rlimits_box)
