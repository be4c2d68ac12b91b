"""The few-shot demonstrations (``prompts/examples/<dataset>/*.md``) are right and runnable.

For every example directory: the files parse (examples separated by ``---`` lines, code in
```` ```python ```` blocks), the counts are those of the paper, the same problems appear in the
same order in every stage, and every program really runs in the sandbox and prints the
``Final Answer:`` that the chain-of-thought and standard demonstrations state. A rectification
demonstration must fail as shown before its correction and succeed after it. A Tool Use
demonstration's query, sent to the offline service, gets exactly the result the demonstration
shows, and it ends with the chain of thought's answer.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pytest

from creator.answers import extract_answer, is_equivalent
from creator.sandbox.base import CodePart, ExecResult, Limits, Sandbox
from creator.services import SympyService
from creator.stages.query import read_query

MAIN = ("creation", "decision", "whole", "pot", "cot", "standard", "tooluse")
COUNTS = {  # dataset: (examples per main stage, rectification examples)
    "generic": (1, 1),
    "math": (7, 4),
    "tabmwp": (4, 1),
    "creation": (1, 1),
}
HEADINGS = {  # the headings of each file's examples, in order, after "Problem:"
    "creation": ("Tool:",),
    "decision": ("Tool:", "Decision:"),
    "whole": ("Program:",),
    "pot": ("Program:",),
    "cot": ("Solution:",),
    "standard": (),
    "tooluse": ("Solution:", "Result:"),
    "rectification": ("Tool:", "Decision code:", "What went wrong:", "Corrected code:"),
}
_SEPARATOR = re.compile(r"^---$", re.MULTILINE)
_PROBLEM = re.compile(r"\AProblem:\n(.+?)\n\n(?:Tool:|Program:|Solution:|Final Answer:)", re.DOTALL)
_PYTHON = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)
_SHOWN_ERROR = re.compile(r"^What went wrong:\n```\n(.*?)^```$", re.DOTALL | re.MULTILINE)
_FINAL = re.compile(r"^Final Answer: (.+)\Z")
_ERROR_TYPE = re.compile(r"^(\w+(?:\.\w+)*)(?::|$)")


@dataclass(frozen=True)
class Example:
    text: str
    problem: str
    code: tuple[str, ...]

    @property
    def final_answer(self) -> str:
        """The answer stated on the example's last line (cot and standard examples)."""
        match = _FINAL.match(self.text.splitlines()[-1])
        assert match, f"no final `Final Answer:` line in:\n{self.text}"
        return match.group(1).strip()


def _kind(dataset: str) -> str:
    return "math" if dataset == "math" else "numeric"


@cache
def _examples(dataset: str, name: str) -> tuple[Example, ...]:
    path = resources.files("creator.prompts").joinpath("examples", dataset, f"{name}.md")
    text = path.read_text(encoding="utf-8")
    examples = []
    for chunk in _SEPARATOR.split(text):
        chunk = chunk.strip()
        match = _PROBLEM.match(chunk)
        assert match, f"{dataset}/{name}: an example does not start with a problem:\n{chunk}"
        examples.append(Example(chunk, match.group(1), tuple(_PYTHON.findall(chunk))))
    return tuple(examples)


def _expected(dataset: str) -> dict[str, str]:
    """The answer of each problem, as the cot demonstrations state it."""
    return {e.problem: e.final_answer for e in _examples(dataset, "cot")}


def _run_all(sandbox: Sandbox, jobs: Sequence[Sequence[str]]) -> list[ExecResult]:
    """Run each job (its code parts: "tool", then "decision") concurrently in the sandbox."""

    def parts(codes: Sequence[str]) -> list[CodePart]:
        names = ("tool", "decision") if len(codes) == 2 else ("decision",)
        return [CodePart(name=n, code=c) for n, c in zip(names, codes, strict=True)]

    async def main() -> list[ExecResult]:
        return list(await asyncio.gather(*(sandbox.run(parts(job)) for job in jobs)))

    return asyncio.run(main())


def _check_answer(result: ExecResult, expected: str, kind: str, what: str) -> None:
    assert result.ok, f"{what} failed:\n{result.error}"
    printed = extract_answer(result.stdout)
    assert "Final Answer:" in result.stdout and printed is not None, f"{what}: {result.stdout!r}"
    assert is_equivalent(printed, expected, kind), f"{what}: printed {printed!r}, not {expected!r}"


DATASETS = sorted(COUNTS)


