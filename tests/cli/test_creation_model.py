"""``--creation-model``, ``--creation-base-url`` and ``--creation-api-key`` through
``creator.cli.main.main``, against two loopback servers (a tool maker's and a tool user's):
who gets which request, the check of both endpoints before a run, what is recorded (never a
key), the library's makers, the refusals, and the options the Ray actors build from."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from creator.cli.main import build_parser, main
from creator.eval import ResultsFile
from creator.models.loopback import LoopbackServer, ServerReply
from creator.models.routed import StageRouter
from tests.cli.test_eval_failures import IDS, error_line

TOOL = "```python\ndef add(a: float, b: float) -> float:\n    return a + b\n```"
DECISION = "```python\nprint('Final Answer:', add(2, 3))\n```"
MAKER_KEY, USER_KEY = "sk-maker-secret-123", "sk-user-secret-456"
PROBE = "Reply with the single word OK."


def prompt(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


def servers() -> tuple[LoopbackServer, LoopbackServer]:
    maker = LoopbackServer(lambda body: ServerReply(TOOL), models=["strong"], api_key=MAKER_KEY)
    user = LoopbackServer(lambda body: ServerReply(DECISION), models=["cheap"], api_key=USER_KEY)
    return maker, user


def two_models(maker: LoopbackServer, user: LoopbackServer, *, maker_key: str) -> list[str]:
    return [
        "--model", "cheap", "--base-url", user.url, "--api-key", USER_KEY,
        "--creation-model", "strong", "--creation-api-key", maker_key,
        "--creation-base-url", maker.url,
        "--no-cache", "--sandbox", "none", "--max-retries", "0",
    ]  # fmt: skip


def evaluate(out: Path, *options: str) -> int:
    argv = ["eval", "--dataset", "tabmwp", "--ids", ",".join(IDS[:3]), "--out", str(out)]
    return main([*argv, "--concurrency", "1", *options])


def test_a_creation_key_the_server_rejects_stops_eval_at_once_with_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    maker, user = servers()
    with maker, user:
        began = time.monotonic()
        assert evaluate(out, *two_models(maker, user, maker_key="sk-wrong-789")) == 2
        assert time.monotonic() - began < 10
        assert maker.request_count == 1  # the check, and nothing after it
        assert [prompt(b) for b in user.requests] == [PROBE]
    line = error_line(capsys)
    assert "creation model strong" in line and "401" in line and "rejected the API key" in line
    assert "sk-wrong-789" not in line
    assert not out.exists()


def test_creation_goes_to_the_maker_the_rest_to_the_user_and_the_run_records_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    maker, user = servers()
    with maker, user:
        assert evaluate(out, *two_models(maker, user, maker_key=MAKER_KEY)) == 0
        made, used = maker.requests, user.requests
    assert [prompt(b) for b in made[:1]] == [PROBE] and [prompt(b) for b in used[:1]] == [PROBE]
    assert len(made) == len(used) == 4  # the check, then one request per problem each
    made_tool = "def add(a: float, b: float)"  # the decision prompt shows the tool made
    assert all(b["model"] == "strong" and made_tool not in prompt(b) for b in made[1:])
    assert all(b["model"] == "cheap" and made_tool in prompt(b) for b in used[1:])
    printed = capsys.readouterr().out
    assert "tool maker: strong" in printed and "tool user: cheap" in printed
    config = json.loads((out / "config.json").read_text())
    assert config["creation_model"] == "strong"
    assert config["creation_base_url"] == maker.url
    summary = json.loads((out / "summary.json").read_text())
    assert summary["models"]["creation_model"] == "strong"
    assert summary["models"]["tokens"]["strong"]["total"] == 3 * 15  # the server's 10 + 5
    for name in ("config.json", "summary.json", "results.jsonl"):
        text = (out / name).read_text()
        assert MAKER_KEY not in text and USER_KEY not in text
    records = ResultsFile(out / "results.jsonl").load().values()
    assert {r.creation_model for r in records} == {"strong"}


def test_solve_shows_the_creation_model_and_the_library_records_it_as_maker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    library = tmp_path / "tools.sqlite"
    maker, user = servers()
    with maker, user:
        options = two_models(maker, user, maker_key=MAKER_KEY)
        saving = ["--save-tools", "--library", str(library)]
        assert main(["solve", "What is 2 plus 3?", *options, *saving]) == 0
        assert maker.request_count == user.request_count == 1  # solve sends no check
    assert "creation model: strong" in capsys.readouterr().out
    assert main(["tools", "list", "--library", str(library)]) == 0
    listed = capsys.readouterr().out
    assert "maker" in listed and "strong" in listed
    assert main(["tools", "show", "add", "--library", str(library)]) == 0
    assert "strong" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--model", "reference", "--creation-model", "strong"], "reference replay cannot"),
        (["--model", "cheap", "--creation-model", "reference"], "reference replay cannot"),
        (["--model", "cheap", "--creation-model", "s", "--method", "pot"], "pot creates none"),
        (
            ["--model", "cheap", "--creation-model", "s", "--method", "toolcreate-whole"],
            "toolcreate-whole writes the tool and its use in one reply",
        ),
        (["--model", "cheap", "--creation-base-url", "http://h/v1"], "only apply with"),
        (["--model", "cheap", "--creation-api-key", "k"], "only apply with"),
        (["--model", "cheap", "--creation-model", " "], "needs a model name"),
        (["--model", "cheap", "--creation-model", "s", "--creation-base-url", ""], "is empty"),
        (
            ["--model", "cheap", "--creation-model", "s", "--creation-api-key", ""],
            "--creation-api-key is empty: give the creation model's key",
        ),
        (
            [
                "--model",
                "cheap",
                "--creation-model",
                "s",
                "--api-key",
                "k",
                "--creation-base-url",
                "http://a:pw@[::1/v",
            ],
            "not a valid URL",
        ),
    ],
)
@pytest.mark.parametrize("command", ["eval", "solve"])
def test_options_that_cannot_go_together_are_one_line_errors(
    command: str,
    options: list[str],
    says: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "run"
    if command == "eval":
        argv = ["eval", "--dataset", "creation", "--limit", "1", "--out", str(out)]
    else:
        argv = ["solve", "What is 2 plus 3?"]
    assert main([*argv, *options, "--sandbox", "none", "--no-cache"]) == 2
    line = error_line(capsys)
    assert says in line and "pw" not in line
    assert not out.exists()


def test_the_ray_actors_build_both_models_from_the_drivers_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from creator.cli.common import build_model
    from creator.cli.ray_args import _for_actors
    from creator.models.openai import OpenAIModel

    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-driver")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    argv = ["eval", "--dataset", "creation", "--out", "x", "--model", "cheap", "--no-cache"]
    args = build_parser().parse_args([*argv, "--creation-model", "strong", "--ray", "local"])
    resolved = _for_actors(args)  # on the driver
    model = build_model(resolved)
    assert isinstance(model, StageRouter)
    maker, user = model.model_for("creation"), model.model_for("decision")
    assert isinstance(maker, OpenAIModel) and isinstance(user, OpenAIModel)
    assert (maker.name, user.name) == ("strong", "cheap")
    assert maker.base_url == user.base_url == "http://127.0.0.1:9/v1"
    # on a node without the driver's environment: the key and URL resolved there still serve
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("OPENAI_BASE_URL")
    model = build_model(resolved)
    assert isinstance(model, StageRouter)
    for inner in model.routes:
        assert isinstance(inner, OpenAIModel)
        assert inner.base_url == "http://127.0.0.1:9/v1"
        assert inner._client.api_key == "sk-from-the-driver"
    # a creation key of its own, from the environment, travels resolved to the actors too
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-driver")
    monkeypatch.setenv("CREATOR_CREATION_API_KEY", "sk-maker-from-the-driver")
    resolved = _for_actors(args)
    monkeypatch.delenv("CREATOR_CREATION_API_KEY")
    monkeypatch.delenv("OPENAI_API_KEY")
    model = build_model(resolved)
    assert isinstance(model, StageRouter)
    maker, user = model.model_for("creation"), model.model_for("decision")
    assert isinstance(maker, OpenAIModel) and isinstance(user, OpenAIModel)
    assert maker._client.api_key == "sk-maker-from-the-driver"
    assert user._client.api_key == "sk-from-the-driver"


def test_an_empty_creation_key_in_the_environment_is_refused_not_replaced(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    maker, user = servers()
    with maker, user:
        monkeypatch.setenv("CREATOR_CREATION_API_KEY", "")
        options = two_models(maker, user, maker_key=MAKER_KEY)
        at = options.index("--creation-api-key")
        del options[at : at + 2]
        assert evaluate(tmp_path / "run", *options) == 2
        assert "$CREATOR_CREATION_API_KEY is empty" in error_line(capsys)
        assert maker.request_count == 0 and user.request_count == 0
        assert not (tmp_path / "run").exists()
