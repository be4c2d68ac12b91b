"""One model made of several: each stage's requests go to the model chosen for that stage.

:class:`StageRouter` is how a run splits the work between a tool maker and a tool user (as in
LATM): ``StageRouter(user, {"creation": maker})`` sends every Creation request to ``maker``
and every other request (Decision, Rectification, ...) to ``user``. The stage is read from the
call's :class:`~creator.models.base.CallContext`, which every stage passes; a call without one
goes to the default model. Methods never know they talk to two models.

The router answers what the rest of the package asks of a model as a whole:

- ``name`` is the default model's (the one a result names; the others are recorded apart);
- :meth:`StageRouter.probe` probes every model at once (each through its own wrappers, see
  :func:`creator.models.preflight.probe`), so a rejected key of either stops a run in seconds;
- :attr:`StageRouter.adaptations` merges theirs, the other models' keyed with their names;
- ``replay`` is true when any of them is the offline replay (its results are not an LLM's);
- :attr:`StageRouter.routes` lists the distinct models, for
  :func:`creator.models.preflight.endpoint_models` (and so request counts per endpoint);
- an error of a model other than the default is raised as the same type, its message naming
  the model (``creation model gpt-4o: ... rejected the API key (401)``).

Deliberately left out: generation settings per stage (every stage's request carries the run's
settings), fallbacks from one model to another, and choosing a model per problem.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import get_args

from creator.errors import ConfigError, CreatorError
from creator.models import preflight
from creator.models.base import CallContext, Completion, GenerationSettings, Message, Model, Stage

__all__ = ["StageRouter"]


class StageRouter:
    """Sends each call to ``by_stage[context.stage]``, or to ``default`` for the other stages
    (and calls without a context). :meth:`aclose` closes every model once."""

    def __init__(self, default: Model, by_stage: Mapping[Stage, Model]) -> None:
        stages = get_args(Stage)
        unknown = sorted(str(stage) for stage in by_stage if stage not in stages)
        if unknown:
            raise ConfigError(f"no such stage to route: {', '.join(unknown)}")
        self._default = default
        self._by_stage: Mapping[Stage, Model] = MappingProxyType(dict(by_stage))

    @property
    def name(self) -> str:
        """The default model's name."""
        return self._default.name

    @property
    def default(self) -> Model:
        return self._default

    @property
    def by_stage(self) -> Mapping[Stage, Model]:
        """The stages sent elsewhere than to the default model, and their models."""
        return self._by_stage

    @property
    def routes(self) -> tuple[Model, ...]:
        """Every distinct model, the default first."""
        found: list[Model] = [self._default]
        for model in self._by_stage.values():
            if all(model is not seen for seen in found):
                found.append(model)
        return tuple(found)

    @property
    def replay(self) -> bool:
        """True when some stage is answered by the offline replay."""
        return any(bool(getattr(model, "replay", False)) for model in self.routes)

    @property
    def adaptations(self) -> dict[str, str]:
        """Request parameters each model's endpoint renames or leaves out: the default
        model's as they are, another model's named ``parameter (creation model NAME)`` where
        it differs."""
        merged = preflight.adaptations(self._default)
        for model in self.routes[1:]:
            for parameter, how in preflight.adaptations(model).items():
                if merged.get(parameter) != how:
                    merged[f"{parameter} ({self._label(model)})"] = how
        return merged

    def model_for(self, stage: Stage | None) -> Model:
        """The model that answers ``stage`` (None: a call without a context)."""
        if stage is None:
            return self._default
        return self._by_stage.get(stage, self._default)

    def __repr__(self) -> str:
        routes = ", ".join(f"{stage}={model!r}" for stage, model in self._by_stage.items())
        return f"StageRouter({self._default!r}, {routes})"

    async def generate(
        self,
        messages: Sequence[Message],
        *,
        settings: GenerationSettings,
        context: CallContext | None = None,
    ) -> Completion:
        model = self.model_for(context.stage if context is not None else None)
        if model is self._default:
            return await model.generate(messages, settings=settings, context=context)
        try:
            return await model.generate(messages, settings=settings, context=context)
        except CreatorError as exc:
            raise _labelled(exc, self._label(model)) from exc

    async def probe(self, settings: GenerationSettings) -> str | None:
        """Probe every model at once; one line saying what answered (None when no model has
        an endpoint to probe). The first failure, in the order of :attr:`routes`, is raised
        (another model's naming it)."""
        routes = self.routes
        outcomes = await asyncio.gather(
            *(preflight.probe(model, settings) for model in routes), return_exceptions=True
        )
        lines: list[str] = []
        for model, outcome in zip(routes, outcomes, strict=True):
            if isinstance(outcome, CreatorError) and model is not self._default:
                raise _labelled(outcome, self._label(model)) from outcome
            if isinstance(outcome, BaseException):
                raise outcome
            if outcome is not None:
                lines.append(
                    outcome if model is self._default else f"{self._label(model)}: {outcome}"
                )
        return "; ".join(lines) if lines else None

    async def aclose(self) -> None:
        """Close every model (each one, even when another fails to close)."""
        outcomes = await asyncio.gather(
            *(model.aclose() for model in self.routes), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    def _label(self, model: Model) -> str:
        """``creation model NAME``: the stages ``model`` answers, and its name."""
        stages = [stage for stage, routed in self._by_stage.items() if routed is model]
        return f"{' and '.join(stages) or 'default'} model {model.name}"


def _labelled(error: CreatorError, label: str) -> CreatorError:
    """``error`` as the same type, its message starting with ``label`` (its other attributes,
    such as a context error's token counts, kept)."""
    try:
        relabelled = type(error)(f"{label}: {error}")
    except TypeError:  # an error type that takes more than a message
        return error
    relabelled.__dict__.update(error.__dict__)
    return relabelled
