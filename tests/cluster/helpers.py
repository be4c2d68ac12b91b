"""What the cluster tests share: a scripted model behind a loopback server whose replies depend
only on the request (so that runs in any order, here or on Ray actors, get the same replies),
records made comparable across runs, and the backends."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from creator.cluster import RayBackend, SandboxSpec
from creator.models.loopback import ServerReply
from creator.models.openai import OpenAIModel

TOOL = (
    '```python\ndef scaled(x: float, k: float) -> float:\n    """x times k."""\n'
    "    return x * k\n```"
)


def respond(body: dict[str, Any], *, delay_s: float = 0.0) -> ServerReply:
    """The creator method's stages, scripted: a tool; decision code that fails for about a
    third of the problems (then a repair that works); answers that depend on the problem."""
    text = str(body["messages"][-1]["content"])
    problem = text.rsplit("## Your problem", 1)[-1]
    number = int(hashlib.sha256(problem.split("Tool:")[0].encode()).hexdigest(), 16)
    if text.startswith("# Stage 1"):
        content = TOOL
    elif text.startswith("# Stage 2"):
        wrong = "print(undefined_name)\n" if number % 3 == 0 else ""
        content = f"```python\n{wrong}print('Final Answer:', scaled({number % 50}, 2))\n```"
    else:
        content = f"```python\nprint('Final Answer:', scaled({number % 50}, 2))\n```"
    return ServerReply(content=content, delay_s=delay_s, prompt_tokens=100, completion_tokens=20)


def model_factory(url: str, *, key: str | None = None) -> functools.partial[OpenAIModel]:
    """A picklable recipe for the model each actor (or this process) builds."""
    return functools.partial(
        OpenAIModel, "test-model", base_url=url, api_key=key, max_retries=0, timeout_s=30
    )


def ray_backend(factory: Any, *, hide: tuple[str, ...] = (), **options: Any) -> RayBackend:
    return RayBackend(
        address="local", model_factory=factory, sandbox=SandboxSpec(hide=hide), **options
    )


_VOLATILE = {"duration_s", "latency_s", "queue_s", "cached"}


def comparable(value: Any) -> Any:
    """``value`` without what differs between two runs of the same work (timings)."""
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


def records(out: Path) -> dict[str, dict[str, Any]]:
    """The run's records by key; an AssertionError if any key is recorded twice."""
    found: dict[str, dict[str, Any]] = {}
    for line in (out / "results.jsonl").read_text().splitlines():
        record = json.loads(line)
        key = record["id"] + (f"@{record['arm']}" if record.get("arm") else "")
        assert key not in found, f"{key} recorded twice"
        found[key] = record
    return found
