"""The tool library's SQLite file: opening it, knowing it is ours, and migrating its schema.

:func:`connect` opens (creating if need be) the file in WAL mode with a busy timeout, refuses a
file that is not a creator tool library, and applies pending numbered migrations in one
transaction; :func:`failure` turns a sqlite error into a one-line
:class:`~creator.errors.ConfigError`. A library is recognised by its migrations table
(:data:`VERSION_TABLE`) and by the SQLite ``application_id`` header field
(:data:`APPLICATION_ID`); a file with other tables and neither is foreign and left untouched.

Deliberately left out: downgrades (a newer schema is refused, never rewritten), integrity
checks on open (``PRAGMA quick_check`` costs a full read; damage is reported when met), and
the tables' contents, which belong to :mod:`creator.tools.store`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from creator.errors import ConfigError, OutputError
from creator.sqlite import apply_migrations, enable_wal, write_failure

__all__ = ["APPLICATION_ID", "BUSY_TIMEOUT_MS", "MIGRATIONS", "VERSION_TABLE", "connect", "failure"]

BUSY_TIMEOUT_MS = 15_000
APPLICATION_ID = 0x43525450  # "CRTP": marks the file as a creator tool library
VERSION_TABLE = "creator_tool_library_migrations"

MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "create tools and their full-text index",
        (
            """
            CREATE TABLE tools (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                signature TEXT NOT NULL,
                docstring TEXT NOT NULL,
                functions TEXT NOT NULL,
                code TEXT NOT NULL,
                code_hash TEXT NOT NULL UNIQUE,
                created_at REAL NOT NULL,
                problem TEXT NOT NULL,
                problem_id TEXT,
                dataset TEXT,
                ran INTEGER NOT NULL CHECK (ran IN (0, 1)),
                verified INTEGER NOT NULL CHECK (verified IN (0, 1)),
                offered INTEGER NOT NULL DEFAULT 0,
                reused INTEGER NOT NULL DEFAULT 0,
                correct INTEGER NOT NULL DEFAULT 0,
                variants INTEGER NOT NULL DEFAULT 1
            )
            """,
            "CREATE INDEX tools_name ON tools (name)",
            """
            CREATE VIRTUAL TABLE tools_fts USING fts5 (
                name, docstring, problem, tokenize = 'porter unicode61 remove_diacritics 2'
            )
            """,
        ),
    ),
    (
        "the model that made each tool (NULL: not recorded, made before there was a maker)",
        ("ALTER TABLE tools ADD COLUMN maker TEXT",),
    ),
)
"""Numbered schema steps: entry ``i`` is version ``i + 1``. Only ever append."""


def connect(path: Path) -> sqlite3.Connection:
    """An autocommit connection to the library at ``path``, created and migrated if need be.

    The connection may be used from any thread (callers serialise their use of it).
    """
    if path.is_dir():
        raise ConfigError(f"the tool library {path} is a directory, not a file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the directory of {path}: {exc}") from exc
    try:
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise ConfigError(f"cannot open the tool library {path}: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _check_identity(conn, path)
        enable_wal(conn, timeout_s=BUSY_TIMEOUT_MS / 1000)
        conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; commits skip an fsync
        _migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise failure(path, exc) from exc
    except BaseException:
        conn.close()
        raise
    return conn


def failure(path: Path, exc: sqlite3.DatabaseError) -> ConfigError | OutputError:
    """A one-line ConfigError for a sqlite error met on the library at ``path`` (an
    OutputError when the file could not be written: a full disk, a read-only place)."""
    unwritable = write_failure(f"the tool library {path}", exc)
    if unwritable is not None:
        return unwritable
    detail = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, sqlite3.OperationalError) and "locked" in detail:
        return ConfigError(f"the tool library {path} stayed locked: {detail}")
    if "no such module: fts5" in detail:
        return ConfigError("this Python's SQLite lacks FTS5, which the tool library needs")
    if "malformed" in detail:
        return ConfigError(f"the tool library {path} is damaged: {detail}")
    return ConfigError(f"{path} is not a creator tool library: {detail}")


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _check_identity(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a file that is SQLite but holds something else (reads only)."""
    tables = _tables(conn)  # raises DatabaseError for a file that is not SQLite
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    foreign_id = application_id not in (0, APPLICATION_ID)
    if foreign_id or (tables and VERSION_TABLE not in tables):
        raise ConfigError(f"{path} is not a creator tool library (it holds other data)")


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to date; all pending migrations commit together or not at all."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        _check_identity(conn, path)  # again, now that no one else can be creating it
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        apply_migrations(
            conn, table=VERSION_TABLE, migrations=MIGRATIONS, label=f"the tool library {path}"
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
