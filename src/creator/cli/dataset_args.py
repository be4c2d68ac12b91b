"""``--dataset NAME|PATH``, ``--field NAME=COLUMN`` and ``--answer-kind``: which problems a run has.

A built-in dataset's name, or the path of a user's JSONL, JSON or CSV file or saved Hugging
Face dataset (see :mod:`creator.datasets.files`). A file is read here, so that every problem
with it is a one-line error before any model is asked anything; what was read goes to the run
(``run_eval(dataset_file=...)``), which reads the file again only if it may have changed.
``--field`` and ``--answer-kind`` only apply to a file. Left out: reading files and filtering
problems (the library's).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from creator.datasets import DATASETS
from creator.datasets.files import (
    ANSWER_KINDS,
    DEFAULT_ANSWER_KIND,
    FIELDS,
    DatasetFile,
    dataset_source,
    load_file,
    parse_fields,
)
from creator.errors import ConfigError

__all__ = ["DatasetChoice", "add_dataset_args", "chosen_dataset"]


@dataclass(frozen=True)
class DatasetChoice:
    """The dataset settings of a run's config: a built-in name, or a file and how to read it."""

    name: str
    path: str | None = None
    sha256: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    answer_kind: str | None = None
    loaded: DatasetFile | None = None
    """The file as the command read it, for the run to take unless it changed since."""


def add_dataset_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("dataset")
    group.add_argument(
        "--dataset",
        required=True,
        metavar="NAME|PATH",
        help=f"a built-in dataset ({', '.join(DATASETS)}) or your own .jsonl, .json or .csv "
        "file (or a directory saved by Hugging Face datasets)",
    )
    group.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="NAME=COLUMN",
        help=f"your file's column for NAME, one of {', '.join(FIELDS)} (repeatable; default: "
        "the column of that name; context: else 'table')",
    )
    group.add_argument(
        "--answer-kind",
        choices=ANSWER_KINDS,
        help=f"how your file's answers are checked (default: {DEFAULT_ANSWER_KIND}; math: "
        "LaTeX-aware; text: normalised exact match)",
    )


def chosen_dataset(args: argparse.Namespace) -> DatasetChoice:
    """The dataset ``args`` name; a file is read (and every error in it raised) here."""
    source = dataset_source(args.dataset)
    if isinstance(source, str):
        if args.field or args.answer_kind is not None:
            flag = "--field" if args.field else "--answer-kind"
            raise ConfigError(
                f"{flag} applies to your own dataset file; the built-in dataset {source} has "
                "its own columns and answer kind"
            )
        return DatasetChoice(name=source)
    fields = parse_fields(args.field)
    loaded = load_file(
        source,
        fields=fields,
        answer_kind=args.answer_kind or DEFAULT_ANSWER_KIND,
    )
    return DatasetChoice(
        name=loaded.name,
        path=str(loaded.path),
        sha256=loaded.sha256,
        fields=fields,
        answer_kind=loaded.answer_kind,
        loaded=loaded,
    )
