"""SympyService through the real sandbox: every query form, the paper's examples, garbage.

All queries run in one batch (a module fixture), so the file costs a few seconds, not one
sandbox start per test. A stand-in sandbox checks the host side alone: what is sent, the
limits, and how each kind of outcome becomes a reply.
"""

from __future__ import annotations

import ast
import asyncio
import sys
import time
from collections.abc import Sequence

import pytest

from creator.sandbox.base import CodePart, ExecResult, Limits, Sandbox
from creator.services.base import QUERY_CAP, REPLY_CAP, ServiceReply, ToolService
from creator.services.sympy_service import SympyService

PARTS = ["cas_read", "cas_math", "cas_solve", "cas"]

LIMITS = Limits(timeout_s=20.0)

PAPER = {
    "maximize 12x-x^2": "maximum 36 at x = 6",
    "solve sqrt((-3-5)^2+(y-2)^2)=10": "y = -4 or y = 8",
    "solve 3p+4q=8, 4p+3q=13": "p = 4, q = -1",
    "(70 * 120) / 50": "168",
    "4^3 - 3^3": "37",
    "sqrt(24*16*6)": "48",
    "{{2, -1}, {-3, 4}} * {3, -1}": "{7, -13}",
}
ARITHMETIC = {  # several forms per query where a list can hold them: one sandbox job each
    "{5!, binomial(5,2), C(5, 2), 5 choose 2, nPr(5, 2), 2^3!}": "{120, 10, 10, 10, 20, 64}",
    "{gcd(12, 18), lcm(4, 6, 10), 17 mod 5, 17 % 5, mod(-7, 3), 15% of 80}": (
        "{6, 60, 2, 2, 2, 12}"
    ),
    "{ln(e^3), log(8, 2), log_2(8), log10(1000), cbrt(-8), abs(-3) + |4 - 9|}": (
        "{3, 3, 3, 3, -2, 8}"
    ),
    "{2(3+4), 3 4, -2^2, floor(7/2) + ceil(7/2), round(2.5), √16 + 3²}": ("{14, 12, -4, 7, 3, 13}"),
    "{sin(pi/6), sin(30°), cos(pi) + tan(pi/4), arctan(1)}": (
        "{1/2, 1/2, 0, pi/4} ≈ {0.5, 0.5, 0, 0.7853981634}"
    ),
    "{0.1 + 0.2, 1.5 * 4, 2e3, round(3.14159, 2)}": "{0.3, 6, 2000, 3.14}",
    "1/3": "1/3 ≈ 0.3333333333",
    "2pi": "2*pi ≈ 6.283185307",
    "2^-1": "1/2 ≈ 0.5",
    "1/2x where x = 4": "2",
    "(1/2)!": "factorial(1/2) ≈ 0.8862269255",
    "e^2": "exp(2) ≈ 7.389056099",
    "exp(1)": "E ≈ 2.718281828",
    "sqrt 2": "sqrt(2) ≈ 1.414213562",
    "Sqrt[2]": "sqrt(2) ≈ 1.414213562",
    "sqrt(-4)": "2*I",
    "(3 + 4i)*(1 - 2i)": "11 - 2*I",
    "(1+I)^2": "2*I",
    "1/2 + I/2": "1/2 + I/2 ≈ 0.5 + 0.5*I",
    "sin^2(x) + cos^2(x)": "sin(x)^2 + cos(x)^2",
    "isprime(97)": "true",
    "10^15": "1000000000000000 ≈ 1e+15",
    "2^1000": (
        "10715086071862673209484250490600018105614048117055336074437503883703510511249361224"
        "93198378815695858127594672917553146825187145285692314043598457757469857480393456777"
        "48242309854210746050623711418779541821530464749835819412673987675591655439460770629"
        "14571196477686542167660429831652624386837205668069376 ≈ 1.071508607e+301"
    ),
    "1000!": "an integer of 2,568 digits ≈ 4.023872601e+2567",
    "2^65536": "an integer of 19,729 digits ≈ 2.00352993e+19728",
    "what is 2+2?": "4",
    "calculate 15% of 200": "30",
    "square root of 16 plus 3 squared": "13",
    "standard deviation of {2, 4, 4, 4, 5, 5, 7, 9}": "4*sqrt(14)/7 ≈ 2.138089935",
    "x^2 + 2x + 1": "x^2 + 2*x + 1",
    "(x+1)(x-1)": "(x - 1)*(x + 1)",
    "2 + 2 = 4": "true",
    "2 + 2 = 5": "false",
}
SOLVE = {
    "solve x^2 = 4": "x = -2 or x = 2",
    "solve x^2 - 5x + 6": "x = 2 or x = 3",
    "x + 2 = 5": "x = 3",
    "3p+4q=8, 4p+3q=13": "p = 4, q = -1",
    "solve x+y=3 and x-y=1": "x = 2, y = 1",
    "solve {x+y=3, x-y=1}": "x = 2, y = 1",
    "solve(x^2=4, x)": "x = -2 or x = 2",
    "solve for x: 2x+3=7": "x = 2",
    "solve x+y=10 for y": "y = 10 - x",
    "Solve x^2 + y^2 = 1, x + y = 1": "(x = 0, y = 1) or (x = 1, y = 0)",
    "solve x^2 = -1": "x = -I or x = I",
    "solve x^3 = 8 over the reals": "x = 2",
    "solve x^2 = 4 in integers": "x = -2 or x = 2",
    "roots of x^2 - 2": "x = -sqrt(2) ≈ -1.414213562 or x = sqrt(2) ≈ 1.414213562",
    "solve x^3-3x+1=0": "x ≈ -1.879385242 or x ≈ 0.3472963553 or x ≈ 1.532088886",
    "solve |x - 3| = 5": "x = -2 or x = 8",
    "solve sin(x) = 1/2": "x = pi/6 ≈ 0.5235987756 or x = 5*pi/6 ≈ 2.617993878",
    "solve 2^x = 8": "x = 3",
    "solve (1 + r)^3 = 8 over the reals": "r = 1",
    "solve x^4 = 1": "x = -1 or x = 1 or x = -I or x = I",
    "solve x^2 = 4 for x > 0": "x = 2",
    "solve x = x": "true for every value",
    "solve x^2 < 4": "-2 < x < 2",
    "solve x^2 - 4 >= 0": "x <= -2 or x >= 2",
    "solve 0 < x + 1 <= 3": "-1 < x <= 2",
    "solve 2x + 1 > 5": "x > 2",
}
OPTIMIZE = {
    "maximize x(10-x)": "maximum 25 at x = 5",
    "minimize x^2 - 4x + 1": "minimum -3 at x = 2",
    "Maximize -x^4 + 2x^2": "maximum 1 at x = -1 or x = 1",
    "maximize sin(x)": "maximum 1 at x = pi/2 ≈ 1.570796327",
    "minimize |x - 2|": "minimum 0 at x = 2",
    "maximize sin(x) + cos(x)": "maximum sqrt(2) ≈ 1.414213562 at x = pi/4 ≈ 0.7853981634",
    "maximize x^3 on [0, 2]": "maximum 8 at x = 2",
    "maximize x^2 for x in [-1, 2]": "maximum 4 at x = 2",
    "maximize 12x - x^2 for 0<=x<=10": "maximum 36 at x = 6",
    "maximize 12x - x^2 for 0<=x<=4": "maximum 32 at x = 4",
    "minimize x + 1/x for x > 0": "minimum 2 at x = 1",
    "maximize x*y subject to x + y = 10": "maximum 25 at x = 5, y = 5",
    "maximize x*y subject to x^2 + y^2 = 2": "maximum 1 at x = -1, y = -1 or x = 1, y = 1",
    "maximize 2x+3y subject to x + y = 4, x >= 0, y >= 0": "maximum 12 at x = 0, y = 4",
    "max of x(10-x)": "maximum 25 at x = 5",
    "maximize 5": "maximum 5 (the expression is constant)",
}
CALCULUS = {
    "simplify sin(x)^2 + cos(x)^2": "1",
    "factor x^2 - 1": "(x - 1)*(x + 1)",
    "factor 360": "2^3 * 3^2 * 5",
    "expand (x+1)^3": "x^3 + 3*x^2 + 3*x + 1",
    "integrate x^2 from 0 to 1": "1/3 ≈ 0.3333333333",
    "integrate x^2 dx from 0 to 1": "1/3 ≈ 0.3333333333",
    "integrate x^2 from x=0 to 1": "1/3 ≈ 0.3333333333",
    "integral of x^2 dx": "x^3/3 + C",
    "∫ x*e^x d x": "(x - 1)*exp(x) + C",
    "integrate sin(x) dx from 0 to pi": "2",
    "integrate e^(-x^2) from -oo to oo": "sqrt(pi) ≈ 1.772453851",
    "integrate x^x from 0 to 1": "0.7834305107",
    "integrate t^2 with respect to t": "t^3/3 + C",
    "integrate x^2, x, 0, 1": "1/3 ≈ 0.3333333333",
    "Integrate[x^2, {x, 0, 1}]": "1/3 ≈ 0.3333333333",
    "derivative of x^3": "3*x^2",
    "differentiate x*sin(x) with respect to x": "x*cos(x) + sin(x)",
    "d/dx x^3": "3*x^2",
    "d/dx(x^3)": "3*x^2",
    "d^2/dx^2 x^3": "6*x",
    "second derivative of x^4": "12*x^2",
    "derivative of x^3 at x = 2": "12",
    "derivative of x^2 y with respect to y": "x^2",
    "D[x^3, x]": "3*x^2",
    "limit sin(x)/x as x -> 0": "1",
    "lim x->0 sin(x)/x": "1",
    "limit of (x^2-1)/(x-1) as x approaches 1": "2",
    "limit (1+1/n)^n as n->oo": "E ≈ 2.718281828",
    "limit (1 + 1/x)^x as x->infinity": "E ≈ 2.718281828",
    "limit 1/x as x -> 0+": "oo",
    "limit 1/x as x -> 0": "no limit: -oo from the left, oo from the right",
    "limit sin(x) as x -> oo": "no limit: the values keep varying between -1 and 1",
    "sum k^2 for k from 1 to 10": "385",
    "sum k^2, k=1..10": "385",
    "sum i for i = 1 to 100": "5050",
    "sum k for k from 1 to n": "n^2/2 + n/2",
    "sum 1/k^2 for k from 1 to infinity": "pi^2/6 ≈ 1.644934067",
    "sum_{k=1}^{10} k": "55",
    "Sum[k^2, {k, 1, 10}]": "385",
    "product k for k from 1 to 5": "120",
    "evaluate x^2+1 at x=2": "5",
    "x^2 + y where x=2, y=3": "7",
}
LISTS = {
    "{1, 2, 3}": "{1, 2, 3}",
    "{1, 2} + {3, 4}": "{4, 6}",
    "{1, 2} * {3, 4}": "{3, 8}",
    "{1, 2} . {3, 4}": "11",
    "2 * {1, 2, 3}": "{2, 4, 6}",
    "{{1,2},{3,4}} . {{1,0},{0,1}}": "{{1, 2}, {3, 4}}",
    "{{1,2},{3,4}} * {{5,6},{7,8}}": "{{19, 22}, {43, 50}}",
    "{{1,1},{1,0}}^10": "{{89, 55}, {55, 34}}",
    "det {{1,2},{3,4}}": "-2",
    "inverse {{1,2},{3,4}}": "{{-2, 1}, {3/2, -1/2}} ≈ {{-2, 1}, {1.5, -0.5}}",
    "transpose {{1,2},{3,4}}": "{{1, 3}, {2, 4}}",
    "eigenvalues {{2,0},{0,3}}": "{2, 3}",
    "mean {1,2,3}": "2",
    "mean of 1, 2, 3, 4": "5/2 ≈ 2.5",
    "median {3, 1, 4, 1, 5}": "3",
    "sum {1,2,3}": "6",
    "max {3, 7, 2}": "7",
    "min of 4, 2, 8": "2",
    "sort {3, 1, 2}": "{1, 2, 3}",
    "variance {1,2,3,4}": "5/3 ≈ 1.666666667",
}
CONGRUENCES = {  # solved in integers: the least non-negative solution, then the modulus
    "solve n mod 7 = 3, n mod 9 = 2, n mod 5 = 1": "n = 101 + 315k (k an integer)",
    "solve 3x mod 7 = 2": "x = 3 + 7k (k an integer)",
    "solve x mod 4 = 1, x mod 6 = 3": "x = 9 + 12k (k an integer)",  # moduli not coprime
    "solve x mod 4 = 1, x mod 6 = 2": "no solution",
    "solve n ≡ 3 (mod 7) and n ≡ 4 (mod 5)": "n = 24 + 35k (k an integer)",
    "x = 2 mod 3, x = 3 mod 5": "x = 8 + 15k (k an integer)",
    "solve 2x % 6 = 4": "x = 2 + 3k (k an integer)",
    "solve 6k mod 4 = 0": "k = 2m (m an integer)",
    "solve n mod 7 = 9": "no solution",
    "y = x mod 3": "y = Mod(x, 3)",  # two unknowns: an equation, not a congruence
}
ANSWERS = PAPER | ARITHMETIC | SOLVE | OPTIMIZE | CALCULUS | LISTS | CONGRUENCES

