"""Run pytest as another user (e.g. ``nobody``) from a root test run, in a readable world.

The sandbox behaves differently as root and as an ordinary user (bubblewrap then uses a user
namespace), and CI runs as root. To cover the ordinary-user mode there, a test re-runs tests as
an unprivileged uid in a subprocess. That uid usually cannot start this interpreter: it may live
under a directory others cannot traverse (``/root``, mode 0700), and so may the checkout.

Nothing on the host is changed. As root, the child starts in a private mount namespace
(``unshare --mount --propagation private``) in which every path the run needs (the interpreter,
its prefixes, the venv, every ``sys.path`` entry, the project) becomes traversable: each needed
path below an ancestor that others cannot traverse is bound to a staging place, a small 0755
tmpfs goes over that ancestor, the directories leading back to the needed path are recreated on
it and the needed path is bound back. Only such blocking ancestors get a tmpfs; paths that are
already traversable are left alone. Then ``setpriv`` drops to the uid (no groups, no
capabilities) and runs pytest with a minimal environment (no API keys) and all of its writable
state (basetemp, HOME, XDG dirs, TMPDIR) in a fresh directory that is deleted afterwards.

With ``uid=0`` the child stays root (capabilities kept) in the same readable world, for root-mode
tests that need an interpreter that other users can read too.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field

NOBODY = 65534
SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
TOOLS = ("unshare", "setpriv", "mount", "umount", "sh")


@dataclass
class Reveal:
    """One blocking ancestor: a tmpfs over ``blocker``, then ``keep`` bound back onto it."""

    blocker: str
    keep: list[str] = field(default_factory=list)


def _under(path: str, ancestor: str) -> bool:
    """Whether ``path`` is ``ancestor`` or lies below it (both absolute and normalised)."""
    return path == ancestor or path.startswith(ancestor.rstrip("/") + "/")


def _ancestors(path: str) -> list[str]:
    """The proper ancestors of ``path``, outermost first ("/" included)."""
    out: list[str] = []
    parent = os.path.dirname(path)
    while True:
        out.append(parent)
        if parent == "/":
            break
        parent = os.path.dirname(parent)
    return out[::-1]


def lookup_chain(path: str) -> list[str]:
    """Every real path that looking up ``path`` relies on: the final target, and the directory
    holding each symlink met on the way (so a venv's ``bin/python`` -> base interpreter needs
    both the venv's ``bin`` and the base interpreter)."""
    pending = [p for p in os.path.abspath(path).split("/") if p]
    current = "/"
    touched: list[str] = []
    hops = 0
    while pending:
        name = pending.pop(0)
        if name in ("", "."):
            continue
        if name == "..":
            current = os.path.dirname(current)
            continue
        candidate = os.path.join(current, name)
        if os.path.islink(candidate):
            hops += 1
            if hops > 40:
                raise OSError(f"too many symlinks looking up {path}")
            touched.append(current)
            target = os.readlink(candidate)
            if target.startswith("/"):
                current = "/"
            pending = [p for p in target.split("/") if p] + pending
            continue
        current = candidate
    touched.append(current)
    return touched


def needed_paths(project: str, extra: Iterable[str] = ()) -> list[str]:
    """The real paths a pytest run of ``project`` with this interpreter reads."""
    wanted = [sys.executable, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    wanted += [p for p in sys.path if p]
    wanted += [project, *extra]
    real: set[str] = set()
    for path in wanted:
        if os.path.exists(path):
            real.update(lookup_chain(path))
    return sorted(real)


def _traversable(path: str) -> bool:
    """Whether users other than the owner and group may pass through ``path``."""
    return bool(os.stat(path).st_mode & stat.S_IXOTH)


def plan_reveals(needed: list[str]) -> list[Reveal]:
    """The tmpfs-and-bind-back steps that make every needed path traversable, outermost first.

    A blocker below another one is handled only if a path bound back brings it back (it lies
    inside a kept path); otherwise the recreated 0755 directories already replaced it.
    """
    needed = sorted({os.path.realpath(p) for p in needed})
    for path in needed:
        if os.path.isdir(path) and not _traversable(path):
            raise PermissionError(f"{path} itself is closed to others (mode lacks o+x)")
    blockers = sorted(
        {a for path in needed for a in _ancestors(path) if not _traversable(a)},
        key=lambda p: (p.count("/"), p),
    )
    if "/" in blockers:
        raise PermissionError("/ is closed to others: nothing to mount a tmpfs beside")
    steps: list[Reveal] = []
    for blocker in blockers:
        hidden = any(
            _under(blocker, s.blocker) and not any(_under(blocker, k) for k in s.keep)
            for s in steps
        )
        if hidden:
            continue
        below = sorted(p for p in needed if p != blocker and _under(p, blocker))
        keep = [p for p in below if not any(q != p and _under(p, q) for q in below)]
        steps.append(Reveal(blocker, keep))
    return steps


def mount_script(steps: list[Reveal], stage: str) -> list[str]:
    """Shell commands (run as root inside the private mount namespace) that apply ``steps``.

    ``stage`` is an existing empty directory; a tmpfs goes on it first, so that staging writes
    nothing on the host.
    """
    q = shlex.quote
    lines = ["set -eu", f"mount -t tmpfs -o mode=0700,size=1m creator-stage {q(stage)}"]
    slot = 0
    for step in steps:
        slots: list[tuple[str, str]] = []
        for path in step.keep:
            place = f"{stage}/{slot}"
            slot += 1
            make = "mkdir" if os.path.isdir(path) else ": >"
            lines += [f"{make} {q(place)}", f"mount --rbind {q(path)} {q(place)}"]
            slots.append((place, path))
        lines.append(f"mount -t tmpfs -o mode=0755,size=1m creator-reveal {q(step.blocker)}")
        for place, path in slots:
            parent = os.path.dirname(path)
            if os.path.isdir(path):
                lines.append(f"mkdir -p {q(path)}")
            else:
                lines += [f"mkdir -p {q(parent)}", f": > {q(path)}"]
            lines.append(f"mount --rbind {q(place)} {q(path)}")
    lines.append(f"umount --lazy {q(stage)}")
    return lines


def readable_world_command(
    command: list[str], *, uid: int, gid: int, needed: list[str], stage: str
) -> list[str]:
    """``command`` run as ``uid``:``gid`` (via setpriv unless 0) where ``needed`` is reachable.

    ``stage`` is an empty directory (only root needs to reach it) used while mounting.
    """
    if uid != 0:
        drop = [f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        command = ["setpriv", *drop, "--inh-caps=-all", "--bounding-set=-all", *command]
    steps = plan_reveals(needed)
    stage = os.path.realpath(stage)
    if hidden := [s.blocker for s in steps if _under(stage, s.blocker)]:
        raise ValueError(f"the stage {stage} would be hidden by the tmpfs on {hidden[0]}")
    script = [*mount_script(steps, stage), "exec " + shlex.join(command)]
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(script)]


def child_env(home: str) -> dict[str, str]:
    """A minimal environment for the child: no API keys, its writable state all under home."""
    env = {
        "PATH": SEARCH_PATH,
        "LANG": "C.UTF-8",
        "HOME": home,
        "TMPDIR": os.path.join(home, "tmp"),
        "XDG_CACHE_HOME": os.path.join(home, "cache"),
        "XDG_CONFIG_HOME": os.path.join(home, "config"),
        "XDG_DATA_HOME": os.path.join(home, "data"),
        "XDG_STATE_HOME": os.path.join(home, "state"),
        "XDG_RUNTIME_DIR": os.path.join(home, "run"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update({k: v for k, v in os.environ.items() if k.startswith("CREATOR_REQUIRE_")})
    return env


def work_base() -> str:
    """A directory for the child's state that every user can traverse to (normally /tmp)."""
    for base in (tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"):
        real = os.path.realpath(base)
        if os.path.isdir(real) and all(_traversable(p) for p in [*_ancestors(real), real]):
            return real
    raise PermissionError("no temporary directory that other users can traverse to")


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool, path=SEARCH_PATH) is None]


def run_pytest(
    args: list[str],
    *,
    uid: int = NOBODY,
    gid: int = NOBODY,
    timeout: float = 600.0,
    cwd: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pytest args`` as ``uid``:``gid`` in the readable world; needs root.

    ``cwd`` (default: the current directory) is the project: it is made readable and the run
    starts there. ``-p no:cacheprovider`` and a fresh ``--basetemp`` are added. Output (stdout
    and stderr together) is in ``stdout``; on timeout the whole child session is killed and
    ``returncode`` is -9 with a note at the end of the output.
    """
    if os.geteuid() != 0:
        raise PermissionError("run_pytest needs root (it mounts in a private namespace)")
    if missing := missing_tools():
        raise FileNotFoundError(f"not found on {SEARCH_PATH}: {', '.join(missing)}")
    project = os.path.realpath(cwd or os.getcwd())
    work = tempfile.mkdtemp(prefix="creator-as-user-", dir=work_base())
    try:
        os.chmod(work, 0o755)  # our own directory: the child must reach its home inside it
        stage = os.path.join(work, "stage")
        home = os.path.join(work, "home")
        os.mkdir(stage, 0o700)
        env = child_env(home)
        # HOME and TMPDIR open like a home and /tmp are: code the child runs as yet another
        # uid (the rlimits sandbox as root) must reach its temporary directory in TMPDIR.
        modes = {home: 0o755, env["TMPDIR"]: 0o1777}
        modes.update({v: 0o700 for k, v in env.items() if k.startswith("XDG_")})
        for directory, mode in modes.items():
            os.makedirs(directory, exist_ok=True)
            os.chown(directory, uid, gid)
            os.chmod(directory, mode)
        pytest = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
        pytest += [f"--basetemp={home}/pytest", *args]
        argv = readable_world_command(
            pytest, uid=uid, gid=gid, needed=needed_paths(project), stage=stage
        )
        with subprocess.Popen(
            argv,
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        ) as child:
            try:
                output, _ = child.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                output, _ = child.communicate()
                output += f"\n[as_user] killed after {timeout:.0f} s\n"
            return subprocess.CompletedProcess(argv, child.returncode, output, None)
    finally:
        shutil.rmtree(work, ignore_errors=True)
