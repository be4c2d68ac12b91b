"""``creator prompts``: write the built-in prompts out to edit (``export``), or list them.

``export DIR`` writes every built-in template and demonstration file under DIR in the layout
``--prompts DIR`` reads (refusing to overwrite existing files unless ``--force``). ``list``
prints one line per file: its name, whether it is built-in or from ``--prompts DIR`` (the
directory is checked as a run would check it), its kind and a template's placeholders.
Thin: the work is :mod:`creator.prompts`'.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from creator.prompts import PromptSet, export_prompts, is_template, load_prompt_dir, placeholders

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "prompts",
        help="the prompt templates and demonstrations: export them to edit, list them",
        description="The prompts every stage renders. Export them, edit some, and run with "
        "--prompts DIR: each file there replaces the built-in file of the same name.",
    )
    actions = parser.add_subparsers(dest="prompts_action", required=True, metavar="ACTION")

    p = actions.add_parser("export", help="write every built-in prompt file under DIR")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--force", action="store_true", help="overwrite files already in DIR")
    p.set_defaults(func=run_export)

    p = actions.add_parser("list", help="list the prompt files and their placeholders")
    p.add_argument(
        "--prompts", type=Path, metavar="DIR", help="show (and check) a directory's overrides"
    )
    p.set_defaults(func=run_list)


def run_export(args: argparse.Namespace) -> int:
    written = export_prompts(args.dir, force=args.force)
    templates = sum(is_template(p.relative_to(args.dir).as_posix()) for p in written)
    print(
        f"wrote {len(written)} prompt files to {args.dir} ({templates} templates, "
        f"{len(written) - templates} under examples/: demonstrations, answer formats); edit "
        "any of them and run with "
        f"--prompts {args.dir} (files you leave out, or delete, stay the built-in ones)"
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    prompts = load_prompt_dir(args.prompts) if args.prompts else PromptSet.builtin()
    if args.prompts:
        print(f"{len(prompts.sources)} of {len(prompts.texts)} files from {args.prompts}")
    width = max(len(name) for name in prompts.names()) + len(".md")
    for name in prompts.names():
        template = is_template(name)
        kind = "template" if template else "demonstrations"
        if name.endswith("/answer_format"):
            kind = "answer format"  # a value shown by $answer_format, not demonstrations
        source = "--prompts" if name in prompts.sources else "built-in"
        shown = " ".join(f"${p}" for p in sorted(placeholders(prompts.texts[name])))
        line = f"{name + '.md':<{width}}  {source:<9}  {kind:<14}  {shown if template else ''}"
        print(line.rstrip())
    return 0
