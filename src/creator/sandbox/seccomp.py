"""A seccomp filter for one job, assembled as classic BPF and installed with ``prctl``.

The filter is a deny-list tuned to what a job must not do even inside its namespaces:

* create network sockets other than ``AF_UNIX`` (``EACCES``);
* signal the worker, the ns init, anything it names by a negative pid other than its own
  process group, or everyone (``kill(-1)``) - the same check covers ``tkill``, ``tgkill``,
  ``rt_(tg)sigqueueinfo`` and ``pidfd_open`` (``EPERM``);
* ptrace or read another process's memory, steal descriptors, enter or create namespaces
  (``unshare``, ``setns``, ``clone`` with ``CLONE_NEW*``; ``clone3`` answers ``ENOSYS`` so
  libc falls back to ``clone``), mount anything, use io_uring (which bypasses seccomp),
  bpf, perf, userfaultfd, keyrings, modules, kexec, reboot, swap (``EPERM``);
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
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Filter", "Installer", "JobFilter", "assemble", "install", "preload", "supported"]

# BPF opcodes
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06

_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000

_OFF_NR = 0
_OFF_ARCH = 4
_OFF_ARG0_LO = 16  # little-endian low word of args[0]; pids and flags are 32-bit ints

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

_AF_UNIX = 1
_CLONE_NS_FLAGS = 0x7E020080  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWTIME
_X32_BIT = 0x40000000

_DENIED = (
    *("ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp", "unshare"),
    *("setns", "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen"),
    *("fsconfig", "fsmount", "fspick", "mount_setattr", "open_by_handle_at", "io_uring_setup"),
    *("io_uring_enter", "io_uring_register", "bpf", "perf_event_open", "userfaultfd", "keyctl"),
    *("add_key", "request_key", "kexec_load", "kexec_file_load", "init_module", "finit_module"),
    *("delete_module", "reboot", "swapon", "swapoff", "acct"),
)
_SIGNALLING = ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open")

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
    """What the filter protects: pids the job may not signal; whether it keeps its group."""

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
    """A tiny BPF assembler with forward labels (jump offsets are 8-bit, forward only)."""

    def __init__(self) -> None:
        self.code: list[tuple[int, str | None, str | None, int]] = []
        self.labels: dict[str, int] = {}

    def op(self, code: int, k: int, jt: str | None = None, jf: str | None = None) -> None:
        self.code.append((code, jt, jf, k & 0xFFFFFFFF))

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
            out += struct.pack("=HBBI", code, offsets[0], offsets[1], k)
        return bytes(out)


def _pid_checks(asm: _Asm, spec: JobFilter, *, deny: str) -> None:
    """A holds arg0 (a pid): deny -1, protected pids and foreign groups, else allow."""
    asm.op(_JEQ_K, 0xFFFFFFFF, deny)
    for pid in sorted(set(spec.protected_pids)):
        asm.op(_JEQ_K, pid, deny)
        asm.op(_JEQ_K, -pid, deny)
    asm.label("group_slot")
    asm.op(_JEQ_K, 0, "own_group")  # patched per job by Filter.for_group
    asm.op(_JGE_K, 0x80000000, deny)
    asm.label("own_group")
    asm.op(_RET_K, _RET_ALLOW)


def assemble(spec: JobFilter) -> Filter:
    """The filter for ``spec`` on this machine's architecture, as packed sock_filters."""
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
    denied: Iterable[str] = _DENIED
    if spec.pin_process_group:
        denied = [*denied, "setsid", "setpgid"]
    for name in denied:
        asm.op(_JEQ_K, table[name], "eperm")
    asm.op(_JEQ_K, table["clone3"], "enosys")
    asm.op(_JEQ_K, table["clone"], None, "after_clone")
    asm.op(_LD_W_ABS, _OFF_ARG0_LO)
    asm.op(_JSET_K, _CLONE_NS_FLAGS, "eperm")
    asm.op(_RET_K, _RET_ALLOW)
    asm.label("after_clone")
    asm.op(_JEQ_K, table["socket"], None, "after_socket")
    asm.op(_LD_W_ABS, _OFF_ARG0_LO)
    asm.op(_JEQ_K, _AF_UNIX, "allow")
    asm.op(_RET_K, _RET_ERRNO | errno.EACCES)
    asm.label("after_socket")
    for name in _SIGNALLING:
        asm.op(_JEQ_K, table[name], "signal")
    asm.label("allow")
    asm.op(_RET_K, _RET_ALLOW)
    asm.label("signal")
    asm.op(_LD_W_ABS, _OFF_ARG0_LO)
    _pid_checks(asm, spec, deny="eperm")
    asm.label("eperm")
    asm.op(_RET_K, _RET_ERRNO | errno.EPERM)
    asm.label("enosys")
    asm.op(_RET_K, _RET_ERRNO | errno.ENOSYS)
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
