"""The sandbox worker process's entry point: configuration, confinement, the host's messages.

The host starts the process with :data:`~.launch.BOOTSTRAP`, which runs :func:`main`. It reads
its configuration (and the job cgroup's descriptors) from the Unix socket on stdin, confines
itself (:mod:`confine`; re-executing itself where that requires it), builds the
:class:`~.worker.Worker`, hands over its first child, and then answers the host's messages:
``limits`` (a job's memory limit, for the watch), ``kill`` and ``reap`` (the job in flight),
``done`` (sweep, next child) and ``warm`` (one warm-up step, next child), until the host
closes the socket.

Deliberately left out: what each message does (:mod:`worker`). Standard library only: it runs
inside the sandbox.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

from . import confine, protocol
from .system import prctl
from .worker import Worker

__all__ = ["main"]

_PR_SET_PDEATHSIG = 1
_LINUX = sys.platform.startswith("linux")


def main() -> None:
    """Serve jobs over the socket on stdin until the host closes it."""
    if len(sys.argv) > 2:  # re-executed after confining ourselves: the config came along
        config = json.loads(sys.argv[2])
        confined, fds = config.pop("confined"), config.pop("cgroup_fd_list")
    else:
        with socket.socket(fileno=os.dup(0)) as first:
            received, fds = protocol.recv_fds(first)
        if received is None or len(fds) != int(received.get("cgroup_fds", 0)):
            return
        config = received
        confined = confine.confine(config["confine"]) if config.get("confine") else {}
        if confined.pop("reexec", False):  # see confine: own /proc files must be root's
            for fd in fds:
                os.set_inheritable(fd, True)
            carried = {**config, "confined": confined, "cgroup_fd_list": fds}
            os.execv(sys.executable, [*sys.orig_argv, json.dumps(carried)])
    if _LINUX and config.get("confine"):  # changing credentials cleared bwrap's death signal
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    channel = socket.socket(fileno=os.dup(0))  # the Unix socket to the host
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    # As PID 1 a signal without a handler cannot reach us from inside the namespace: give
    # up Python's SIGINT handler (the job children get it back).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    worker = Worker(config, cgroup_fds=fds)
    worker.hand_over(channel, {**worker.prepare(), **confined})
    while (message := worker.next_message(channel)) is not None:
        operation = message.get("op")
        if operation == "limits":
            if worker.watch is not None:
                worker.watch.set_limit(int(message["memory_mb"]))
        elif operation == "kill":
            protocol.send(channel.fileno(), worker.kill_and_reap())
        elif operation == "reap":
            protocol.send(channel.fileno(), worker.reap())
        elif operation == "done":
            if not worker.after_job():
                sys.exit(3)  # the host sees the worker gone and starts a fresh one
            worker.hand_over(channel, {})
        elif operation == "warm":
            if not worker.warm_more(message.get("need") or ()):
                sys.exit(3)
            worker.hand_over(channel, worker.warm_state())
        else:
            sys.exit(4)  # not our host
    worker.shutdown()
