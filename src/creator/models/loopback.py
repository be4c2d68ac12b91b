"""A scripted OpenAI-compatible chat server on 127.0.0.1, for tests and benchmarks.

:class:`LoopbackServer` speaks just enough of the OpenAI HTTP protocol for the official SDK:
``POST /v1/chat/completions`` (non-streaming) and ``GET /v1/models``. What it answers is
scripted: replies queued with :meth:`LoopbackServer.queue` are used first, in order, then the
``responder`` callable, then a plain ``"ok"``. It records every chat request body, the headers
that came with it and the highest number of chat requests it was answering at once, so tests can
check retries, concurrency limits and the key that was sent.

Deliberately left out: streaming, tools/function calling, embeddings, keep-alive (every response
closes its connection, which keeps shutdown clean), TLS, and any binding other than loopback.
It logs nothing. It must stay free of test-framework imports: benchmarks use it too.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["LoopbackServer", "Responder", "ServerReply"]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_error",
}


@dataclass(frozen=True)
class ServerReply:
    """One scripted answer to a chat-completions request.

    ``content=None`` sends a choice whose message content is null. For ``status >= 400`` the body
    is an OpenAI-style ``{"error": {...}}`` carrying ``error_message``. ``body``, when given, is
    sent verbatim as the JSON body instead (for malformed or unusual replies, e.g. no choices).
    ``raw`` is sent byte for byte with ``content_type`` instead (an HTML page from a proxy,
    broken JSON). ``reasoning`` fills the message's ``reasoning_content`` (a vLLM reasoning
    parser) and ``reasoning_tokens`` the usage's ``completion_tokens_details``.
    ``delay_s`` is waited before answering, on top of the server's own ``delay_s``.
    """

    content: str | None = "ok"
    status: int = 200
    finish_reason: str = "stop"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    prompt_tokens: int = 10
    completion_tokens: int = 5
    error_message: str | None = None
    body: Mapping[str, Any] | None = None
    raw: bytes | None = None
    content_type: str = "application/json"
    reasoning: str | None = None
    reasoning_tokens: int | None = None


Responder = Callable[[dict[str, Any]], ServerReply]
"""Computes the reply to a chat request (its JSON body) when nothing is queued."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024  # the default listen backlog (5) resets bursts of connections

    def __init__(self, owner: LoopbackServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", owner.requested_port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: a client that hung up (a timeout test) is not an error worth printing."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""

    def do_GET(self) -> None:
        owner = self.server.owner
        if self.path.rstrip("/") != "/v1/models":
            self._send_json(404, _error_body(f"no route GET {self.path}", 404))
            return
        if not self._authorized():
            return
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "loopback"}
            for name in owner.models
        ]
        self._send_json(200, {"object": "list", "data": data})

    def do_POST(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(404, _error_body(f"no route POST {self.path}", 404))
            return
        try:
            request = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send_json(400, _error_body("request body is not JSON", 400))
            return
        if not isinstance(request, dict):
            self._send_json(400, _error_body("request body is not a JSON object", 400))
            return
        owner._record(request, {k.lower(): v for k, v in self.headers.items()})
        if not self._authorized():
            return
        model = request.get("model")
        if owner.models and model not in owner.models:
            message = f"The model '{model}' does not exist or you do not have access to it."
            self._send_json(404, _error_body(message, 404, code="model_not_found"))
            return
        if request.get("stream"):
            self._send_json(400, _error_body("the loopback server does not stream", 400))
            return
        try:
            reply = owner._next_reply(request)
        except Exception as exc:  # a broken responder should fail loudly, not hang up
            message = f"loopback responder raised {type(exc).__name__}: {exc}"
            self._send_json(500, _error_body(message, 500))
            return
        if owner._slots is not None:
            owner._slots.acquire()
        owner._enter()
        try:
            owner._sleep(owner.delay_s + reply.delay_s)
        finally:
            owner._leave()
            if owner._slots is not None:
                owner._slots.release()
        if reply.raw is not None:
            self._send_raw(reply.status, reply.raw, reply.content_type, reply.headers)
            return
        if reply.body is not None:
            body: Mapping[str, Any] = reply.body
        elif reply.status >= 400:
            message = reply.error_message or f"scripted error {reply.status}"
            body = _error_body(message, reply.status)
        else:
            body = owner._completion_body(request, reply)
        self._send_json(reply.status, body, reply.headers)

    def _authorized(self) -> bool:
        expected = self.server.owner.api_key
        if expected is None or self.headers.get("Authorization") == f"Bearer {expected}":
            return True
        message = "Incorrect API key provided."
        self._send_json(401, _error_body(message, 401, code="invalid_api_key"))
        return False

    def _send_json(
        self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        self._send_raw(status, json.dumps(body).encode(), "application/json", headers)

    def _send_raw(
        self,
        status: int,
        payload: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            if not self.server.owner.keep_alive:
                self.send_header("Connection", "close")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client hung up first (it timed out); nothing to answer
            self.close_connection = True
            return
        self.close_connection = not self.server.owner.keep_alive


def _error_body(message: str, status: int, *, code: str | None = None) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class LoopbackServer:
    """A scripted chat-completions server on ``127.0.0.1`` (a free port), run in a daemon thread.

    Use it as a context manager (``with LoopbackServer() as server: ... server.url``) or call
    :meth:`start` and :meth:`close`. ``models`` lists the model names it knows (an unknown one in
    a request gets a 404, unless ``models`` is empty); ``api_key``, when set, is required as a
    bearer token (else 401); ``delay_s`` is added before every chat reply. ``slots``, when set,
    is how many chat requests it works on at once: the others wait in a queue, as at a
    llama.cpp server with one slot. Connections close
    after each reply (quick, clean shutdown) unless ``keep_alive``, as a real server would keep
    them for benchmarks. ``port`` 0 (the default) takes a free port; another number binds that
    one (to bring a server back where a closed one was: :attr:`port` of the closed server).
    """

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        models: Sequence[str] = ("test-model",),
        delay_s: float = 0.0,
        api_key: str | None = None,
        keep_alive: bool = False,
        slots: int | None = None,
        port: int = 0,
    ) -> None:
        self.responder = responder
        self.requested_port = port
        self._slots = threading.Semaphore(slots) if slots else None
        self.keep_alive = keep_alive
        self.models: tuple[str, ...] = tuple(models)
        self.delay_s = delay_s
        self.api_key = api_key
        self._lock = threading.Lock()
        self._queue: deque[ServerReply] = deque()
        self._requests: list[dict[str, Any]] = []
        self._headers: list[dict[str, str]] = []
        self._active = 0
        self._max_active = 0
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> LoopbackServer:
        """Bind the port (a free one unless one was asked for) and start serving; returns
        ``self``."""
        if self._server is None:
            self._stopping.clear()
            self._server = _Server(self)
            self._port = int(self._server.server_address[1])
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.01},
                name="creator-loopback",
                daemon=True,
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, wake any reply that is still waiting, and free the port."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # scripting and inspection ----------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port it serves (or served, once closed) on."""
        if self._port is None:
            raise RuntimeError("the loopback server was never started")
        return self._port

    @property
    def url(self) -> str:
        """The base URL to give a client, e.g. ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def queue(self, *replies: ServerReply) -> None:
        """Answer the next chat requests with ``replies``, in order."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat requests received so far (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def request_headers(self) -> list[dict[str, str]]:
        """The headers (names lower-cased) of each chat request, parallel to :attr:`requests`."""
        with self._lock:
            return [dict(h) for h in self._headers]

    @property
    def request_count(self) -> int:
        """How many chat requests were received (rejected ones included)."""
        with self._lock:
            return len(self._requests)

    @property
    def max_concurrency(self) -> int:
        """The most chat requests that were being answered at the same moment."""
        with self._lock:
            return self._max_active

    # used by the handler threads -------------------------------------------------------------

    def _record(self, request: dict[str, Any], headers: dict[str, str]) -> None:
        with self._lock:
            self._requests.append(request)
            self._headers.append(headers)

    def _next_reply(self, request: dict[str, Any]) -> ServerReply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            return self.responder(request)
        return ServerReply()

    def _enter(self) -> None:
        with self._lock:
            self._active += 1
            self._max_active = max(self._max_active, self._active)

    def _leave(self) -> None:
        with self._lock:
            self._active -= 1

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _completion_body(self, request: dict[str, Any], reply: ServerReply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.reasoning is not None:
            message["reasoning_content"] = reply.reasoning
        usage: dict[str, Any] = {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        }
        if reply.reasoning_tokens is not None:
            usage["completion_tokens_details"] = {"reasoning_tokens": reply.reasoning_tokens}
        return {
            "id": f"chatcmpl-loopback-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(request.get("model", "")),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": usage,
        }
