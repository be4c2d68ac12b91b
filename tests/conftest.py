"""Shared fixtures. Tests never reach anything but loopback: OPENAI_* variables are cleared."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from creator.sandbox.base import Sandbox


@pytest.fixture(autouse=True)
def _no_ambient_endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CREATOR_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CREATOR_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("CREATOR_DATA_DIR", str(tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """One real sandbox (the best isolation available) shared by the pipeline tests."""
    from creator.sandbox import make_sandbox

    box = make_sandbox("auto", workers=2)
    yield box
    box.close()
