"""The table ``creator eval`` prints at the end of a run, from its ``summary.json``.

One row per figure a reader checks first (accuracy, statuses, tokens, time), then a block
per kind of run (Tool Transfer arms, the tool library, a tooluse run's queries). Left out:
reading or computing the summary (:mod:`creator.eval.summary`) and the live progress.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

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
    table.add_row("tokens", f"{summary['tokens']['total']:,}")
    if summary["tokens"].get("reasoning"):
        table.add_row("  of them reasoning", f"{summary['tokens']['reasoning']:,}")
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


def _rate(block: dict[str, Any], name: str) -> str:
    return f"{block[f'{name}_accuracy']:.1%} correct" if block[name] else "-"
