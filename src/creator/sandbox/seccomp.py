"""A seccomp filter for one job, assembled as classic BPF and installed with ``prctl``.

The filter is a deny-list tuned to what a job must not do even inside its namespaces:

* create network sockets other than ``AF_UNIX`` (``EACCES``);
* act on a process outside its job by pid: signal the worker, the ns init or the host
  (``kill``, ``tkill``, ``tgkill``, ``rt_(tg)sigqueueinfo``, ``pidfd_open``), change their
  limits, priority, I/O priority, scheduling or CPU affinity (``prlimit64``,
  ``setpriority``, ``ioprio_set``, ``sched_set*``), move their pages; name a foreign process
  group, a user (``PRIO_USER``) or everyone (``-1``) (``EPERM``). Signals that need no pid
  are closed too: ``pidfd_send_signal`` (which also takes ``/proc/<pid>`` directories) and
  making the kernel signal someone else on I/O (``fcntl`` ``F_SETOWN``/``F_SETOWN_EX``/
  ``F_SETSIG``, ``ioctl`` ``FIOSETOWN``/``SIOCSPGRP``);
* leave state in the kernel that outlives the job or escapes its memory limits: SysV IPC,
  POSIX message queues and ``memfd_create`` (``ENOSYS``: "not here"), extended attributes
  (``ENOTSUP``: kernel memory outside the /tmp size cap);
* ptrace or read another process's memory, steal descriptors, enter or create namespaces
  (``unshare``, ``setns``, ``clone`` with ``CLONE_NEW*``; ``clone3`` answers ``ENOSYS`` so
  libc falls back to ``clone``), mount anything, use io_uring (which bypasses seccomp),
  bpf, perf, userfaultfd, keyrings, the kernel log, modules, kexec, reboot, swap (``EPERM``);
* optionally leave its process group (``setsid``/``setpgid``), for levels where the group is
  the only handle the worker has on the job's processes.

A foreign architecture or x32 syscalls kill the process. Supported: x86_64 and aarch64.
Deliberately left out: an allow-list (too brittle across numpy/scipy/glibc versions), and
installing on anything but the calling thread (a freshly forked job child is single-threaded).
Only the standard library is used: this module is loaded inside the sandbox.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import platform
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Filter", "Installer", "JobFilter", "assemble", "install", "preload", "supported"]

# BPF opcodes
_LD_W_ABS = 0x20
_JA = 0x05
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06

_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000

_OFF_NR = 0
_OFF_ARCH = 4
_OFF_ARG0_LO = 16  # little-endian low words of args[0], args[1] and args[2]: pids, flags,
_OFF_ARG1_LO = 24  # commands and socket options are 32-bit ints
_OFF_ARG2_LO = 32

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

_AF_UNIX = 1
_CLONE_NS_FLAGS = 0x7E020080  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWTIME
_X32_BIT = 0x40000000
_SETOWN_FCNTL = (8, 10, 15)  # F_SETOWN, F_SETSIG, F_SETOWN_EX
# FIOSETOWN, SIOCSPGRP; then inode flags a job could leave on the /tmp root for the next:
# FS_IOC_SETFLAGS, FS_IOC32_SETFLAGS, FS_IOC_FSSETXATTR
_DENIED_IOCTL = (0x8901, 0x8902, 0x40086602, 0x40046602, 0x401C5820)
_SOL_SOCKET = 1
_BUFFER_OPTIONS = (7, 8, 32, 33)  # SO_SNDBUF, SO_RCVBUF, SO_SNDBUFFORCE, SO_RCVBUFFORCE

_DENIED = (
    *("ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp", "unshare"),
    *("setns", "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen"),
    *("fsconfig", "fsmount", "fspick", "mount_setattr", "open_by_handle_at", "io_uring_setup"),
    *("io_uring_enter", "io_uring_register", "bpf", "perf_event_open", "userfaultfd", "keyctl"),
    *("add_key", "request_key", "kexec_load", "kexec_file_load", "init_module", "finit_module"),
    *("delete_module", "reboot", "swapon", "swapoff", "acct", "syslog", "pidfd_send_signal"),
    *("inotify_add_watch", "fanotify_init", "fanotify_mark", "vmsplice"),
)
_ABSENT = (  # kernel objects that would outlive the job: "not implemented here"
    *("shmget", "shmat", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl", "semget"),
    *("semop", "semctl", "semtimedop", "mq_open", "mq_unlink", "mq_timedsend"),
    *("mq_timedreceive", "mq_notify", "mq_getsetattr", "memfd_create"),
)
_NO_XATTRS = ("setxattr", "lsetxattr", "fsetxattr", "setxattrat")
# Calls whose first argument names a process (or, negative, a process group).
_BY_PID = (
    *("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open"),
    *("prlimit64", "sched_setparam", "sched_setscheduler", "sched_setaffinity"),
    *("sched_setattr", "migrate_pages", "move_pages"),
)
# (which, who) calls: only ``which`` = one process is allowed, then ``who`` is checked.
_BY_WHICH = {"setpriority": 0, "ioprio_set": 1}  # PRIO_PROCESS, IOPRIO_WHO_PROCESS

_X86_64 = {
    "kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129,
    "rt_tgsigqueueinfo": 297, "pidfd_open": 434, "pidfd_send_signal": 424, "pidfd_getfd": 438,
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
    "socket": 41, "unshare": 272, "setns": 308, "mount": 165, "umount2": 166,
    "pivot_root": 155, "chroot": 161, "clone": 56, "clone3": 435, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442, "open_by_handle_at": 304, "io_uring_setup": 425,
    "io_uring_enter": 426, "io_uring_register": 427, "bpf": 321, "perf_event_open": 298,
    "userfaultfd": 323, "keyctl": 250, "add_key": 248, "request_key": 249, "kexec_load": 246,
    "kexec_file_load": 320, "init_module": 175, "finit_module": 313, "delete_module": 176,
    "reboot": 169, "swapon": 167, "swapoff": 168, "acct": 163, "setsid": 112, "setpgid": 109,
    "syslog": 103, "shmget": 29, "shmat": 30, "shmctl": 31, "msgget": 68, "msgsnd": 69,
    "msgrcv": 70, "msgctl": 71, "semget": 64, "semop": 65, "semctl": 66, "semtimedop": 220,
    "mq_open": 240, "mq_unlink": 241, "mq_timedsend": 242, "mq_timedreceive": 243,
    "mq_notify": 244, "mq_getsetattr": 245, "memfd_create": 319, "setxattr": 188,
    "lsetxattr": 189, "fsetxattr": 190, "setxattrat": 463, "fcntl": 72, "ioctl": 16,
    "prlimit64": 302, "setpriority": 141, "ioprio_set": 251, "sched_setparam": 142,
    "sched_setscheduler": 144, "sched_setaffinity": 203, "sched_setattr": 314,
    "migrate_pages": 256, "move_pages": 279, "setsockopt": 54, "inotify_add_watch": 254,
    "fanotify_init": 300, "fanotify_mark": 301, "vmsplice": 278,
}  # fmt: skip
_AARCH64 = {
    "kill": 129, "tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138,
    "rt_tgsigqueueinfo": 240, "pidfd_open": 434, "pidfd_send_signal": 424, "pidfd_getfd": 438,
    "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "kcmp": 272,
    "socket": 198, "unshare": 97, "setns": 268, "mount": 40, "umount2": 39,
    "pivot_root": 41, "chroot": 51, "clone": 220, "clone3": 435, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442, "open_by_handle_at": 265, "io_uring_setup": 425,
    "io_uring_enter": 426, "io_uring_register": 427, "bpf": 280, "perf_event_open": 241,
    "userfaultfd": 282, "keyctl": 219, "add_key": 217, "request_key": 218, "kexec_load": 104,
    "kexec_file_load": 294, "init_module": 105, "finit_module": 273, "delete_module": 106,
    "reboot": 142, "swapon": 224, "swapoff": 225, "acct": 89, "setsid": 157, "setpgid": 154,
    "syslog": 116, "shmget": 194, "shmat": 196, "shmctl": 195, "msgget": 186, "msgsnd": 189,
    "msgrcv": 188, "msgctl": 187, "semget": 190, "semop": 193, "semctl": 191,
    "semtimedop": 192, "mq_open": 180, "mq_unlink": 181, "mq_timedsend": 182,
    "mq_timedreceive": 183, "mq_notify": 184, "mq_getsetattr": 185, "memfd_create": 279,
    "setxattr": 5, "lsetxattr": 6, "fsetxattr": 7, "setxattrat": 463, "fcntl": 25, "ioctl": 29,
    "prlimit64": 261, "setpriority": 140, "ioprio_set": 30, "sched_setparam": 118,
    "sched_setscheduler": 119, "sched_setaffinity": 122, "sched_setattr": 274,
    "migrate_pages": 238, "move_pages": 239, "setsockopt": 208, "inotify_add_watch": 27,
    "fanotify_init": 262, "fanotify_mark": 263, "vmsplice": 75,
}  # fmt: skip
_ARCHES = {"x86_64": (0xC000003E, _X86_64), "aarch64": (0xC00000B7, _AARCH64)}


def _arch() -> tuple[int, dict[str, int]] | None:
    if not sys.platform.startswith("linux"):
        return None
    machine = platform.machine().lower()
    return _ARCHES.get({"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine))


def supported() -> str | None:
    """None when a filter can be installed here, else the reason it cannot."""
    if not sys.platform.startswith("linux"):
        return f"seccomp is Linux-only (platform {sys.platform})"
    if _arch() is None:
        return f"no syscall table for architecture {platform.machine()}"
    return None


@dataclass(frozen=True)
class JobFilter:
    """What the filter protects: pids the job may not act on; whether it keeps its group."""

    protected_pids: tuple[int, ...]
    pin_process_group: bool = False


@dataclass(frozen=True)
class Filter:
    """An assembled program; only the job's own process group is filled in per job."""

    program: bytes
    group_slot: int  # byte offset of the constant compared with -(own process group)

    def for_group(self, pgid: int) -> bytes:
        """The program for a job whose process group is ``pgid`` (cheap: one patch)."""
        patched = bytearray(self.program)
        struct.pack_into("=I", patched, self.group_slot, -pgid & 0xFFFFFFFF)
        return bytes(patched)


