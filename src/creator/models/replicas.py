"""Several endpoints serving one model (replicas, e.g. a vLLM fleet), used as one model.

:class:`ReplicaModel` holds one :class:`~creator.models.openai.OpenAIModel` per base URL and
sends each request to the replica with the fewest requests in flight (ties: the one sent the
fewest requests, then the order given). The inner clients do not retry: this layer decides.
A try that fails in a way another try may cure (what a single ``OpenAIModel`` would retry) is
sent to another replica at once, within one budget of ``max_retries`` retries per call, each
told to the call context's ``on_retry``:

- connection refused, a timeout, a 5xx or an unusable reply: the replica is *rested* for
  ``rest_base_s`` doubling per failure in a row up to ``rest_max_s`` (or the server's
  ``Retry-After``, if longer); after its rest it gets one request on trial, and a reply
  clears the rest. Failures of requests sent before it was rested do not rest it again;
- but a timeout, a 5xx or an unusable reply is taken for the request's own (a prompt the
  server cannot handle), and rests nothing, when the call has already failed so at another
  replica, or when the replica answered another request within ``rest_base_s`` before this
  one was sent or while it was out (one such request used to rest every replica in turn
  and, winning their trials, keep the whole fleet resting, the rests doubling, for minutes);
- a call with no ready replica left that it has not tried waits up to ``rest_base_s`` (full
  jitter), doubling per such wait up to ``rest_max_s``, before its next try (and at least
  until a replica is ready), as one client backs off: a 429 storm or a request that fails
  everywhere would otherwise spend a call's retries in a second or two;
- 429: it rests only for the server's ``Retry-After`` (else ``rate_limit_rest_s``), without
  counting a failure in a row;
- what no other replica can fix (a rejected key, an unknown model, a request refused as
  invalid, a prompt longer than the context, a refusal) is raised at once, as by one client.

When every replica is resting, a call waits for the first to come back rather than fail. The
last failure, once the budget is spent, is raised as its own type (a dead fleet gives the
usual :class:`~creator.errors.ModelConnectionError`), saying how many endpoints were tried.

``base_url`` is the identity of the set for the response cache: the replicas' URLs without
credentials or query (:func:`~creator.models.openai_errors.display_url`), sorted and joined by
``", "``, so one set of replicas given in any order shares cache entries (and is another
model's entries than any one of its URLs alone: a single ``--base-url`` builds a plain
``OpenAIModel``, whose key is unchanged). :meth:`ReplicaModel.stats` counts requests per
endpoint; :func:`endpoint_stats` finds them under wrappers and :func:`merge_endpoint_stats`
adds two processes' counts.

Deliberately left out: weights per replica, health checks other than real requests (a rested
replica is tried again by the next request after its rest), replicas of different models, and
spreading one call's retries of a 429 over time beyond the server's ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from creator.errors import (
    ConfigError,
    CreatorError,
    ModelConnectionError,
    ModelError,
    ModelRateLimitError,
    ModelResponseError,
    ModelTimeoutError,
)
from creator.models.base import (
    CallContext,
    Completion,
    GenerationSettings,
    Message,
    Model,
    RetryNotice,
)
from creator.models.preflight import endpoint_models

if TYPE_CHECKING:  # ``openai`` is imported only when an OpenAIModel is used
    from creator.models.openai import OpenAIModel

__all__ = ["EndpointStats", "ReplicaModel", "endpoint_stats", "merge_endpoint_stats"]

EndpointStats = dict[str, dict[str, int]]
"""``{endpoint URL: {"requests": n, "failed": f, "rested": r}}``: plain, JSON-ready, summable."""

_PROBE_FAILOVER = (ModelConnectionError, ModelTimeoutError, ModelResponseError, ModelRateLimitError)
"""Probe failures that leave the other replicas to carry the run (the replica is rested)."""


@dataclass(eq=False)
class _Replica:
    model: OpenAIModel
    url: str
    """The base URL without credentials or query."""
    index: int
    in_flight: int = 0
    requests: int = 0
    failed: int = 0
    rested: int = 0
    strikes: int = 0
    """Failures in a row (429s aside): the length of the next rest."""
    resting_until: float = 0.0
    answered_at: float = float("-inf")
    """When it last answered a request (monotonic clock)."""

    def ready(self, now: float) -> bool:
        """Not resting, and not on trial with its trial request still in flight."""
        return self.resting_until <= now and (self.strikes == 0 or self.in_flight == 0)


class ReplicaModel:
    """One model served by several endpoints (``replicas``, one client each, same model name).

    ``max_retries`` is the number of tries after the first that one call may make, over all
    replicas. ``rest_base_s``, ``rest_max_s`` and ``rate_limit_rest_s`` set how long a failing
    replica is left alone (see the module). The replicas' clients are closed by :meth:`aclose`.
    """

    def __init__(
        self,
        replicas: Sequence[OpenAIModel],
        *,
        max_retries: int = 5,
        rest_base_s: float = 2.0,
        rest_max_s: float = 60.0,
        rate_limit_rest_s: float = 1.0,
    ) -> None:
        from creator.models.openai_errors import display_url

        if not replicas:
            raise ConfigError("no endpoint given for the model")
        names = sorted({replica.name for replica in replicas})
        if len(names) > 1:
            raise ConfigError(f"replicas must serve one model, got {', '.join(names)}")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, got {max_retries}")
        if min(rest_base_s, rest_max_s, rate_limit_rest_s) < 0:
            raise ConfigError("rest times must be >= 0")
        self._replicas: list[_Replica] = []
        for index, model in enumerate(replicas):
            url = display_url(model.base_url)
            if any(replica.url == url for replica in self._replicas):
                raise ConfigError(f"the endpoint {url} is given twice")
            self._replicas.append(_Replica(model=model, url=url, index=index))
        self._name = names[0]
        self._max_retries = max_retries
        self._rest_base_s = rest_base_s
        self._rest_max_s = rest_max_s
        self._rate_limit_rest_s = rate_limit_rest_s
        self._changed: asyncio.Event | None = None

    @property
    def name(self) -> str:
        """The model name, the same at every replica."""
        return self._name

    @property
    def base_url(self) -> str:
        """The set's identity: its URLs without credentials or query, sorted, joined by ", "."""
        return ", ".join(sorted(replica.url for replica in self._replicas))

    @property
    def urls(self) -> tuple[str, ...]:
        """The replicas' URLs without credentials or query, in the order given."""
        return tuple(replica.url for replica in self._replicas)

    @property
    def adaptations(self) -> dict[str, str]:
        """Request parameters some replica renames or leaves out, and how (the first one's
        word when two differ)."""
        merged: dict[str, str] = {}
        for replica in self._replicas:
            for parameter, how in replica.model.adaptations.items():
                merged.setdefault(parameter, how)
        return merged

    def __repr__(self) -> str:
        return f"ReplicaModel({self._name!r}, base_urls={list(self.urls)!r})"

    def stats(self) -> EndpointStats:
        """Per endpoint URL: chat requests sent by :meth:`generate` (``requests``), those that
        failed (``failed``) and how many times it was rested (``rested``, after a failed probe
        too)."""
        return {
            replica.url: {
                "requests": replica.requests,
                "failed": replica.failed,
                "rested": replica.rested,
            }
            for replica in self._replicas
        }

    async def generate(
        self,
        messages: Sequence[Message],
        *,
        settings: GenerationSettings,
        context: CallContext | None = None,
    ) -> Completion:
        """Send the request to the least busy replica that is not resting, and to another one
        after a failure that another try may cure; of ``context`` only ``on_retry`` is used."""
        from creator.models.openai_errors import Retryable

        on_retry = context.on_retry if context is not None else None
        tries = 0
        waits = 0
        tried: set[int] = set()
        own: set[int] = set()  # replicas where it failed in a way that may be its own
        last: _Replica | None = None
        while True:
            replica = await self._next(avoid=last)
            tries += 1
            tried.add(replica.index)
            suspect = bool(own - {replica.index})
            try:
                return await self._send(replica, messages, settings, tries, suspect=suspect)
            except Retryable as failure:
                if _may_be_own(failure.error):
                    own.add(replica.index)
                if tries > self._max_retries:
                    raise _final(failure.error, tries, len(tried)) from failure.__cause__
                backoff = 0.0
                now = time.monotonic()
                if not any(r.ready(now) and r.index not in tried for r in self._replicas):
                    ceiling = min(self._rest_base_s * 2.0**waits, self._rest_max_s)
                    backoff = random.uniform(0.0, ceiling)  # full jitter, as one client's
                    waits += 1
                if on_retry is not None:
                    delay_s = max(backoff, self._wait_s())
                    notice = RetryNotice(attempt=tries, error=str(failure.error), delay_s=delay_s)
                    on_retry(notice)
                if backoff > 0:
                    await asyncio.sleep(backoff)
                last = replica

    async def probe(self, settings: GenerationSettings) -> str:
        """Probe every replica at once (:meth:`OpenAIModel.probe`); one line on what answered.

        The work may start when one replica answers: those that could not be reached, timed
        out or failed are named in the line and rested. A replica that rejects the key, does
        not serve the model or refuses the request raises its error (every request sent there
        would fail the same way), whether others answer or not; when none answers otherwise,
        the first replica's error is raised.
        """
        outcomes = await asyncio.gather(
            *(replica.model.probe(settings) for replica in self._replicas),
            return_exceptions=True,
        )
        answered: list[tuple[_Replica, str]] = []
        failures: list[tuple[_Replica, CreatorError]] = []
        for replica, outcome in zip(self._replicas, outcomes, strict=True):
            if isinstance(outcome, CreatorError):
                failures.append((replica, outcome))
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                answered.append((replica, outcome))
        for _, error in failures:  # a configuration to fix first, answered or not
            if not isinstance(error, _PROBE_FAILOVER):
                raise error
        if not answered:
            raise failures[0][1]
        for replica, _ in failures:
            self._rest(replica, rate_limited=False, retry_after_s=None)
        for replica, _ in answered:  # an answer, as a request's (see the module)
            replica.answered_at = time.monotonic()
        first, line = answered[0]
        count = len(self._replicas)
        head = f"all {count}" if not failures else f"{len(answered)} of {count}"
        text = f"{head} endpoints answer; {first.url}: {line}"
        if failures:
            failed = "; ".join(str(error) for _, error in failures)
            text += f"; not answering (rested, tried again later): {failed}"
        return text

    async def aclose(self) -> None:
        """Close every replica's client (each one, even when another fails to close)."""
        outcomes = await asyncio.gather(
            *(replica.model.aclose() for replica in self._replicas), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    # choosing and resting --------------------------------------------------------------------

    async def _next(self, *, avoid: _Replica | None) -> _Replica:
        """The least busy ready replica (another than ``avoid`` when there is one), waiting
        for one when none is ready."""
        while True:
            now = time.monotonic()
            ready = [r for r in self._replicas if r.ready(now)]
            if ready:
                others = [r for r in ready if r is not avoid] or ready
                return min(others, key=lambda r: (r.in_flight, r.requests, r.index))
            # Resting replicas come back when their rest ends; one on trial when its request
            # ends (then a change is signalled).
            ends = [r.resting_until - now for r in self._replicas if r.resting_until > now]
            await self._changes(min(ends) if ends else None)

    def _wait_s(self) -> float:
        """How long until a replica is ready: 0 if one is, else until the first rest ends
        (0 too when only replicas on trial are busy: that ends when their request does)."""
        now = time.monotonic()
        if any(replica.ready(now) for replica in self._replicas):
            return 0.0
        ends = [r.resting_until - now for r in self._replicas if r.resting_until > now]
        return min(ends) if ends else 0.0

    async def _changes(self, timeout_s: float | None) -> None:
        """Wait until a request ends somewhere, or ``timeout_s`` (None: no limit)."""
        if self._changed is None:
            self._changed = asyncio.Event()
        changed = self._changed
        try:
            async with asyncio.timeout(timeout_s):
                await changed.wait()
        except TimeoutError:
            pass

    async def _send(
        self,
        replica: _Replica,
        messages: Sequence[Message],
        settings: GenerationSettings,
        tries: int,
        *,
        suspect: bool = False,
    ) -> Completion:
        """One try at ``replica``; ``suspect``: the call has failed elsewhere already in a way
        that may be its own (then such a failure here rests nothing: see the module)."""
        from creator.models.openai_errors import Retryable

        replica.in_flight += 1
        replica.requests += 1
        sent_at = time.monotonic()
        try:
            completion = await replica.model.send_once(messages, settings=settings, attempt=tries)
        except (Retryable, ModelError) as exc:
            replica.failed += 1
            if isinstance(exc, Retryable):
                answers = replica.answered_at >= sent_at - self._rest_base_s
                if not (_may_be_own(exc.error) and (suspect or answers)):  # see the module
                    rate_limited = isinstance(exc.error, ModelRateLimitError)
                    self._rest(replica, rate_limited=rate_limited, retry_after_s=exc.retry_after_s)
            raise
        finally:
            replica.in_flight -= 1
            if self._changed is not None:
                self._changed.set()
                self._changed = None
        replica.strikes = 0  # it answers: whatever rest it had is over
        replica.resting_until = 0.0
        replica.answered_at = time.monotonic()
        return completion

    def _rest(self, replica: _Replica, *, rate_limited: bool, retry_after_s: float | None) -> None:
        now = time.monotonic()
        if replica.resting_until > now:
            return  # a request sent before it was rested: it is resting already
        if rate_limited:
            rest = self._rate_limit_rest_s if retry_after_s is None else retry_after_s
        else:
            replica.strikes += 1
            rest = self._rest_base_s * 2.0 ** (replica.strikes - 1)
            rest = max(rest, retry_after_s or 0.0)
        rest = min(max(rest, 0.0), self._rest_max_s)
        if rest > 0:
            replica.resting_until = now + rest
            replica.rested += 1


def _may_be_own(error: ModelError) -> bool:
    """A failure that may be its request's own (a timeout, a 5xx, an unusable reply), not
    only the replica's (it cannot be reached, or it asks for less traffic: 429)."""
    return not isinstance(error, ModelConnectionError | ModelRateLimitError)


def _final(error: ModelError, tries: int, endpoints: int) -> ModelError:
    """The last failure of a call, saying how many endpoints it tried (same type)."""
    if endpoints < 2:
        return error
    try:
        return type(error)(f"{error} (the last of {tries} attempts over {endpoints} endpoints)")
    except TypeError:  # an error type that takes more than a message
        return error


def endpoint_stats(model: Model) -> EndpointStats | None:
    """The request counts per endpoint of the :class:`ReplicaModel` under ``model``'s wrappers
    (the response cache, the runner's watches; of each model a
    :class:`~creator.models.routed.StageRouter` sends to, added up by endpoint), or None for
    a single endpoint or none."""
    stats: EndpointStats | None = None
    for found in endpoint_models(model):
        if isinstance(found, ReplicaModel):
            stats = merge_endpoint_stats(stats, found.stats())
    return stats


def merge_endpoint_stats(
    a: Mapping[str, Mapping[str, int]] | None, b: Mapping[str, Mapping[str, int]] | None
) -> EndpointStats | None:
    """The counts of ``a`` and ``b`` added up, endpoint by endpoint and count by count (None
    when both are None)."""
    if a is None and b is None:
        return None
    merged: EndpointStats = {url: dict(counts) for url, counts in (a or {}).items()}
    for url, counts in (b or {}).items():
        into = merged.setdefault(url, {})
        for key, number in counts.items():
            into[key] = into.get(key, 0) + number
    return merged