ERRORS = {
    ")))": 'cannot read the query: unexpected ")"',
    "solve": 'cannot read the query: nothing after "solve"',
    "2 +": "cannot read the query: it ends too early",
    "(1 + 2": 'cannot read the query: expected ")", found the end',
    "import os": 'cannot read the query: "import" is not math',
    '__import__("os").system("id")': 'cannot read the query: "__import__" is not math',
    "x'); import os; ('": 'cannot read the query: unexpected "\'"',
    "2+2\nlambda: 1": 'cannot read the query: "lambda" is not math',
    "area of circle radius 5": (
        'cannot read the query: unknown word "area" (name variables x, y...)'
    ),
    "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((" * 20
    + "1": "cannot read the query: it is nested too deeply",
    "9^9^9^9": "the power is too large to compute exactly (more than 20,000 digits)",
    "2^100000": "the power is too large to compute exactly (more than 20,000 digits)",
    "100000!": "the factorial is too large to compute exactly (more than 20,000 digits)",
    "binomial(10^6, 500000)": (
        "the binomial coefficient is too large to compute exactly (more than 20,000 digits)"
    ),
    "x^(10^10) where x = 2": "the power is too large to compute exactly (more than 20,000 digits)",
    "expand (x+1)^100000": "the expansion is too large (a power above 1,000 of a sum)",
    "1/0": "division by zero",
    "solve x + y = 1, x + y = 2": "no solution found",
    "solve x^2 + 1 = 0 over the reals": "no solution found",
    "solve x^2 = 2 in integers": "no solution found",
    "maximize x^3": "no maximum: unbounded above",
    "maximize x on (0, 1)": "no maximum: the supremum 1 is approached as x -> 1 but not reached",
    "minimize e^x": "no minimum: the infimum 0 is approached as x -> -oo but not reached",
    "maximize x^2 + y^2": "only problems in one free variable are supported",
    "inverse {{1,2},{2,4}}": "inverse: Matrix det == 0; not invertible.",
    "{1, 2} + {1, 2, 3}": "the lists have different lengths (2 and 3)",
    "sqrt(1, 2)": "sqrt takes 1 argument(s)",
    "integrate sin(sin(x)) dx": "no closed form found for this integral",
    "solve x^2 mod 7 = 2": "only linear congruences are solved, e.g. solve 3x mod 7 = 2",
    "solve x mod 7 = 3, x > 5": "congruences cannot be mixed with other equations or inequalities",
}


