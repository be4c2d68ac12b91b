"""The BPF program itself: well-formed, and refused where there is no syscall table."""

from __future__ import annotations

import os
import platform
import socket
import struct
import sys

import pytest

from creator.sandbox import seccomp


@pytest.mark.skipif(seccomp.supported() is not None, reason="no seccomp here")
def test_program_is_well_formed() -> None:
    spec = seccomp.JobFilter(protected_pids=(1, 2, 40), pin_process_group=True)
    program = seccomp.assemble(spec).for_group(7)
    assert len(program) % 8 == 0 and 0 < len(program) // 8 < 4096
    code, _, _, k = struct.unpack_from("=HBBI", program, len(program) - 8)
    assert code == 0x06 and k == 0x80000000  # ends with RET KILL_PROCESS
    constants = [struct.unpack_from("=HBBI", program, i)[3] for i in range(0, len(program), 8)]
    assert -7 & 0xFFFFFFFF in constants  # its own process group, patched in per job
    assert seccomp.assemble(spec).for_group(9) != program


def test_unknown_architecture_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "machine", lambda: "riscv64")
    monkeypatch.setattr(sys, "platform", "linux")
    assert seccomp.supported() == "no syscall table for architecture riscv64"
    with pytest.raises(OSError):
        seccomp.assemble(seccomp.JobFilter(protected_pids=()))


@pytest.mark.skipif(seccomp.supported() is not None, reason="no seccomp here")
def test_the_prepared_installer_installs_the_patched_filter() -> None:
    spec = seccomp.JobFilter(protected_pids=(1,), pin_process_group=True)
    installer = seccomp.Installer(seccomp.assemble(spec))
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        status = 1
        try:
            installer.install(os.getpgid(0))
            os.kill(-os.getpgid(0), 0)  # its own group: allowed
            try:
                socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            except PermissionError:
                try:
                    os.kill(-1, 0)
                except PermissionError:
                    status = 0
        finally:
            os._exit(status)
    assert os.waitpid(pid, 0)[1] == 0