class _Asm:
    """A tiny BPF assembler with forward labels (conditional jumps reach 255 instructions,
    ``ja`` any distance forward)."""

    def __init__(self) -> None:
        self.code: list[tuple[int, str | None, str | None, int | str]] = []
        self.labels: dict[str, int] = {}

    def op(self, code: int, k: int, jt: str | None = None, jf: str | None = None) -> None:
        self.code.append((code, jt, jf, k & 0xFFFFFFFF))

    def ja(self, target: str) -> None:
        self.code.append((_JA, None, None, target))

    def label(self, name: str) -> None:
        self.labels[name] = len(self.code)

    def bytes(self) -> bytes:
        out = bytearray()
        for index, (code, jt, jf, k) in enumerate(self.code):
            offsets = []
            for target in (jt, jf):
                offset = 0 if target is None else self.labels[target] - index - 1
                if not 0 <= offset <= 255:
                    raise ValueError(f"BPF jump out of range at {index}")
                offsets.append(offset)
            if isinstance(k, str):  # ja: k is the forward offset
                k = self.labels[k] - index - 1
                if k < 0:
                    raise ValueError(f"BPF jump backwards at {index}")
            out += struct.pack("=HBBI", code, offsets[0], offsets[1], k)
        return bytes(out)


def _match(asm: _Asm, table: dict[str, int], names: Sequence[str], target: str) -> None:
    for name in names:
        asm.op(_JEQ_K, table[name], target)


