"""``creator eval``'s options for several attempts per problem and their vote.

``--samples K`` makes K attempts at each problem (distinct requests at the run's temperature;
see :mod:`creator.eval.sampling`), ``--vote`` picks how they elect the answer and
``--vote-early`` stops sampling once the answer can no longer lose. What the options may be
combined with is checked with the rest of the run's settings
(:func:`creator.eval.rundir.check_settings`); this module only parses and warns.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_sampling_args", "sampling_fields", "sampling_note"]


def add_sampling_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("several attempts and a vote")
    group.add_argument(
        "--samples",
        type=int,
        default=1,
        metavar="K",
        help="attempts per problem, each its own requests (default: 1, as in the paper)",
    )
    group.add_argument(
        "--vote",
        choices=("majority", "execution"),
        default="majority",
        help="majority: the most frequent answer among the attempts that answered (a tie "
        "goes to the earliest); execution: only answers of code that ran without an error",
    )
    group.add_argument(
        "--vote-early",
        action="store_true",
        help="stop making attempts once an answer can no longer lose the vote",
    )


def sampling_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The run config's fields these options set."""
    return {"samples": args.samples, "vote": args.vote, "vote_early": args.vote_early}


def sampling_note(args: argparse.Namespace, *, temperature: float) -> str | None:
    """A warning worth a line before the run, or None."""
    if args.samples > 1 and temperature == 0:
        return (
            f"--samples {args.samples} at temperature 0: the attempts will mostly agree "
            "(raise --temperature for a vote that can differ from one attempt)"
        )
    return None
