"""The Tool Transfer experiment: its two arms, what each job is, and their summary side by side.

``creator eval --dataset transfer`` follows the paper's protocol. The **control** arm solves
every selected scenario on its own (records ``arm="control"``). The **transfer** arm, for
methods that create a separate tool (see :data:`creator.methods.TOOL_METHODS`), solves
scenarios 2 and 3 of each group with the tool created for scenario 1 of the same group in the
control arm: there is no Creation stage, and the decision stage sees that tool and the
scenario's *own* question (records ``arm="transfer"``, ``tool_from="transfer/<g>/1"``). When
scenario 1 produced no tool, the transfer records say so and count as wrong. A group's
scenario 1 that was not selected is added to the control arm, since the transfer arm needs
its tool. Other methods run the control arm only.

Deliberately left out: running jobs (the runner's) and solving (the methods'). Records made
before runs had arms (``arm`` unset) solved their scenario on their own: they are read as
control records.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from creator import datasets
from creator.eval.records import Arm, ProblemRecord
from creator.problem import Problem
from creator.trace import Result

__all__ = [
    "TRANSFER_DATASET",
    "Job",
    "as_control",
    "missing_tool",
    "plan",
    "scenario",
    "transfer_summary",
]

TRANSFER_DATASET = "transfer"
SOURCE_SCENARIO = 1


@dataclass(frozen=True, slots=True)
class Job:
    """One problem to solve in one arm (``arm`` None outside Tool Transfer runs)."""

    problem: Problem
    arm: Arm | None = None
    tool_from: str | None = None
    """The transfer arm: the id of the problem whose control-arm tool is given."""

    @property
    def key(self) -> str:
        """The key of this job's record (see :attr:`ProblemRecord.key`)."""
        return key_of(self.problem.id, self.arm)

    @property
    def source_key(self) -> str | None:
        """The key of the control record whose tool this job needs, if any."""
        return key_of(self.tool_from, "control") if self.tool_from else None


def key_of(problem_id: str, arm: Arm | None) -> str:
    return f"{problem_id}@{arm}" if arm else problem_id


def scenario(problem_id: str) -> int | None:
    """The scenario number (1..3) of a Tool Transfer id ``transfer/<group>/<scenario>``."""
    parts = problem_id.split("/")
    if len(parts) != 3 or parts[0] != TRANSFER_DATASET or not parts[2].isdigit():
        return None
    return int(parts[2])


def _source_id(problem_id: str) -> str:
    return problem_id.rsplit("/", 1)[0] + f"/{SOURCE_SCENARIO}"


def plan(problems: Sequence[Problem], *, transfer_arm: bool) -> tuple[list[Job], int]:
    """The jobs of a Tool Transfer run over ``problems``, and how many scenario 1 problems were
    added to the control arm because a selected scenario of their group needs their tool."""
    control = {p.id: p for p in problems}
    added = 0
    if transfer_arm:
        for problem in problems:
            source = _source_id(problem.id)
            if scenario(problem.id) != SOURCE_SCENARIO and source not in control:
                control[source] = datasets.get(source)
                added += 1
    jobs = [Job(p, arm="control") for p in control.values()]
    if transfer_arm:
        jobs += [
            Job(p, arm="transfer", tool_from=_source_id(p.id))
            for p in problems
            if scenario(p.id) not in (None, SOURCE_SCENARIO)
        ]
    return jobs, added


def as_control(records: dict[str, ProblemRecord]) -> dict[str, ProblemRecord]:
    """``records`` with those made before runs had arms read as control records."""
    out: dict[str, ProblemRecord] = {}
    for record in records.values():
        if record.arm is None:
            record = record.model_copy(update={"arm": "control"})
        out[record.key] = record
    return out


def missing_tool(
    problem: Problem, *, source: ProblemRecord, method: str, model: str, sandbox: str
) -> Result:
    """The transfer arm's result when scenario 1 produced no tool to give (counts as wrong)."""
    return Result(
        problem=problem,
        method=method,
        model=model,
        status="creation_failed",
        error=f"scenario 1 ({source.id}) produced no tool to transfer (its status: "
        f"{source.status})",
        tool_from=source.id,
        sandbox=sandbox,
    )


def _score(records: Iterable[ProblemRecord]) -> dict[str, Any]:
    group = list(records)
    correct = sum(r.correct for r in group)
    return {
        "n": len(group),
        "correct": correct,
        "accuracy": round(correct / len(group), 4) if group else 0.0,
    }


def transfer_summary(
    records: Sequence[ProblemRecord], *, method: str, transfer_arm: bool, added: int, replay: bool
) -> dict[str, Any]:
    """The ``transfer`` block of ``summary.json``: both arms side by side.

    Scenarios 2 and 3 are compared over the ids that have a record in both arms (``unpaired``
    counts those left out, e.g. while a model failure waits for a retry).
    """
    control = {r.id: r for r in records if r.arm != "transfer"}
    transfer = {r.id: r for r in records if r.arm == "transfer"}
    paired = [i for i in control if i in transfer]
    by_scenario: dict[str, dict[str, Any]] = {}
    for n in (1, 2, 3):
        if n == SOURCE_SCENARIO:
            ids = [i for i in control if scenario(i) == n]
            by_scenario[str(n)] = {"control": _score(control[i] for i in ids)}
        else:
            ids = [i for i in paired if scenario(i) == n]
            by_scenario[str(n)] = {
                "control": _score(control[i] for i in ids),
                "transfer": _score(transfer[i] for i in ids),
            }
    later = [i for i in paired if scenario(i) != SOURCE_SCENARIO]
    statuses: dict[str, int] = {}
    for record in transfer.values():
        statuses[record.status] = statuses.get(record.status, 0) + 1
    unpaired = sum(
        1 for i in {*control, *transfer} if scenario(i) != SOURCE_SCENARIO and i not in paired
    )
    if transfer_arm:
        note = (
            "transfer: scenarios 2 and 3 solved with the tool created for scenario 1 of their "
            "group (no Creation stage; each scenario's own question); control: each scenario "
            "solved on its own"
        )
    else:
        note = f"method {method} creates no separate tool: only the control arm runs"
    block: dict[str, Any] = {
        "arms": ["control", "transfer"] if transfer_arm else ["control"],
        "note": note,
        "scenarios_2_3": {
            "control": _score(control[i] for i in later),
            "transfer": _score(transfer[i] for i in later),
        },
        "by_scenario": by_scenario,
        "control_all": _score(control.values()),
        "unpaired": unpaired,
        "no_tool_to_transfer": sum(r.tool_code is None for r in transfer.values()),
        "added_scenario1": added,
        "transfer_status": dict(sorted(statuses.items())),
        "transfer_tokens": sum(r.tokens.total for r in transfer.values()),
    }
    if replay and transfer_arm:
        block["replay_note"] = (
            "the reference replay decides each scenario with its recorded solution, written "
            "for the group's recorded tool, which is also the tool it replays for scenario 1: "
            "both arms run the same code, so they check the harness, not tool transfer"
        )
    return block