async def _ask_all(
    service: SympyService, sandbox: Sandbox, queries: list[str]
) -> list[ServiceReply]:
    return await asyncio.gather(*(service.ask(q, sandbox=sandbox, limits=LIMITS) for q in queries))


@pytest.fixture(scope="module")
def replies(sandbox: Sandbox) -> dict[str, ServiceReply]:
    queries = [*ANSWERS, *ERRORS]
    return dict(zip(queries, asyncio.run(_ask_all(SympyService(), sandbox, queries)), strict=True))


@pytest.mark.parametrize("query", ANSWERS)
def test_answer(replies: dict[str, ServiceReply], query: str) -> None:
    reply = replies[query]
    assert (reply.text, reply.error) == (ANSWERS[query], None)
    assert reply.service == "sympy" and reply.query == query and reply.duration_s > 0


@pytest.mark.parametrize("query", ERRORS)
def test_error(replies: dict[str, ServiceReply], query: str) -> None:
    reply = replies[query]
    assert (reply.text, reply.error) == (None, ERRORS[query])


def test_slow_query_times_out_quickly(sandbox: Sandbox) -> None:
    service = SympyService(timeout_s=1.0)
    started = time.perf_counter()
    reply = asyncio.run(service.ask("expand (x+y+z+w)^300", sandbox=sandbox, limits=LIMITS))
    assert reply.error == "the computation took longer than 1 s"
    assert time.perf_counter() - started < 5