def assemble(spec: JobFilter) -> Filter:
    """The filter for ``spec`` on this machine's architecture, as packed sock_filters.

    Layout: a dispatch on the syscall number (each test jumps to a short block nearby), then
    the blocks; the pid checks are one shared block at the end, which also holds the slot
    patched with the job's own process group.
    """
    arch = _arch()
    if arch is None:
        raise OSError(errno.ENOSYS, supported() or "seccomp unsupported")
    audit_arch, table = arch
    asm = _Asm()
    asm.op(_LD_W_ABS, _OFF_ARCH)
    asm.op(_JEQ_K, audit_arch, None, "kill")
    asm.op(_LD_W_ABS, _OFF_NR)
    if audit_arch == _ARCHES["x86_64"][0]:
        asm.op(_JGE_K, _X32_BIT, "kill")
    denied = list(_DENIED) + (["setsid", "setpgid"] if spec.pin_process_group else [])
    _match(asm, table, denied, "eperm_near")
    _match(asm, table, _ABSENT, "enosys_near")
    _match(asm, table, _NO_XATTRS, "enotsup")
    _match(asm, table, _BY_PID, "pid_in_arg0")
    _match(asm, table, tuple(_BY_WHICH), "by_which")
    for name, code in (("clone3", "enosys_near"), ("clone", "clone"), ("socket", "socket")):
        asm.op(_JEQ_K, table[name], code)
    asm.op(_JEQ_K, table["fcntl"], "fcntl")
    asm.op(_JEQ_K, table["ioctl"], "ioctl")
    asm.op(_JEQ_K, table["setsockopt"], "setsockopt")
    asm.op(_RET_K, _RET_ALLOW)
    asm.label("eperm_near")
    asm.op(_RET_K, _RET_ERRNO | errno.EPERM)
    asm.label("enosys_near")
    asm.op(_RET_K, _RET_ERRNO | errno.ENOSYS)
    asm.label("enotsup")
    asm.op(_RET_K, _RET_ERRNO | errno.ENOTSUP)
    asm.label("clone")
    asm.op(_LD_W_ABS, _OFF_ARG0_LO)
    asm.op(_JSET_K, _CLONE_NS_FLAGS, "eperm")
    asm.op(_RET_K, _RET_ALLOW)
    asm.label("socket")
    asm.op(_LD_W_ABS, _OFF_ARG0_LO)
    asm.op(_JEQ_K, _AF_UNIX, "allow")
    asm.op(_RET_K, _RET_ERRNO | errno.EACCES)
    asm.label("fcntl")
    asm.op(_LD_W_ABS, _OFF_ARG1_LO)
    for command in _SETOWN_FCNTL:
        asm.op(_JEQ_K, command, "eperm")
    asm.op(_RET_K, _RET_ALLOW)
    asm.label("ioctl")
    asm.op(_LD_W_ABS, _OFF_ARG1_LO)
    for command in _DENIED_IOCTL:
        asm.op(_JEQ_K, command, "eperm")
    asm.op(_RET_K, _RET_ALLOW)
    asm.label("setsockopt")
    asm.op(_LD_W_ABS, _OFF_ARG1_LO)
    asm.op(_JEQ_K, _SOL_SOCKET, None, "allow")
    asm.op(_LD_W_ABS, _OFF_ARG2_LO)
    for option in _BUFFER_OPTIONS:
        asm.op(_JEQ_K, option, "eperm")
    asm.op(_RET_K, _RET_ALLOW)
    asm.label("by_which")  # A: the syscall number, one of _BY_WHICH
    for name, process in _BY_WHICH.items():
        asm.op(_JEQ_K, table[name], None, f"not_{name}")
        asm.op(_LD_W_ABS, _OFF_ARG0_LO)
        asm.op(_JEQ_K, process, None, "eperm")
        asm.op(_LD_W_ABS, _OFF_ARG1_LO)
        asm.ja("pid_check")
        asm.label(f"not_{name}")
    asm.op(_RET_K, _RET_ERRNO | errno.EPERM)
    asm.label("pid_in_arg0")
    asm.op(_LD_W_ABS, _OFF_ARG0_LO)
    asm.label("pid_check")  # A holds a pid: deny -1, protected pids and foreign groups
    asm.op(_JEQ_K, 0xFFFFFFFF, "eperm")
    for pid in sorted(set(spec.protected_pids) - {0}):
        asm.op(_JEQ_K, pid, "eperm")
        asm.op(_JEQ_K, -pid, "eperm")
    asm.label("group_slot")
    asm.op(_JEQ_K, 0, "allow")  # patched per job by Filter.for_group
    asm.op(_JGE_K, 0x80000000, "eperm")
    asm.label("allow")
    asm.op(_RET_K, _RET_ALLOW)
    asm.label("eperm")
    asm.op(_RET_K, _RET_ERRNO | errno.EPERM)
    asm.label("kill")
    asm.op(_RET_K, _RET_KILL_PROCESS)
    return Filter(asm.bytes(), asm.labels["group_slot"] * 8 + 4)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def preload() -> None:
    """Load libc now (in the worker) so forked children do not each pay for it."""
    _libc()


