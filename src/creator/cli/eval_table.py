"""The table ``creator eval`` prints at the end of a run, from its ``summary.json``.

One row per figure a reader checks first (accuracy, statuses, tokens, time), then a block
per kind of run (Tool Transfer arms, the tool library, a tooluse run's queries; the tokens of
each model when a creation model made the tools). Left out:
reading or computing the summary (:mod:`creator.eval.summary`) and the live progress.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from creator.eval.budget import usd

__all__ = ["summary_table"]


def summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title=f"{summary['dataset']} · {summary['method']} · {summary['model_label']}")
    table.add_column("", style="bold")
    table.add_column("value", justify="right")
    table.add_row("problems", f"{summary['n']} of {summary['selected']}")
    table.add_row(f"accuracy ({summary['scoring']})", _percent(summary["accuracy"]))
    if summary["scorings_differ"]:
        other = "paper" if summary["scoring"] == "strict" else "strict"
        table.add_row(f"accuracy ({other})", _percent(summary[f"accuracy_{other}"]))
    if unscored := summary.get("unscored"):
        scored = summary["n"] - unscored
        table.add_row("  unscored (no answer given)", f"{unscored}: accuracy is over {scored}")
    table.add_row("one-time pass", _percent(summary["one_time_pass_rate"]))
    table.add_row("rectified and correct", str(summary["rectified_and_correct"]))
    for status, count in summary["status"].items():
        table.add_row(f"status {status}", str(count))
    if summary.get("model_errors"):
        table.add_row("  model failures (retried next run)", str(summary["model_errors"]))
    if summary.get("request_errors"):
        table.add_row("  refused by the server (kept)", str(summary["request_errors"]))
    for name, group in summary["by_subject"].items():
        table.add_row(f"  {name}", _group(group))
    for name, group in summary["by_level"].items():
        table.add_row(f"  level {name}", _group(group))
    _transfer_rows(table, summary.get("transfer"))
    _tool_rows(table, summary.get("tools"))
    _query_rows(table, summary.get("queries"))
    _sampling_rows(table, summary.get("sampling"))
    _repair_rows(table, summary.get("no_answer_repairs"))
    table.add_row("tokens", f"{summary['tokens']['total']:,}")
    if summary["tokens"].get("reasoning"):
        table.add_row("  of them reasoning", f"{summary['tokens']['reasoning']:,}")
    _model_rows(table, summary.get("models"))
    _budget_rows(table, summary.get("budget"))
    for parameter, how in summary.get("request_adaptations", {}).items():
        table.add_row(f"request: {parameter}", how)
    wall = f"{summary['wall_time_s']:.1f} s"
    this_run = summary.get("wall_time_this_run_s", summary["wall_time_s"])
    if this_run != summary["wall_time_s"]:
        wall += f" ({this_run:.1f} s this run)"
    table.add_row("wall time", wall)
    table.add_row("sandbox", summary["sandbox"])
    return table


def _percent(rate: float | None) -> str:
    """A rate as a percentage; "n/a" when nothing could be scored."""
    return "n/a" if rate is None else f"{rate:.1%}"


def _group(group: dict[str, Any]) -> str:
    """A subject's or level's accuracy, of how many problems (and how many had no answer)."""
    text = f"{_percent(group['accuracy'])} of {group['n']}"
    return text + (f" ({group['unscored']} unscored)" if group.get("unscored") else "")


def _score(group: dict[str, Any]) -> str:
    return f"{group['accuracy']:.1%} of {group['n']}" if group["n"] else "-"


def _transfer_rows(table: Table, block: dict[str, Any] | None) -> None:
    """Tool Transfer: the control and transfer arms side by side."""
    if not block:
        return
    both = block["scenarios_2_3"]
    table.add_row("Tool Transfer, scenarios 2-3", "")
    table.add_row("  control (no transfer)", _score(both["control"]))
    if "transfer" in block["arms"]:
        table.add_row("  transfer (scenario 1's tool)", _score(both["transfer"]))
        for n in ("2", "3"):
            arms = block["by_scenario"][n]
            table.add_row(
                f"  scenario {n}: control / transfer",
                f"{_score(arms['control'])} / {_score(arms['transfer'])}",
            )
        if block["no_tool_to_transfer"]:
            table.add_row("  no tool to transfer", str(block["no_tool_to_transfer"]))
    else:
        table.add_row("  transfer", "not run (method creates no separate tool)")
    table.add_row("  control, scenarios 1-3", _score(block["control_all"]))


def _tool_rows(table: Table, block: dict[str, Any] | None) -> None:
    """What the run did with the tool library."""
    if not block:
        return
    if block["reuse"]:
        table.add_row("library tools reused", f"{block['reused']} ({_rate(block, 'reused')})")
    table.add_row("tools created", f"{block['created']} ({_rate(block, 'created')})")


def _query_rows(table: Table, block: dict[str, Any] | None) -> None:
    """What a tooluse run's queries met."""
    if not block:
        return
    table.add_row(f"queries to {block['service']}", str(block["sent"]))
    table.add_row("  answered", str(block["answered"]))
    if block["service_errors"]:
        table.add_row("  service errors", str(block["service_errors"]))
    if block["no_query"]:
        table.add_row("  replies without a query", str(block["no_query"]))
    if block["time_s"]["median"] is not None:
        median, p95 = block["time_s"]["median"], block["time_s"]["p95"]
        table.add_row("  service time (median / p95)", f"{median:.3f} / {p95:.3f} s")


