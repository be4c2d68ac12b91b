"""Where creator keeps its files per user: ``$CREATOR_*_DIR``, else the XDG directory.

Only the directory is resolved; nothing is created here (the file's owner creates it on open).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["user_dir"]


def user_dir(*, override: str, xdg: str, fallback: tuple[str, ...]) -> Path:
    """``$override`` if set, else ``$xdg/creator``, else ``~/<fallback...>/creator``."""
    explicit = os.environ.get(override)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get(xdg)
    return (Path(base).expanduser() if base else Path.home().joinpath(*fallback)) / "creator"
