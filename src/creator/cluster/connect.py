"""Reaching a Ray cluster: importing Ray (the optional ``ray`` extra), connecting the driver to
the cluster an ``--ray ADDRESS`` names, and leaving it.

Addresses: ``local`` starts a Ray of this machine's cores for the run and stops it after;
``auto`` joins the cluster this machine belongs to (``ray start`` was run here, or
``$RAY_ADDRESS``); ``ray://HOST:PORT`` goes through a head's Ray Client server; ``HOST:PORT``
is a head's GCS address. An address that does not answer is one line in seconds (Ray's own
attempts take 30 s and more, with its logs on stderr).

Deliberately left out: starting clusters on other machines (``ray start`` or a cluster
launcher does that), runtime environments (every node must have this package installed in the
environment Ray runs from: the actors import it), and authentication (Ray has none of its own;
keep its ports inside a private network).
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from types import ModuleType

from creator.errors import ClusterError, ConfigError

__all__ = ["Connection", "connect", "import_ray"]

INSTALL_HINT = "pip install 'creator[ray]' (in a checkout: uv sync --extra ray)"


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

    def close(self) -> None:
        if self.shared:
            return
        import_ray().shutdown()


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
        ray.init(address="local", num_cpus=os.cpu_count() or 1, include_dashboard=False, **quiet)
        return Connection(address=address, started=True)
    if address != "auto":
        _check_reachable(address)
    try:
        ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise ClusterError(
            f"cannot join the Ray cluster at {address}: {reason} (start one with `ray start "
            "--head`, or run on this machine alone with --ray local)"
        ) from None
    return Connection(address=address)


def _check_reachable(address: str, *, timeout_s: float = 5.0) -> None:
    """Fail in seconds, in one line, when nothing listens at ``address``'s host and port."""
    rest = address.removeprefix("ray://")
    host, colon, port = rest.rpartition(":")
    if not colon or not port.isdigit() or not host:
        raise ConfigError(
            f"--ray {address!r} is not an address: give local, auto, ray://HOST:PORT or HOST:PORT"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ClusterError(
            f"no Ray cluster answers at {address}: {reason} (is `ray start --head` running "
            "there, and is the port open to this machine?)"
        ) from None