def test_query_is_never_read_in_this_process(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    import sympy  # type: ignore[import-untyped]
    import sympy.parsing.sympy_parser as parser  # type: ignore[import-untyped]

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the host parsed a query")

    monkeypatch.setattr(sympy, "sympify", refuse)
    monkeypatch.setattr(parser, "parse_expr", refuse)
    marker = tmp_path / "ran"
    hostile = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    service = SympyService()
    good, bad = asyncio.run(_ask_all(service, sandbox, ["solve x^2 = 9", hostile]))
    assert good.text == "x = -3 or x = 3"
    assert bad.error == 'cannot read the query: "__import__" is not math'
    assert not marker.exists()
    for part in PARTS:
        assert f"creator.services.{part}" not in sys.modules


def test_the_calculator_parts_define_each_name_once() -> None:
    """The parts run in one namespace: a name defined by two would silently replace the other."""
    box = _Box(ExecResult(stdout="ok\n2\n"))
    _ask(box, "1")
    defined: dict[str, str] = {}
    for part in box.jobs[0][0][:-1]:
        assert ast.get_docstring(ast.parse(part.code)), part.name
        for node in ast.parse(part.code).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names = [node.name]
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
            else:
                continue
            for name in set(names) - {"__all__"}:
                assert defined.setdefault(name, part.name) == part.name, (name, part.name)


class _Box:
    """A stand-in sandbox: records each job and answers with a fixed result."""

    isolation = "test"

    def __init__(self, result: ExecResult) -> None:
        self.result = result
        self.jobs: list[tuple[list[CodePart], Limits | None]] = []

    async def run(self, parts: Sequence[CodePart], *, limits: Limits | None = None) -> ExecResult:
        self.jobs.append((list(parts), limits))
        return self.result

    def run_sync(self, parts: Sequence[CodePart], *, limits: Limits | None = None) -> ExecResult:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None

    def close(self) -> None:
        return None


def _ask(box: _Box, query: str, limits: Limits = LIMITS, **options: float) -> ServiceReply:
    return asyncio.run(SympyService(**options).ask(query, sandbox=box, limits=limits))


def test_is_a_tool_service() -> None:
    service = SympyService()
    assert isinstance(service, ToolService) and service.name == "sympy"
    assert isinstance(_Box(ExecResult()), Sandbox)


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("", "the query is empty"),
        (" \n\t ", "the query is empty"),
        ("1+" * 1_500, "the query is too long (3,000 characters; at most 2,000)"),
    ],
)
def test_refused_without_running(query: str, error: str) -> None:
    box = _Box(ExecResult(stdout="ok\n1\n"))
    reply = _ask(box, query)
    assert (reply.text, reply.error, box.jobs) == (None, error, [])
    assert len("1+" * 1_000) == QUERY_CAP  # the longest query that is sent


