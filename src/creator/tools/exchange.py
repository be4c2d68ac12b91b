"""The tool library's export file: one JSON document that carries tools between libraries.

The document is ``{"format": "creator-tool-library", "version": 1, "exported_at": ...,
"tools": [...]}``; each tool holds its code, the problem and dataset it was made for, its flags
and counts, the model that made it (``maker``, when known; files without it are read as
before), and, for a reader's convenience, its name, signature, docstring and code hash. On
import only :class:`ToolEntry`'s fields are read: the rest is recomputed from the code by
parsing it (:mod:`creator.tools.normalise`), never by running it.

Deliberately left out: streaming very large files (the file is read whole), signing or
checksumming exports, and reading other versions of the format (refused with a clear error).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from creator.errors import InputError
from creator.files import write_text

__all__ = ["EXPORT_FORMAT", "EXPORT_VERSION", "ToolEntry", "read_export", "write_export"]

EXPORT_FORMAT = "creator-tool-library"
EXPORT_VERSION = 1


class ToolEntry(BaseModel):
    """A tool as it enters a library (from :meth:`ToolLibrary.add` or an export file)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str = Field(min_length=1)
    problem: str = ""
    problem_id: str | None = None
    dataset: str | None = None
    ran: bool = False
    verified: bool = False
    offered: int = Field(default=0, ge=0)
    reused: int = Field(default=0, ge=0)
    correct: int = Field(default=0, ge=0)
    variants: int = Field(default=1, ge=1)
    created_at: datetime | None = None
    maker: str | None = None
    """The model that made the tool (None: not recorded; older exports have none)."""

    def timestamp(self) -> float:
        """``created_at`` as seconds since the epoch (naive times are UTC); now if unknown."""
        if self.created_at is None:
            return datetime.now(UTC).timestamp()
        value = self.created_at
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()


class _ExportFile(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    format: str
    version: int
    tools: list[ToolEntry]


def write_export(path: Path, tools: Sequence[Mapping[str, Any]]) -> None:
    """Write ``tools`` (JSON-ready mappings) as an export document, atomically (an
    :class:`~creator.errors.OutputError` naming the file when it cannot be written)."""
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(),
        "tools": list(tools),
    }
    write_text(Path(path), json.dumps(document, indent=1, ensure_ascii=False) + "\n")


def read_export(path: Path) -> list[ToolEntry]:
    """The tools of an export file; a one-line InputError for anything else."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {' '.join(str(exc).split())}") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"{path} is not JSON: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise InputError(f"{path} is not a creator tool export (no format {EXPORT_FORMAT!r})")
    if data.get("version") != EXPORT_VERSION:
        raise InputError(
            f"{path} is a tool export of version {data.get('version')!r};"
            f" this creator reads version {EXPORT_VERSION}"
        )
    try:
        return _ExportFile.model_validate(data).tools
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        message = " ".join(error["msg"].split())
        raise InputError(f"{path} is not a valid tool export: {where}: {message}") from None
