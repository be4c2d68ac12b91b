"""What every SQLite file of creator needs when it is opened (the response cache, the tools).

Only what those files share lives here: WAL set-up, applying numbered migrations (in the
style of simonw/llm, a table of applied versions), and telling a failed write (a full disk, a
read-only place) from a damaged or foreign file (:func:`write_failure`). Each file's schema,
its migrations and its identity check belong to its own module.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from creator.errors import ConfigError, OutputError

__all__ = ["Migration", "apply_migrations", "enable_wal", "write_failure"]

Migration = tuple[str, Sequence[str]]
"""A migration: its name and its SQL statements."""


_WRITE_FAILURES = ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN")


def write_failure(label: str, exc: sqlite3.Error) -> OutputError | None:
    """An :class:`OutputError` (``cannot write the tool library X: database or disk is
    full``) when ``exc`` says the file could not be written or opened for writing, else None."""
    name = getattr(exc, "sqlite_errorname", None) or ""
    if not name.startswith(_WRITE_FAILURES):
        return None
    detail = " ".join(str(exc).split()) or name
    return OutputError(f"cannot write {label}: {detail}")


def enable_wal(conn: sqlite3.Connection, *, timeout_s: float) -> None:
    """Switch to WAL, waiting for other openers: this switch does not wait on a busy lock.

    Two processes opening a new file at once can otherwise fail with "database is locked".
    """
    deadline = time.monotonic() + timeout_s
    pause = 0.002
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def apply_migrations(
    conn: sqlite3.Connection, *, table: str, migrations: Sequence[Migration], label: str
) -> None:
    """Apply the migrations not yet recorded in ``table``, inside the caller's transaction.

    ``label`` names the file in errors ("the tool library /x.sqlite"); a file whose schema is
    newer than ``migrations`` is a ConfigError, never rewritten.
    """
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {table} ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    current = conn.execute(f"SELECT max(version) FROM {table}").fetchone()[0] or 0
    if current > len(migrations):
        raise ConfigError(
            f"{label} has schema version {current}, newer than this creator knows"
            f" ({len(migrations)}): upgrade creator or use another file"
        )
    for version, (name, statements) in enumerate(migrations, start=1):
        if version <= current:
            continue
        for sql in statements:
            conn.execute(sql)
        conn.execute(
            f"INSERT INTO {table} (version, name, applied_at) VALUES (?, ?, ?)",
            (version, name, time.time()),
        )