def install(program: bytes) -> None:
    """Set ``no_new_privs`` and install ``program`` on the calling thread; OSError on failure."""
    libc = _libc()
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_NO_NEW_PRIVS): {errno.errorcode.get(err, err)}")
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_SECCOMP): {errno.errorcode.get(err, err)}")


class Installer:
    """``compiled`` made ready to install in forked children at the least cost per child.

    The worker builds it once: the ctypes buffer, the ``sock_fprog`` pointing at it and the
    bound ``prctl``. A child only patches its process group into its copy of the buffer and
    makes the two ``prctl`` calls, so it touches (copies on write) few pages of the worker.
    """

    def __init__(self, compiled: Filter) -> None:
        self._slot = compiled.group_slot
        self._buffer = ctypes.create_string_buffer(compiled.program, len(compiled.program))
        self._fprog = _SockFprog(len(compiled.program) // 8, ctypes.addressof(self._buffer))
        self._fprog_ref = ctypes.byref(self._fprog)
        self._prctl = _libc().prctl

    def install(self, pgid: int) -> None:
        """Like ``install(compiled.for_group(pgid))``; OSError on failure."""
        struct.pack_into("=I", self._buffer, self._slot, -pgid & 0xFFFFFFFF)
        if self._prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"prctl(PR_SET_NO_NEW_PRIVS): {errno.errorcode.get(err, err)}")
        if self._prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, self._fprog_ref, 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"prctl(PR_SET_SECCOMP): {errno.errorcode.get(err, err)}")
