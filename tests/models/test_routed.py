"""The stage router: Creation to the tool maker, every other stage to the tool user, and what
the rest of the package asks of a model as a whole (probe, adaptations, replay, endpoints)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from creator import ReferenceModel, ScriptedModel
from creator.errors import ConfigError, ModelAuthError, ModelContextError
from creator.methods import METHODS
from creator.models import preflight
from creator.models.base import CallContext, Completion, GenerationSettings, Message
from creator.models.routed import StageRouter
from creator.problem import Problem
from creator.sandbox.base import Sandbox
from creator.stages.common import StageOptions

TOOL = "```python\ndef add(a: float, b: float) -> float:\n    return a + b\n```"
BROKEN = "```python\nprint('Final Answer:', add(2, three))\n```"
FIXED = "```python\nprint('Final Answer:', add(2, 3))\n```"
SETTINGS = GenerationSettings()
PROBLEM = Problem(question="What is 2 plus 3?", answer="5")


def context(stage: str) -> CallContext:
    return CallContext(stage=stage, problem=PROBLEM)


def ask(model: StageRouter, stage: str | None) -> Completion:
    where = context(stage) if stage is not None else None
    hello = [Message(role="user", content="hello")]
    return asyncio.run(model.generate(hello, settings=SETTINGS, context=where))


def test_each_stage_goes_to_its_model_and_a_call_without_context_to_the_default() -> None:
    user = ScriptedModel(responder=lambda m, s, c: "from the user", name="cheap")
    maker = ScriptedModel(responder=lambda m, s, c: "from the maker", name="strong")
    router = StageRouter(user, {"creation": maker})
    assert router.name == "cheap" and router.routes == (user, maker)
    assert ask(router, "creation").text == "from the maker"
    for stage in ("decision", "rectification", "execution", None):
        assert ask(router, stage).text == "from the user"
    assert len(maker.calls) == 1 and len(user.calls) == 4


def test_the_creator_method_sends_creation_to_the_maker_and_the_rest_to_the_user(
    sandbox: Sandbox,
) -> None:
    maker = ScriptedModel([TOOL], name="strong")
    user = ScriptedModel([BROKEN, FIXED], name="cheap")
    router = StageRouter(user, {"creation": maker})
    options = StageOptions(settings=SETTINGS)
    result = asyncio.run(
        METHODS["creator"](PROBLEM, model=router, sandbox=sandbox, options=options)
    )
    assert result.answer is not None and result.answer.strip() == "5"
    assert result.model == "cheap" and result.rectifications == 1
    assert [c.context.stage for c in maker.calls if c.context] == ["creation"]
    assert [c.context.stage for c in user.calls if c.context] == ["decision", "rectification"]
    replied = {s.stage: s.call.completion.model for s in result.trace if s.call is not None}
    assert replied == {"creation": "strong", "decision": "cheap", "rectification": "cheap"}


def test_an_unknown_stage_is_refused() -> None:
    with pytest.raises(ConfigError, match="no such stage to route: design"):
        StageRouter(ScriptedModel(), {"design": ScriptedModel()})  # type: ignore[dict-item]


def test_the_makers_errors_name_it_and_keep_their_type_and_counts() -> None:
    refused = ModelContextError("prompt too long", needed=9000, available=8192)
    maker = ScriptedModel([refused], name="strong")
    router = StageRouter(
        ScriptedModel([ModelAuthError("bad key")], name="cheap"), {"creation": maker}
    )
    with pytest.raises(ModelContextError) as caught:
        ask(router, "creation")
    assert str(caught.value) == "creation model strong: prompt too long"
    assert (caught.value.needed, caught.value.available) == (9000, 8192)
    with pytest.raises(ModelAuthError, match=r"^bad key$"):  # the default model's: as it is
        ask(router, "decision")


class Endpoint(ScriptedModel):
    """A scripted model with a probe and adaptations, as an OpenAIModel has."""

    def __init__(self, name: str, *, fails: Exception | None = None, **adapted: str) -> None:
        super().__init__(name=name)
        self.fails = fails
        self.adaptations = dict(adapted)
        self.probed = 0

    async def probe(self, settings: GenerationSettings) -> str:
        self.probed += 1
        if self.fails is not None:
            raise self.fails
        return f"{self.name} answers"


def test_the_probe_checks_both_models_and_names_the_maker() -> None:
    user, maker = Endpoint("cheap"), Endpoint("strong")
    router = StageRouter(user, {"creation": maker})
    line = asyncio.run(preflight.probe(router, SETTINGS))
    assert line == "cheap answers; creation model strong: strong answers"
    assert user.probed == maker.probed == 1


def test_a_rejected_creation_key_fails_the_probe_naming_the_creation_model() -> None:
    maker = Endpoint("strong", fails=ModelAuthError("http://h/v1 rejected the API key (401)"))
    router = StageRouter(Endpoint("cheap"), {"creation": maker})
    with pytest.raises(ModelAuthError, match=r"^creation model strong: http://h/v1 rejected"):
        asyncio.run(preflight.probe(router, SETTINGS))


def test_models_without_an_endpoint_have_no_probe_line() -> None:
    router = StageRouter(ScriptedModel(), {"creation": ScriptedModel(name="other")})
    assert asyncio.run(preflight.probe(router, SETTINGS)) is None


def test_adaptations_of_both_the_makers_named_where_they_differ() -> None:
    user = Endpoint("cheap", temperature="not sent")
    maker = Endpoint("strong", temperature="not sent", max_tokens="sent as max_completion_tokens")
    router = StageRouter(user, {"creation": maker})
    assert preflight.adaptations(router) == {
        "temperature": "not sent",
        "max_tokens (creation model strong)": "sent as max_completion_tokens",
    }


def test_replay_when_any_stage_is_replayed() -> None:
    assert not StageRouter(ScriptedModel(), {"creation": ScriptedModel()}).replay
    assert StageRouter(ScriptedModel(), {"creation": ReferenceModel()}).replay


def test_endpoint_models_and_stats_follow_both_routes(tmp_path: Path) -> None:
    from creator.models.cache import CachedModel
    from creator.models.openai import OpenAIModel
    from creator.models.replicas import ReplicaModel, endpoint_stats

    urls = ["http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1"]
    fleet = ReplicaModel([OpenAIModel("cheap", base_url=u, api_key="k") for u in urls])
    single = OpenAIModel("strong", base_url=urls[0], api_key="k")
    router = StageRouter(fleet, {"creation": single})
    assert preflight.endpoint_models(router) == (fleet, single)
    assert endpoint_stats(router) == {u: {"requests": 0, "failed": 0, "rested": 0} for u in urls}
    shared = StageRouter(CachedModel(fleet, path=tmp_path / "cache.sqlite"), {})
    assert preflight.endpoint_models(shared) == (fleet,)
    asyncio.run(router.aclose())


def test_aclose_closes_each_model_once() -> None:
    closed: list[str] = []

    class Closing(ScriptedModel):
        async def aclose(self) -> None:
            closed.append(self.name)

    user, maker = Closing(name="cheap"), Closing(name="strong")
    router = StageRouter(user, {"creation": maker, "rectification": maker})
    asyncio.run(router.aclose())
    assert sorted(closed) == ["cheap", "strong"]
