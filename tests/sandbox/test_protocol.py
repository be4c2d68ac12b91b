"""Frames between host and worker, including descriptors handed over with SCM_RIGHTS."""

from __future__ import annotations

import os
import socket
import time

import pytest

from creator.sandbox import protocol


def test_a_frame_carries_descriptors_that_work_on_the_other_side() -> None:
    ours, theirs = socket.socketpair()
    read_end, write_end = os.pipe()
    try:
        protocol.send_fds(theirs, {"spare": 7}, [write_end])
        os.close(write_end)
        message, fds = protocol.recv_fds(ours, deadline=time.monotonic() + 5)
        assert message == {"spare": 7}
        assert len(fds) == 1 and not os.get_inheritable(fds[0])
        os.write(fds[0], b"through")
        os.close(fds[0])
        assert os.read(read_end, 100) == b"through"
        protocol.send(theirs.fileno(), {"plain": True})  # frames without descriptors too
        assert protocol.recv_fds(ours) == ({"plain": True}, [])
    finally:
        os.close(read_end)
        ours.close()
        theirs.close()


def test_too_many_descriptors_are_refused_and_closed() -> None:
    ours, theirs = socket.socketpair()
    pipes = [os.pipe() for _ in range(protocol.MAX_FDS + 2)]
    try:
        protocol.send_fds(theirs, {"spare": 1}, [w for _, w in pipes])
        with pytest.raises(protocol.ProtocolError, match="too many"):
            protocol.recv_fds(ours)
    finally:
        for r, w in pipes:
            os.close(r)
            os.close(w)
        ours.close()
        theirs.close()


def test_end_of_stream_and_silence() -> None:
    ours, theirs = socket.socketpair()
    with pytest.raises(TimeoutError):
        protocol.recv_fds(ours, deadline=time.monotonic() + 0.05)
    theirs.close()
    assert protocol.recv_fds(ours) == (None, [])
    ours.close()


def test_a_second_frame_sent_before_the_first_is_read_is_refused() -> None:
    ours, theirs = socket.socketpair()
    try:
        protocol.send(theirs.fileno(), {"status": 0})
        protocol.send(theirs.fileno(), {"status": 1})  # not how the worker talks
        with pytest.raises(protocol.ProtocolError, match="more than one"):
            protocol.recv_fds(ours)
    finally:
        ours.close()
        theirs.close()
