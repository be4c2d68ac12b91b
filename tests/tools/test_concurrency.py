"""Two processes writing to one library at once lose nothing (WAL, one transaction per write)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from creator.tools import ToolLibrary

ADDS = 200
SHARED = '''
def shared_tool(x):
    """A tool both writers add."""
    return x * 2
'''


def _writer(path: str, tag: str, start: Any) -> None:
    start.wait()  # both processes open a library that does not exist yet, at the same moment
    with ToolLibrary(Path(path)) as library:
        shared = library.add(SHARED, problem=f"shared by {tag}", ran=True, verified=True)
        for i in range(ADDS):
            library.add(f"def tool_{tag}_{i}(x):\n    return x + {i}\n", problem=f"{tag} {i}")
            library.record_offered([shared.id])
            library.record_reused(shared.id, correct=i % 2 == 0)


def test_two_writer_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "tools.sqlite"
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    writers = [context.Process(target=_writer, args=(str(path), tag, start)) for tag in ("a", "b")]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=60)
        assert process.exitcode == 0
    with ToolLibrary(path) as library:
        assert library.count() == 2 * ADDS + 1
        shared = library.get("shared_tool")
        assert shared.variants == 2
        assert (shared.offered, shared.reused, shared.correct) == (2 * ADDS, 2 * ADDS, ADDS)
        assert len(library.search("shared tool both writers")) == 1
        names = {r.name for r in library.list()}
        assert {f"tool_{t}_{i}" for t in "ab" for i in range(ADDS)} <= names
