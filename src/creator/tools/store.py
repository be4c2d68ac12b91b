"""The persistent tool library: created tools in one SQLite file, deduplicated and searchable.

:class:`ToolLibrary` keeps, for each tool, its code, entry point (name, signature, docstring),
the problem and dataset it was made for, the model that made it (``maker``), whether it ran
and whether the answer it led to was verified correct, and how often it was offered, reused
and led to a correct answer. Tools are
deduplicated on the hash of their canonical form (:mod:`creator.tools.normalise`): adding a
variant of a known tool keeps the first code and counts the variant. Retrieval is SQLite FTS5
(BM25) over the signatures, docstrings and original problem; no other service is involved.

The file uses WAL mode, a busy timeout and one ``BEGIN IMMEDIATE`` transaction per write (the
FTS index is updated in the same transaction), so several processes may add to one library at
once and lose nothing. The schema is versioned with numbered migrations; a file written by a
newer creator, a foreign SQLite file and a file that is not SQLite are refused with a one-line
:class:`~creator.errors.ConfigError`.

Nothing here runs tool code: code is only parsed (:func:`ast.parse`), also on import. The
file itself (schema, migrations, identity) is :mod:`creator.tools.db`; the export format is
:mod:`creator.tools.exchange`. Offering tools in prompts, and running them, belong to the
pipeline and the sandbox.

Deliberately left out: re-hashing stored tools when the normaliser changes (hashes are kept as
first computed), keeping the problems of merged variants (only the first problem is indexed),
and deleting tools automatically (no expiry or size limit).
"""

from __future__ import annotations

import builtins
import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from creator.errors import InputError
from creator.paths import user_dir
from creator.tools.db import connect, failure
from creator.tools.exchange import ToolEntry, read_export, write_export
from creator.tools.normalise import NormalisedTool, normalise_tool
from creator.tools.records import COLUMNS, ToolRecord, record_from_row, record_to_export

__all__ = [
    "ToolLibrary",
    "ToolRecord",
    "default_library_path",
    "fts_query",
]

_BM25_WEIGHTS = (2.0, 1.0, 1.0)  # name+signatures, docstrings, problem
_MAX_QUERY_TERMS = 64
_STOPWORDS = frozenset(
    re.split(
        r"\s+",
        "a an and are as at be by can do does for from has have how i if in into is it its of on"
        " or s so than that the their then there these this to was were what when where which"
        " who will with you your",
    )
)
_ID = re.compile(r"#?(\d+)")
_T = TypeVar("_T")


def default_library_path() -> Path:
    """``$CREATOR_DATA_DIR``, else ``$XDG_DATA_HOME/creator``, else ``~/.local/share/creator``.

    The file is ``tools.sqlite`` in that directory; nothing is created until it is opened.
    """
    return (
        user_dir(override="CREATOR_DATA_DIR", xdg="XDG_DATA_HOME", fallback=(".local", "share"))
        / "tools.sqlite"
    )


def fts_query(text: str) -> str:
    """A safe FTS5 query for free ``text``: its words, each quoted, joined with OR.

    FTS5 syntax in the text (``AND``, ``NEAR(``, ``"``, ``*``, ``col:``) is never interpreted:
    only runs of letters and digits survive, and each is a quoted string. Common English words
    are dropped; an empty string means nothing is left to search for.
    """
    words: list[str] = []
    for word in re.findall(r"[^\W_]+", text.lower()):
        if word not in _STOPWORDS and word not in words:
            words.append(word)
    return " OR ".join(f'"{w}"' for w in words[:_MAX_QUERY_TERMS])


def _fts_columns(tool: NormalisedTool) -> tuple[str, str]:
    """What the index knows of a tool's code: signatures (main first) and docstrings."""
    ordered = [tool.main, *(f for f in tool.functions if f != tool.main)]
    return " ".join(f.signature for f in ordered), "\n".join(f.docstring for f in ordered)


