"""Ray for the cluster tests: a real local Ray (``ray.init(num_cpus=2)``), one per module.

Ray is the ``ray`` extra, which the README's test command installs (``--all-extras``): these
tests never skip. Its workers inherit the environment of the moment Ray starts, which is the
test process's with no ``OPENAI_*`` variable (see the top conftest).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest

from creator.cluster import import_ray


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    """A single-node Ray of 2 CPUs, shared by one module's tests."""
    ray = import_ray()
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        os.environ.pop(name, None)
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False}
    ray.init(address="local", num_cpus=2, include_dashboard=False, **quiet)  # never a running one
    try:
        yield ray
    finally:
        ray.shutdown()
