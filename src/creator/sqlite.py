"""What every SQLite file of creator needs when it is opened (the response cache, the tools).

Only the connection set-up shared by those files lives here; each file's schema, migrations and
identity check belong to its own module.
"""

from __future__ import annotations

import sqlite3
import time

__all__ = ["enable_wal"]


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
