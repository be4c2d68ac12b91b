"""A run's wall time across the invocations that made it (a run may be resumed many times).

``summary.json`` keeps ``wall_time_s``, the total over every invocation of ``creator eval`` on
the run directory, and ``wall_time_this_run_s``, the last invocation's alone. The total is the
previous ``summary.json``'s ``wall_time_s`` plus this invocation's time. A missing or unreadable
previous summary counts as 0; one written before the total existed held its own invocation's
time only, which is then all that is known of the earlier ones. Deliberately left out: time
spent in invocations killed before they wrote a summary (``kill -9``), which nothing recorded.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

__all__ = ["earlier_wall_time"]


def earlier_wall_time(out_dir: Path) -> float:
    """Seconds spent on the run in ``out_dir`` before this invocation, from its summary.json."""
    try:
        summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0.0
    value = summary.get("wall_time_s") if isinstance(summary, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value) if math.isfinite(value) and value > 0 else 0.0