class ToolLibrary:
    """The tool library in the SQLite file at ``path`` (created with its directory on first use).

    Every method is safe to call from several threads; several processes may share the file.
    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._path

    def __repr__(self) -> str:
        return f"ToolLibrary({str(self._path)!r})"

    def __enter__(self) -> ToolLibrary:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # writing ---------------------------------------------------------------------------------

    def add(
        self,
        code: str,
        *,
        problem: str,
        problem_id: str | None = None,
        dataset: str | None = None,
        ran: bool = False,
        verified: bool = False,
        maker: str | None = None,
    ) -> ToolRecord:
        """Store a created tool; a variant of a stored tool merges into it (first code kept).

        Merging counts the variant, and ``ran``/``verified`` become true if either was; the
        stored tool keeps its own ``maker`` (the model that wrote the code kept). Raises
        :class:`~creator.errors.InputError` if ``code`` does not parse or defines no function.
        """
        tool = normalise_tool(code)
        entry = ToolEntry(
            code=code, problem=problem, problem_id=problem_id, dataset=dataset, ran=ran,
            verified=verified, maker=maker,
        )  # fmt: skip

        def write(conn: sqlite3.Connection) -> ToolRecord:
            tool_id = self._upsert(conn, tool, entry, merge_counts=False)[0]
            return self._find(conn, tool_id)

        return self._write(write)

    def record_offered(self, ids: Iterable[int]) -> int:
        """Count one offer for each tool in ``ids``; returns how many tools exist to count."""
        unique = sorted({int(i) for i in ids})
        if not unique:
            return 0

        def write(conn: sqlite3.Connection) -> int:
            marks = ",".join("?" * len(unique))
            cursor = conn.execute(
                f"UPDATE tools SET offered = offered + 1 WHERE id IN ({marks})", unique
            )
            return cursor.rowcount

        return self._write(write)

    def record_reused(self, tool_id: int, *, correct: bool) -> bool:
        """Count one reuse of a tool, and whether it ended correct (then it is also verified).

        Returns ``False`` if no such tool exists (it may have been removed meanwhile).
        """
        flag = int(correct)

        def write(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "UPDATE tools SET reused = reused + 1, correct = correct + ?,"
                " verified = verified | ? WHERE id = ?",
                (flag, flag, int(tool_id)),
            ).rowcount

        return bool(self._write(write))

    def remove(self, name_or_id: str | int) -> ToolRecord:
        """Delete one tool (by ``#id``, id or unambiguous name) and return what it was."""

        def write(conn: sqlite3.Connection) -> ToolRecord:
            record = self._find(conn, name_or_id)
            conn.execute("DELETE FROM tools WHERE id = ?", (record.id,))
            conn.execute("DELETE FROM tools_fts WHERE rowid = ?", (record.id,))
            return record

        return self._write(write)

    # reading ---------------------------------------------------------------------------------

    def get(self, name_or_id: str | int) -> ToolRecord:
        """One tool by ``#id``, id or name; InputError if unknown or if the name is ambiguous."""
        return self._read(lambda conn: self._find(conn, name_or_id))

    def list(
        self, *, verified_only: bool = False, limit: int | None = None
    ) -> builtins.list[ToolRecord]:
        """Tools in the order they were first added."""
        sql = f"SELECT {COLUMNS} FROM tools"
        if verified_only:
            sql += " WHERE verified = 1"
        sql += " ORDER BY id"
        params: tuple[int, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (max(limit, 0),)
        rows = self._read(lambda conn: conn.execute(sql, params).fetchall())
        return [record_from_row(row) for row in rows]

    def count(self, *, verified_only: bool = False) -> int:
        sql = "SELECT count(*) FROM tools" + (" WHERE verified = 1" if verified_only else "")
        return int(self._read(lambda conn: conn.execute(sql).fetchone()[0]))

    def search(
        self, text: str, *, k: int = 5, verified_only: bool = True
    ) -> builtins.list[ToolRecord]:
        """The ``k`` tools best matching ``text`` by BM25, best first; any text is safe."""
        query = fts_query(text)
        if not query or k <= 0:
            return []
        weights = ", ".join(str(w) for w in _BM25_WEIGHTS)
        columns = ", ".join(f"t.{c.strip()}" for c in COLUMNS.split(","))
        sql = (
            f"SELECT {columns}, bm25(tools_fts, {weights}) AS score"
            " FROM tools_fts JOIN tools AS t ON t.id = tools_fts.rowid"
            " WHERE tools_fts MATCH ?"
            + (" AND t.verified = 1" if verified_only else "")
            + " ORDER BY score, t.id LIMIT ?"
        )
        rows = self._read(lambda conn: conn.execute(sql, (query, k)).fetchall())
        return [record_from_row(row[:-1], score=row[-1]) for row in rows]

    # export and import -----------------------------------------------------------------------

    def export(self, path: Path) -> int:
        """Write every tool to ``path`` as one JSON document; returns how many."""
        records = self.list()
        write_export(path, [record_to_export(r) for r in records])
        return len(records)

    def import_(self, path: Path) -> tuple[int, int]:
        """Add the tools of an export file; returns (added, merged into existing tools).

        The whole file is validated first and written in one transaction, so a bad file adds
        nothing. Code is only parsed, never run. A tool already in the library (up to
        normalisation) is merged: ``ran``/``verified`` become true if either was, each
        count becomes the larger of the two, so importing one file twice changes nothing, and
        a tool whose maker was not recorded takes the file's.
        """
        entries = read_export(Path(path))
        tools: builtins.list[tuple[NormalisedTool, ToolEntry]] = []
        for i, entry in enumerate(entries, start=1):
            try:
                tools.append((normalise_tool(entry.code), entry))
            except InputError as exc:
                raise InputError(f"{path}: tool {i}: {exc}") from None

        def write(conn: sqlite3.Connection) -> tuple[int, int]:
            added = merged = 0
            for tool, entry in tools:
                if self._upsert(conn, tool, entry, merge_counts=True)[1]:
                    added += 1
                else:
                    merged += 1
            return added, merged

        return self._write(write)

    # internals -------------------------------------------------------------------------------

    @staticmethod
    def _upsert(
        conn: sqlite3.Connection, tool: NormalisedTool, entry: ToolEntry, *, merge_counts: bool
    ) -> tuple[int, bool]:
        """Insert or merge one tool inside the caller's transaction: (id, whether new)."""
        row = conn.execute("SELECT id FROM tools WHERE code_hash = ?", (tool.code_hash,)).fetchone()
        if row is not None:
            if merge_counts:  # an import: the larger count, so importing twice is harmless
                conn.execute(
                    "UPDATE tools SET ran = ran | ?, verified = verified | ?,"
                    " offered = max(offered, ?), reused = max(reused, ?),"
                    " correct = max(correct, ?), variants = max(variants, ?),"
                    " created_at = min(created_at, ?), maker = coalesce(maker, ?) WHERE id = ?",
                    (
                        int(entry.ran), int(entry.verified), entry.offered, entry.reused,
                        entry.correct, entry.variants, entry.timestamp(), entry.maker, row[0],
                    ),
                )  # fmt: skip
            else:
                conn.execute(
                    "UPDATE tools SET ran = ran | ?, verified = verified | ?,"
                    " variants = variants + 1 WHERE id = ?",
                    (int(entry.ran), int(entry.verified), row[0]),
                )
            return int(row[0]), False
        functions = json.dumps(
            [
                {"name": f.name, "signature": f.signature, "docstring": f.docstring}
                for f in tool.functions
            ]
        )
        cursor = conn.execute(
            "INSERT INTO tools (name, signature, docstring, functions, code, code_hash,"
            " created_at, problem, problem_id, dataset, ran, verified, offered, reused, correct,"
            " variants, maker) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                tool.main.name, tool.main.signature, tool.main.docstring, functions, entry.code,
                tool.code_hash, entry.timestamp(), entry.problem, entry.problem_id,
                entry.dataset, int(entry.ran), int(entry.verified), entry.offered, entry.reused,
                entry.correct, entry.variants, entry.maker,
            ),
        )  # fmt: skip
        tool_id = cursor.lastrowid
        assert tool_id is not None
        names, docstrings = _fts_columns(tool)
        conn.execute(
            "INSERT INTO tools_fts (rowid, name, docstring, problem) VALUES (?, ?, ?, ?)",
            (tool_id, names, docstrings, entry.problem),
        )
        return tool_id, True

    def _find(self, conn: sqlite3.Connection, name_or_id: str | int) -> ToolRecord:
        if isinstance(name_or_id, int):
            key: str | int = name_or_id
        else:
            text = name_or_id.strip()
            match = _ID.fullmatch(text)
            key = int(match.group(1)) if match else text
        if isinstance(key, int):
            row = conn.execute(f"SELECT {COLUMNS} FROM tools WHERE id = ?", (key,)).fetchone()
            if row is None:
                raise InputError(f"no tool #{key} in the tool library {self._path}")
            return record_from_row(row)
        rows = conn.execute(
            f"SELECT {COLUMNS} FROM tools WHERE name = ? ORDER BY id", (key,)
        ).fetchall()
        if not rows:
            raise InputError(f"no tool named {key!r} in the tool library {self._path}")
        if len(rows) > 1:
            ids = ", ".join(f"#{r[0]}" for r in rows)
            raise InputError(f"{len(rows)} tools are named {key!r} ({ids}): name one by its id")
        return record_from_row(rows[0])

    def _read(self, action: Callable[[sqlite3.Connection], _T]) -> _T:
        with self._lock:
            conn = self._connection()
            try:
                return action(conn)
            except sqlite3.DatabaseError as exc:
                raise failure(self._path, exc) from exc

    def _write(self, action: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``action`` in one ``BEGIN IMMEDIATE`` transaction: all of it or none of it."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = action(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                return result
            except sqlite3.DatabaseError as exc:
                raise failure(self._path, exc) from exc

    def _connection(self) -> sqlite3.Connection:
        """The open connection, opening and migrating the file first if needed (lock held)."""
        if self._conn is None:
            self._conn = connect(self._path)
        return self._conn