def test_sends_the_calculator_and_the_query_as_a_literal() -> None:
    box = _Box(ExecResult(stdout="ok\n2\n"))
    reply = _ask(box, "  1 + 1 'quoted' \\ \n", Limits(timeout_s=3.0, memory_mb=300))
    assert reply.text == "2" and reply.query == "  1 + 1 'quoted' \\ \n"
    parts, limits = box.jobs[0]
    assert [p.name for p in parts] == [*PARTS, "query"]
    assert parts[-1].code == "main(\"1 + 1 'quoted' \\\\\")"
    assert "def main(query: str) -> None:" in parts[-2].code
    assert limits is not None and (limits.timeout_s, limits.memory_mb) == (3.0, 300)
    _ask(box, "1", Limits(timeout_s=60.0))
    assert box.jobs[1][1] is not None and box.jobs[1][1].timeout_s == 10.0


@pytest.mark.parametrize(
    ("result", "error"),
    [
        (ExecResult(timed_out=True), "the computation took longer than 10 s"),
        (ExecResult(memory_exceeded=True), "the computation used too much memory"),
        (ExecResult(stdout="error\nno solution found\n"), "no solution found"),
        (
            ExecResult(exit_code=1, traceback='File "cas", line 3\nKeyError: 1\n'),
            "the computation failed: KeyError: 1",
        ),
        (ExecResult(exit_code=-9), "the computation failed: process exited with status -9"),
        (ExecResult(stdout="something else\n"), "the computation failed: no output"),
        (ExecResult(stdout="ok\n"), "the computation failed: no output"),
    ],
)
def test_outcomes_become_one_line_errors(result: ExecResult, error: str) -> None:
    reply = _ask(_Box(result), "1")
    assert (reply.text, reply.error) == (None, error)


def test_long_answers_are_clipped() -> None:
    reply = _ask(_Box(ExecResult(stdout="ok\n" + "7" * 10_000 + "\n")), "1")
    assert reply.text is not None and len(reply.text) <= REPLY_CAP
    assert reply.text.startswith("777") and "characters cut" in reply.text
