"""A persistent response cache: a wrapper model that answers repeated requests from SQLite.

:class:`CachedModel` wraps any :class:`~creator.models.base.Model`. The key is the sha256 of the
canonical JSON (sorted keys, compact) of the model name, the inner model's ``base_url``, the
messages and every generation setting, ``sample_index`` included, so several samples of one
request are cached apart. The :class:`~creator.models.base.CallContext` is not part of the key:
the same prompt for two problems is the same request. A hit comes back with ``cached=True`` and
``latency_s=0``.

Choices made here: exceptions are never cached; a reply cut off by the token limit
(``finish_reason="length"``) *is* cached, because it is what the endpoint really answered and the
caller still sees the finish reason on a hit. The file uses WAL mode and a busy timeout, so
several processes may share it; the schema is versioned with numbered migrations.

Deliberately left out: expiry, size limits, de-duplicating identical requests that are in flight
at the same moment (both go to the model; the last reply stored wins), and storing the prompts
themselves (only their hash), which keeps the file small.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from creator.errors import ConfigError, OutputError
from creator.models.base import (
    CallContext,
    Completion,
    GenerationSettings,
    Message,
    Model,
    Usage,
)
from creator.models.reasoning import split_reasoning
from creator.paths import user_dir
from creator.sqlite import apply_migrations, enable_wal, write_failure

__all__ = ["MIGRATIONS", "CachedModel", "cache_key", "default_cache_path"]

BUSY_TIMEOUT_MS = 10_000

MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "create responses",
        """
        CREATE TABLE responses (
            key TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            text TEXT NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            finish_reason TEXT,
            response_model TEXT NOT NULL,
            created_at REAL NOT NULL
        )
        """,
    ),
    (
        "reasoning, reasoning tokens, cut-off reason",
        """
        ALTER TABLE responses ADD COLUMN reasoning TEXT;
        ALTER TABLE responses ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE responses ADD COLUMN cut_off TEXT
        """,
    ),
)
"""Numbered schema steps: entry ``i`` is version ``i + 1``. Only ever append."""

_VERSION_TABLE = "creator_schema_migrations"
_T = TypeVar("_T")


def default_cache_path() -> Path:
    """``$CREATOR_CACHE_DIR``, else ``$XDG_CACHE_HOME/creator``, else ``~/.cache/creator``.

    The file is ``responses.sqlite`` in that directory; nothing is created until it is opened.
    """
    return (
        user_dir(override="CREATOR_CACHE_DIR", xdg="XDG_CACHE_HOME", fallback=(".cache",))
        / "responses.sqlite"
    )


def cache_key(
    *,
    model: str,
    base_url: str | None,
    messages: Sequence[Message],
    settings: GenerationSettings,
) -> str:
    """The sha256 hex digest of the canonical JSON of one request."""
    request = {
        "model": model,
        "base_url": base_url,
        "messages": [m.model_dump(mode="json") for m in messages],
        "settings": settings.model_dump(mode="json"),
    }
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class CachedModel:
    """Wraps ``inner`` and remembers its replies in the SQLite file at ``path``.

    The file (and its directory) is created on first use. ``hits`` and ``misses`` count this
    instance's lookups. Concurrent :meth:`generate` calls are fine; so are several instances or
    processes on one file.
    """

    def __init__(self, inner: Model, *, path: Path) -> None:
        self._inner = inner
        self._path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def base_url(self) -> str | None:
        base_url: str | None = getattr(self._inner, "base_url", None)
        return base_url

    @property
    def inner(self) -> Model:
        """The wrapped model."""
        return self._inner

    @property
    def path(self) -> Path:
        return self._path

    def __repr__(self) -> str:
        return f"CachedModel({self._inner!r}, path={str(self._path)!r})"

    async def generate(
        self,
        messages: Sequence[Message],
        *,
        settings: GenerationSettings,
        context: CallContext | None = None,
    ) -> Completion:
        """A stored reply to this exact request, or the inner model's (then stored)."""
        key = cache_key(
            model=self.name, base_url=self.base_url, messages=messages, settings=settings
        )
        found = await asyncio.to_thread(self._get, key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        completion = await self._inner.generate(messages, settings=settings, context=context)
        await asyncio.to_thread(self._put, key, completion)
        return completion

    def count(self) -> int:
        """How many replies the file holds (opens it, so it also validates it)."""
        with self._lock:
            row = self._connection().execute("SELECT count(*) FROM responses").fetchone()
        return int(row[0])

    async def aclose(self) -> None:
        """Close the file, then the inner model."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        await self._inner.aclose()

    # storage ---------------------------------------------------------------------------------

    def _get(self, key: str) -> Completion | None:
        with self._lock:
            row = self._guard(
                lambda conn: conn.execute(
                    "SELECT text, prompt_tokens, completion_tokens, finish_reason, response_model,"
                    " reasoning, reasoning_tokens, cut_off FROM responses WHERE key = ?",
                    (key,),
                ).fetchone()
            )
        if row is None:
            return None
        text, prompt_tokens, completion_tokens, finish_reason, response_model = row[:5]
        reasoning, reasoning_tokens, cut_off = row[5:]
        if reasoning is None:  # stored before replies were split
            reasoning, text = split_reasoning(text)
        return Completion(
            text=text,
            usage=Usage(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                reasoning_tokens=reasoning_tokens,
            ),
            finish_reason=finish_reason,
            reasoning=reasoning,
            cut_off=cut_off if cut_off in ("max_tokens", "context") else None,
            model=response_model,
            latency_s=0.0,
            cached=True,
        )

    def _put(self, key: str, completion: Completion) -> None:
        values = (
            key,
            self.name,
            completion.text,
            completion.usage.prompt_tokens,
            completion.usage.completion_tokens,
            completion.finish_reason,
            completion.model,
            time.time(),
            completion.reasoning,
            completion.usage.reasoning_tokens,
            completion.cut_off,
        )
        with self._lock:
            self._guard(
                lambda conn: conn.execute(
                    "INSERT OR REPLACE INTO responses (key, model, text, prompt_tokens,"
                    " completion_tokens, finish_reason, response_model, created_at, reasoning,"
                    " reasoning_tokens, cut_off) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    values,
                )
            )

    def _guard(self, action: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``action(connection)``; turn a sqlite failure into a one-line ConfigError."""
        conn = self._connection()
        try:
            return action(conn)
        except sqlite3.DatabaseError as exc:
            raise self._failure(exc) from exc

    def _connection(self) -> sqlite3.Connection:
        """The open connection, opening and migrating the file first if needed (lock held)."""
        if self._conn is not None:
            return self._conn
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the cache directory {self._path.parent}: {exc}"
            ) from exc
        try:
            conn = sqlite3.connect(
                self._path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open the response cache {self._path}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            enable_wal(conn, timeout_s=BUSY_TIMEOUT_MS / 1000)
            _migrate(conn, self._path)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise self._failure(exc) from exc
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _failure(self, exc: sqlite3.DatabaseError) -> ConfigError | OutputError:
        unwritable = write_failure(f"the response cache {self._path}", exc)
        if unwritable is not None:
            return unwritable  # a full disk, a read-only place: the file is fine
        detail = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, sqlite3.OperationalError) and "locked" in detail:
            return ConfigError(f"response cache {self._path} stayed locked: {detail}")
        return ConfigError(f"response cache {self._path} is not a valid creator cache: {detail}")


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to date; all pending migrations commit together or not at all."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if tables and _VERSION_TABLE not in tables:
            raise ConfigError(
                f"response cache {path} is not a valid creator cache: it holds other tables"
            )
        apply_migrations(
            conn,
            table=_VERSION_TABLE,
            migrations=[
                (name, [part for part in sql.split(";") if part.strip()])
                for name, sql in MIGRATIONS
            ],
            label=f"response cache {path}",
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
