"""The persistent tool library: keep, deduplicate, retrieve and count created tools.

:mod:`creator.tools.normalise` reads tool code without running it (functions, canonical form,
hash); :mod:`creator.tools.store` keeps tools in one SQLite file with FTS5 retrieval, over
:mod:`creator.tools.db` (file, schema, migrations), :mod:`creator.tools.records` (the record)
and :mod:`creator.tools.exchange` (the export file); :mod:`creator.tools.reuse` is how a solving
run offers tools and writes back what happened. Showing tools to a model and running them
belong to the pipeline and the sandbox.
"""

from __future__ import annotations

from creator.tools.normalise import NormalisedTool, ToolFunction, canonical_form, normalise_tool
from creator.tools.reuse import DEFAULT_REUSE_K, ToolReuse, tool_ran
from creator.tools.store import ToolLibrary, ToolRecord, default_library_path, fts_query

__all__ = [
    "DEFAULT_REUSE_K",
    "NormalisedTool",
    "ToolFunction",
    "ToolLibrary",
    "ToolRecord",
    "ToolReuse",
    "canonical_form",
    "default_library_path",
    "fts_query",
    "normalise_tool",
    "tool_ran",
]
