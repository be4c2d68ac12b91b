"""A stand-in for WolframAlpha's LLM API on 127.0.0.1, for the wolfram service's tests.

:class:`WolframServer` answers ``GET /api/v1/llm-api`` as the real API does: 403 with
``Error 2: Appid missing`` or ``Error 1: Invalid appid`` unless the app id arrives (as a
bearer token or an ``appid`` parameter), 400 without ``input``, then the next queued
:class:`Reply` if any, else a canned plain-text answer in the API's layout for a few known
inputs and a 501 with suggestions for any other. It records every request (path, query
parameters, headers) for assertions.

Deliberately left out: the API's other parameters (units, location), TLS, keep-alive (every
response closes its connection) and any binding other than loopback. It logs nothing.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

__all__ = ["ANSWERS", "PATH", "Reply", "Request", "WolframServer", "canned"]

PATH = "/api/v1/llm-api"

ANSWERS = {
    "2+2": ("2 + 2", "4"),
    "solve 3p+4q=8, 4p+3q=13": (
        "solve 3 p + 4 q = 8 and 4 p + 3 q = 13",
        "p = 4 and q = -1",
    ),
}
"""Inputs the default responder answers: input → (its interpretation, its result)."""


@dataclass(frozen=True)
class Reply:
    """One scripted response: ``body`` (text is sent as UTF-8) after ``delay_s`` seconds.
    Without ``content_length`` the body's end is the connection's (no Content-Length). With
    ``trickle_s`` the body goes out one byte at a time, that long apart."""

    status: int = 200
    body: str | bytes = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    content_type: str = "text/plain;charset=utf-8"
    content_length: bool = True
    trickle_s: float = 0.0


@dataclass(frozen=True)
class Request:
    """What the server received: the path, the query parameters (first value of each) and
    the headers (names lower-cased)."""

    path: str
    params: dict[str, str]
    headers: dict[str, str]
    raw_query: str


def canned(query: str) -> Reply:
    """The default answer to ``query``: the API's layout for a known input, else a 501."""
    known = ANSWERS.get(query)
    if known is None:
        body = (
            "Wolfram|Alpha could not understand: " + query + ".\n"
            "Things to try instead:\nsolve 3p+4q=8, 4p+3q=13\n2+2\n"
        )
        return Reply(status=501, body=body)
    interpretation, result = known
    link = "https://www.wolframalpha.com/input?i=" + quote_plus(query)
    body = (
        f'Query:\n"{query}"\n\nInput:\n{interpretation}\n\nResult:\n{result}\n\n'
        f'Wolfram|Alpha website result for "{query}":\n{link}\n'
    )
    return Reply(body=body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, owner: WolframServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: a client that hung up (a timeout test) is not an error worth printing."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""

    def do_GET(self) -> None:
        owner = self.server.owner
        parts = urlsplit(self.path)
        params = {name: values[0] for name, values in parse_qs(parts.query).items()}
        headers = {name.lower(): value for name, value in self.headers.items()}
        owner._record(Request(parts.path, params, headers, parts.query))
        if parts.path != PATH:
            self._send(Reply(status=404, body="Not Found"))
            return
        bearer = headers.get("authorization", "")
        sent = bearer[len("Bearer ") :] if bearer.startswith("Bearer ") else params.get("appid")
        if not sent:
            self._send(Reply(status=403, body="Error 2: Appid missing"))
        elif sent != owner.app_id:
            self._send(Reply(status=403, body="Error 1: Invalid appid"))
        elif not params.get("input", "").strip():
            self._send(Reply(status=400, body="Error: the input parameter was not specified"))
        else:
            self._send(owner._next(params["input"]))

    def _send(self, reply: Reply) -> None:
        self.server.owner._sleep(self.server.owner.delay_s + reply.delay_s)
        payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            if reply.content_length:
                self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if reply.trickle_s <= 0:
                self.wfile.write(payload)
            for index in range(len(payload) if reply.trickle_s > 0 else 0):
                self.wfile.write(payload[index : index + 1])
                self.wfile.flush()
                if self.server.owner._sleep(reply.trickle_s):
                    break
        except OSError:  # the client hung up first (it timed out or stopped reading)
            pass
        self.close_connection = True


class WolframServer:
    """The LLM API stand-in on ``127.0.0.1`` (a free port), in a daemon thread; a context
    manager. ``app_id`` is the key it accepts; ``delay_s`` is waited before every response;
    :attr:`url` is the base URL to give a client."""

    def __init__(self, *, app_id: str = "TEST-APPID-0000", delay_s: float = 0.0) -> None:
        self.app_id = app_id
        self.delay_s = delay_s
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._requests: list[Request] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    def __enter__(self) -> WolframServer:
        self._server = _Server(self)
        self._port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="wolfram-loopback",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # wakes replies still waiting out their delay
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server was never started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def queue(self, *replies: Reply) -> None:
        """Answer the next authorised queries with ``replies``, in order."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def requests(self) -> list[Request]:
        """Every request received so far, refused ones included (a copy)."""
        with self._lock:
            return list(self._requests)

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def _next(self, query: str) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return canned(query)

    def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; True if the server is closing meanwhile."""
        return self._stopping.wait(seconds) if seconds > 0 else self._stopping.is_set()