def _model_rows(table: Table, block: dict[str, Any] | None) -> None:
    """The tokens of each model, when a tool maker and a tool user shared the work."""
    if not block:
        return
    roles = {block["creation_model"]: "tool maker", block["model"]: "tool user"}
    if block["creation_model"] == block["model"]:
        roles = {block["model"]: "tool maker and user"}
    for name, role in roles.items():
        tokens = block["tokens"].get(name, {}).get("total", 0)
        table.add_row(f"  {role}: {escape(name)}", f"{tokens:,}")


def _rate(block: dict[str, Any], name: str) -> str:
    return f"{block[f'{name}_accuracy']:.1%} correct" if block[name] else "-"


def _sampling_rows(table: Table, block: dict[str, Any] | None) -> None:
    """Several attempts per problem: the vote against one attempt and against any."""
    if not block:
        return
    how = f"{block['rule']} vote" + (", early stop" if block["early"] else "")
    table.add_row(f"attempts per problem (K={block['k']})", f"{block['attempts_per_problem']}")
    table.add_row(f"  accuracy at K ({how})", _percent(block["accuracy_at_k"]))
    table.add_row("  first attempt alone", _percent(block["first_attempt_accuracy"]))
    table.add_row("  pass@K (any attempt right)", _percent(block["pass_at_k"]))
    if block["stopped_early"]:
        table.add_row("  votes settled early", str(block["stopped_early"]))
    if block["fallbacks"]:
        table.add_row("  no clean execution: all answers counted", str(block["fallbacks"]))
    table.add_row("  tokens of the first attempts", f"{block['tokens_first_attempt']:,}")
    if block.get("cost") is not None:
        table.add_row(
            "  cost: all attempts / first attempts",
            f"${block['cost']:.4f} / ${block['cost_first_attempt']:.4f}",
        )


def _repair_rows(table: Table, block: dict[str, Any] | None) -> None:
    """``--rectify-on no-answer``: code that printed no answer, sent back."""
    if not block:
        return
    table.add_row("no answer, sent to Rectification", str(block["sent_back"]))
    table.add_row(
        "  then answered (correct)", f"{block['then_answered']} ({block['then_correct']})"
    )


def _budget_rows(table: Table, block: dict[str, Any] | None) -> None:
    """The run's budget: what was spent of it, and whether it stopped the run."""
    if not block:
        return
    state = "reached" if block["reached"] else "not reached"
    if block["stopped"]:
        state = f"stopped the run: {block['done']} of {block['total']} problems done"
    table.add_row("budget", state)
    if block["max_tokens"] is not None:
        table.add_row("  tokens spent", f"{block['spent_tokens']:,} of {block['max_tokens']:,}")
    if block["spent_cost"] is not None:
        most = f" of {usd(block['max_cost'])}" if block["max_cost"] is not None else ""
        table.add_row("  cost spent", usd(block["spent_cost"]) + most)
