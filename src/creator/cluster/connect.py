"""Reaching a Ray cluster: importing Ray (the optional ``ray`` extra), connecting the driver to
the cluster an ``--ray ADDRESS`` names, and leaving it.

Addresses: ``local`` starts a Ray of this machine's cores for the run and stops it after;
``auto`` joins the cluster this machine belongs to (``ray start`` was run here, or
``$RAY_ADDRESS``); ``ray://HOST:PORT`` goes through a head's Ray Client server; ``HOST:PORT``
is a head's GCS address. An address that does not answer is one line in seconds (Ray's own
attempts take 30 s and more, with its logs on stderr).

While connected (unless Ray was already initialised in this process, which is then left as
it is), the driver stays a command-line program:

- Ray's driver prints its cluster's error reports (a worker killed, a raylet gone: many lines
  each, in colours, up to a raylet's last log lines) on *stdout*, which would break
  ``--json-progress``; they go to the ``creator.cluster.ray`` logger instead, at DEBUG (the
  run's own note says what the run does about a lost actor, in one line);
- SIGTERM ends the command as an exception from the main thread, so that the run writes its
  summary and leaves the cluster (stopping a ``local`` one), with exit status 143 and nothing
  on stderr (Ray's handler exits 15 after a C stack dump); the handler before is put back on
  leaving;
- ``local`` starts Ray without the secrets of this environment (``$OPENAI_API_KEY``,
  ``$WOLFRAM_APP_ID``, ``$CREATOR_CREATION_API_KEY``): every process of that Ray (the actors
  among them) would inherit them, and the actors get the key from the driver's memory anyway.

Deliberately left out: starting clusters on other machines (``ray start`` or a cluster
launcher does that), runtime environments (every node must have this package installed in the
environment Ray runs from: the actors import it), and authentication (Ray's token
authentication is configured as Ray documents it; keep its ports inside a private network).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from creator.errors import ClusterError, ConfigError

__all__ = ["Connection", "connect", "import_ray"]

INSTALL_HINT = "pip install 'creator[ray]' (in a checkout: uv sync --extra ray)"

SECRETS = ("OPENAI_API_KEY", "WOLFRAM_APP_ID", "CREATOR_CREATION_API_KEY")
"""Variables a ``local`` Ray is started without (see the module docstring)."""

TERMINATED_STATUS = 128 + signal.SIGTERM
_log = logging.getLogger("creator.cluster.ray")


def import_ray() -> ModuleType:
    """The ``ray`` module; a one-line ConfigError naming the extra when it is not installed."""
    # Under `uv run`, Ray would otherwise re-create the driver's environment for each worker
    # with `uv run` and upload the working directory: the workers must use this interpreter.
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


@dataclass(frozen=True)
class Connection:
    """The driver's connection: ``started`` when this process started the Ray it talks to
    (``local``), which :meth:`close` then stops; ``shared`` when Ray was already initialised
    in this process (an embedding program, the tests), which is left as it was."""

    address: str
    started: bool = False
    shared: bool = False
    restore: Callable[[], None] = field(default=lambda: None, compare=False, repr=False)
    """Puts back what connecting changed in this process (see the module docstring)."""

    def close(self) -> None:
        if self.shared:
            return
        try:
            import_ray().shutdown()
        finally:
            self.restore()


def connect(address: str) -> Connection:
    """Connect the driver to the cluster ``address`` names (see the module docstring)."""
    address = address.strip()
    if not address:
        raise ConfigError("--ray needs an address: local, auto, ray://HOST:PORT or HOST:PORT")
    ray = import_ray()
    if ray.is_initialized():
        return Connection(address=address, shared=True)
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False}
    if address == "local":
        before = _sigterm_handler()
        with _without(SECRETS):
            ray.init(
                address="local", num_cpus=os.cpu_count() or 1, include_dashboard=False, **quiet
            )
        return Connection(address=address, started=True, restore=_settle(before))
    if address == "auto":
        found = _resolved(address)
        why = "$RAY_ADDRESS" if os.environ.get("RAY_ADDRESS") else "the cluster last run here"
        _check_reachable(found, shown=f"{found} (what --ray auto found: {why})")
    else:
        _check_reachable(address)
    before = _sigterm_handler()
    try:
        ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        if before is not None:  # Ray set its own before it failed
            signal.signal(signal.SIGTERM, before)
        reason = " ".join(str(exc).split())[:200]
        raise ClusterError(
            f"cannot join the Ray cluster at {address}: {reason} (is it running? a cluster with "
            "Ray's token authentication needs RAY_AUTH_MODE=token and its token in "
            "~/.ray/auth_token here; or run on this machine alone with --ray local)"
        ) from None
    return Connection(address=address, restore=_settle(before))


@contextlib.contextmanager
def _without(names: tuple[str, ...]) -> Iterator[None]:
    """This process's environment without ``names`` for the time of the block."""
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _sigterm_handler() -> Any:
    """SIGTERM's handler now (None outside the main thread: it cannot be changed there)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.getsignal(signal.SIGTERM)


def _terminated(signum: int, frame: Any) -> None:
    raise SystemExit(TERMINATED_STATUS)


def _settle(before: Any) -> Callable[[], None]:
    """After ``ray.init``: SIGTERM ends the command cleanly, Ray's reports stay off stdout
    (see the module docstring); returns what puts both back."""
    if before is not None:
        signal.signal(signal.SIGTERM, _terminated)
    unpatch = _reports_to_log()

    def restore() -> None:
        unpatch()
        if before is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, before)

    return restore


def _reports_to_log() -> Callable[[], None]:
    """Send what Ray's driver would print of its cluster's error reports to the log; returns
    what undoes it (nothing to undo on a Ray without that hook)."""
    try:
        from ray._private import worker
    except ImportError:  # pragma: no cover - another Ray layout: left as it is
        return lambda: None
    original = getattr(worker, "print_to_stdstream", None)
    if original is None:  # pragma: no cover
        return lambda: None

    def logged(data: dict[str, Any], ignore_prefix: bool = False) -> None:
        for line in data.get("lines") or ():
            _log.debug("%s: %s", data.get("pid", "ray"), line)

    worker.print_to_stdstream = logged

    def undo() -> None:
        if worker.print_to_stdstream is logged:
            worker.print_to_stdstream = original

    return undo


def _resolved(auto: str) -> str:
    """The address ``auto`` stands for, as Ray finds it (``$RAY_ADDRESS``, else the cluster
    last started on this machine, else any running here): a dead one (a stale variable or
    record) made ``ray.init`` wait for minutes, its C++ warnings on stderr. Ray's own
    look-up, which may change: when it cannot be used, Ray is left to find it."""
    try:
        from ray._private.services import get_ray_address_from_environment

        found = get_ray_address_from_environment(auto, None)
    except ConnectionError:  # nothing found: Ray says so itself, in seconds
        return auto
    except Exception:  # pragma: no cover - another Ray's internals
        return auto
    return str(found) if found and found != "local" else auto


def _check_reachable(address: str, *, shown: str | None = None, timeout_s: float = 5.0) -> None:
    """Fail in seconds, in one line, when nothing listens at ``address``'s host and port
    (``auto`` when Ray is left to find it: not checked)."""
    if address == "auto":
        return
    rest = address.removeprefix("ray://")
    host, colon, port = rest.rpartition(":")
    if not colon or not port.isdigit() or not host or not 0 < int(port) < 65536:
        raise ConfigError(
            f"--ray {shown or repr(address)} is not an address: give local, auto, "
            "ray://HOST:PORT or HOST:PORT"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ClusterError(
            f"no Ray cluster answers at {shown or address}: {reason} (is `ray start --head` "
            "running there, and is the port open to this machine?)"
        ) from None