@pytest.mark.parametrize("dataset", DATASETS)
def test_files_parse_with_the_expected_counts_and_headings(dataset):
    main, rectification = COUNTS[dataset]
    for name, headings in HEADINGS.items():
        examples = _examples(dataset, name)
        assert len(examples) == (rectification if name == "rectification" else main), name
        for example in examples:
            positions = [example.text.find(f"\n\n{h}\n") for h in headings]
            assert -1 not in positions and positions == sorted(positions), (name, example.text)
            blocks = {"creation": 1, "decision": 2, "whole": 1, "pot": 1, "rectification": 3}
            assert len(example.code) == blocks.get(name, 0), (name, example.problem)
    answer_format = resources.files("creator.prompts").joinpath(
        "examples", dataset, "answer_format.md"
    )
    assert answer_format.read_text(encoding="utf-8").strip()


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_stage_shows_the_same_problems_in_the_same_order(dataset):
    problems = [e.problem for e in _examples(dataset, "creation")]
    assert len(set(problems)) == len(problems)
    for name in MAIN:
        assert [e.problem for e in _examples(dataset, name)] == problems, name


@pytest.mark.parametrize("dataset", DATASETS)
def test_standard_answers_agree_with_the_chain_of_thought(dataset):
    kind = _kind(dataset)
    for cot, standard in zip(
        _examples(dataset, "cot"), _examples(dataset, "standard"), strict=True
    ):
        assert standard.text.count("\n") == cot.problem.count("\n") + 3  # problem + answer only
        assert is_equivalent(standard.final_answer, cot.final_answer, kind), cot.problem


def _function_names(code: str) -> set[str]:
    return set(re.findall(r"^def (\w+)\(", code, re.MULTILINE))


@pytest.mark.parametrize("dataset", DATASETS)
def test_programs_run_and_print_the_stated_answers(dataset, sandbox):
    expected, kind = _expected(dataset), _kind(dataset)
    jobs: list[tuple[str, ...]] = []
    labels: list[tuple[str, str]] = []
    for created, decided in zip(
        _examples(dataset, "creation"), _examples(dataset, "decision"), strict=True
    ):
        (tool,), (shown_tool, decision) = created.code, decided.code
        assert _function_names(shown_tool) == _function_names(tool), created.problem
        jobs += [(tool, decision), (shown_tool, decision)]
        labels += [("creation tool + decision", created.problem)] * 2
    for name in ("whole", "pot"):
        for example in _examples(dataset, name):
            jobs.append(example.code)
            labels.append((name, example.problem))
    for (what, problem), result in zip(labels, _run_all(sandbox, jobs), strict=True):
        _check_answer(result, expected[problem], kind, f"{dataset} {what} for {problem!r}")


@pytest.mark.parametrize("dataset", DATASETS)
def test_rectifications_fail_as_shown_and_their_corrections_work(dataset, sandbox):
    expected, kind = _expected(dataset), _kind(dataset)
    examples = _examples(dataset, "rectification")
    jobs: list[tuple[str, ...]] = []
    for example in examples:
        tool, wrong, corrected = example.code
        jobs += [(tool, wrong), (tool, corrected)]
    results = _run_all(sandbox, jobs)
    for example, failed, fixed in zip(examples, results[::2], results[1::2], strict=True):
        shown = _SHOWN_ERROR.findall(example.text)
        assert len(shown) == 1, example.problem
        shown_type = _ERROR_TYPE.match(shown[0].strip().splitlines()[-1])
        assert shown_type, f"no error type in:\n{shown[0]}"
        assert not failed.ok and failed.error, f"the decision code ran: {example.problem!r}"
        actual_type = _ERROR_TYPE.match(failed.error.strip().splitlines()[-1])
        assert actual_type and actual_type.group(1) == shown_type.group(1), failed.error
        if dataset == "generic" and example.problem not in expected:
            assert fixed.ok and extract_answer(fixed.stdout), fixed.error
            continue
        assert example.problem in expected, f"not a problem of the other stages: {example.problem}"
        _check_answer(fixed, expected[example.problem], kind, f"{dataset} corrected code")


_RESULT = re.compile(r"^Result:\n(.*?)\n\n", re.DOTALL | re.MULTILINE)


@pytest.mark.parametrize("dataset", DATASETS)
def test_tooluse_queries_get_the_results_shown_from_the_offline_service(dataset, sandbox):
    examples = _examples(dataset, "tooluse")
    expected, kind = _expected(dataset), _kind(dataset)
    queries: list[str] = []
    for example in examples:
        before, _, after = example.text.partition("\n\nResult:\n")
        query = read_query(before)
        assert query is not None and before.rstrip().endswith(f"QUERY: {query}"), example.problem
        assert read_query(after) is None, "one query per demonstration"
        queries.append(query)
        assert is_equivalent(example.final_answer, expected[example.problem], kind)

    async def ask_all() -> list[str | None]:
        service = SympyService()
        replies = await asyncio.gather(
            *(service.ask(q, sandbox=sandbox, limits=Limits()) for q in queries)
        )
        return [reply.text for reply in replies]

    for example, query, text in zip(examples, queries, asyncio.run(ask_all()), strict=True):
        shown = _RESULT.search(example.text)
        assert shown is not None, example.problem
        assert text == shown.group(1), f"{query!r}: the service says {text!r}"
