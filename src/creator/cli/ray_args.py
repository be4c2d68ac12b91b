"""``creator eval --ray ADDRESS``: the options that send a run's problems to Ray actors, and
building the backend from them (see :mod:`creator.cluster`).

The actors build their model from the same options as the driver, with the key and base URLs
resolved here (a node has no ``$OPENAI_API_KEY`` of its own), and their sandbox at the level
``--sandbox`` names, hiding the same paths. ``--workers`` is per actor (default: its CPUs).
"""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from creator.cli.common import build_model
from creator.cli.creation_args import creation_api_key
from creator.errors import ConfigError

if TYPE_CHECKING:
    from creator.cluster import RayBackend

__all__ = ["ACTOR_MAX_IN_FLIGHT", "add_ray_args", "ray_backend"]

ACTOR_MAX_IN_FLIGHT = 256
"""Requests one actor's model may have open (per endpoint) unless ``--max-in-flight``."""


def add_ray_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Ray (extra: creator[ray])")
    group.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="solve the problems on Ray actors: local (a Ray of this machine, for this run), "
        "auto (the cluster this machine is part of), ray://HOST:PORT or HOST:PORT",
    )
    group.add_argument(
        "--ray-actors",
        type=int,
        metavar="N",
        help="how many actors (default: one per node, sized to its CPUs)",
    )
    group.add_argument(
        "--ray-cpus-per-actor",
        type=float,
        metavar="C",
        help="CPUs per actor, and its sandbox workers unless --workers (default: a node's "
        "CPUs, or the cluster's shared among --ray-actors)",
    )


def ray_backend(args: argparse.Namespace, *, hide: Sequence[str]) -> RayBackend | None:
    """The Ray backend the options ask for (None without ``--ray``); not connected yet."""
    if args.ray is None:
        if args.ray_actors is not None or args.ray_cpus_per_actor is not None:
            raise ConfigError("--ray-actors and --ray-cpus-per-actor only apply with --ray")
        return None
    from creator.cluster import RayBackend, SandboxSpec, import_ray

    import_ray()  # the install hint now, before anything starts
    return RayBackend(
        address=args.ray,
        model_factory=functools.partial(build_model, _for_actors(args)),
        sandbox=SandboxSpec(level=args.sandbox, hide=tuple(hide)),
        actors=args.ray_actors,
        cpus_per_actor=args.ray_cpus_per_actor,
        workers=args.workers,
    )


def _for_actors(args: argparse.Namespace) -> argparse.Namespace:
    """The model options as the actors need them: the key and URLs from this environment."""
    resolved = argparse.Namespace(**vars(args))
    resolved.api_key = args.api_key or os.environ.get("OPENAI_API_KEY")
    if getattr(args, "creation_model", None):  # a node has no creation key of its own either
        resolved.creation_api_key = creation_api_key(args)
    if args.max_in_flight is None:  # the driver bounds the problems in flight over all actors
        resolved.max_in_flight = max(ACTOR_MAX_IN_FLIGHT, args.concurrency or 0)
    if args.cache is not None:  # an actor's working directory is not this one
        resolved.cache = args.cache.expanduser().absolute()
    fallback = os.environ.get("OPENAI_BASE_URL")
    if not getattr(args, "base_urls", None) and fallback:
        resolved.base_url, resolved.base_urls = fallback, [fallback]
    vars(resolved).pop("func", None)  # the command's function: not the actors' business
    return resolved
