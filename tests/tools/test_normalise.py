"""Normalisation: what makes two tools the same, read from the syntax tree only."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest

from creator.errors import InputError
from creator.tools import canonical_form, normalise_tool

BASE = '''
import math

def compound_interest(principal, rate, years, periods=1):
    """Interest earned on ``principal`` compounded ``periods`` times a year."""
    amount = principal * (1 + rate / periods) ** (periods * years)
    return round(amount - principal, 2)
'''

SAME = [
    # docstring gone, comments, blank lines and spacing changed
    """
import math
# a tool
def compound_interest(principal,rate,years,periods=1):

    amount=principal*(1+rate/periods)**(periods*years)  # the total
    return round(amount-principal,2)
""",
    # every local and argument renamed, another docstring, a string used as a comment
    '''
import math

def compound_interest(p, r, t, n=1):
    """Something else entirely."""
    "first the amount"
    a = p * (1 + r / n) ** (n * t)
    return round(a - p, 2)
''',
]

DIFFERENT = [
    BASE.replace("amount - principal", "amount + principal"),
    BASE.replace("round(amount - principal, 2)", "round(amount - principal, 3)"),
    BASE.replace("round(", "math.floor("),
    BASE.replace("def compound_interest", "def simple_interest"),
    BASE.replace("import math", "import cmath"),
    BASE.replace("(periods * years)", "(years * periods)"),
]


def test_equal_under_docstrings_comments_whitespace_and_local_names() -> None:
    base = normalise_tool(BASE)
    for variant in SAME:
        assert normalise_tool(variant).code_hash == base.code_hash, variant


def test_different_logic_hashes_apart() -> None:
    hashes = {normalise_tool(code).code_hash for code in [BASE, *DIFFERENT]}
    assert len(hashes) == 1 + len(DIFFERENT)


def test_renaming_is_positional_not_a_collapse() -> None:
    a = normalise_tool("def f(a, b):\n    return a - b\n")
    b = normalise_tool("def f(b, a):\n    return a - b\n")
    c = normalise_tool("def f(x, y):\n    return x - y\n")
    assert a.code_hash != b.code_hash
    assert a.code_hash == c.code_hash


def test_globals_builtins_attributes_and_keywords_are_kept() -> None:
    base = "def f(x):\n    return x + LIMIT\n"
    assert normalise_tool(base).code_hash != normalise_tool(base.replace("LIMIT", "CAP")).code_hash
    calls = "def f(x):\n    return sorted(x, key=abs).count(1)\n"
    for old, new in (("sorted(", "min("), ("key=abs", "key=len"), (".count(", ".index(")):
        changed = normalise_tool(calls.replace(old, new))
        assert changed.code_hash != normalise_tool(calls).code_hash, new
    glob = "def f(x):\n    global total\n    total = x\n"
    assert "total" in canonical_form(glob)


def test_nested_scopes_rename_consistently() -> None:
    a = """
def solve(values, k):
    def helper(item):
        return item * k
    pick = lambda q: q + 1
    squares = {n: helper(n) for n in values if n}
    try:
        best = max(squares)
    except ValueError as err:
        best = str(err)
    for idx, (left, right) in enumerate(zip(values, values)):
        best = pick(best) if (tmp := left + right) else tmp
    return best
"""
    b = (
        a.replace("values", "vs").replace("helper", "h").replace("item", "it")
        .replace("pick", "p").replace("q:", "z:").replace("q +", "z +")
        .replace("squares", "sq").replace("err", "e").replace("best", "out")
        .replace("idx", "i").replace("left", "l").replace("right", "r").replace("tmp", "t")
    )  # fmt: skip
    b = b.replace("{n: h(n) for n in vs if n}", "{m: h(m) for m in vs if m}")
    assert normalise_tool(a).code_hash == normalise_tool(b).code_hash


def test_methods_and_classes() -> None:
    a = '''
class Account:
    """A bank account."""
    rate = 0.05

    def __init__(self, balance):
        self.balance = balance

    def grow(self, years):
        total = self.balance * (1 + self.rate) ** years
        return total
'''
    b = a.replace("balance)", "b)").replace("= balance", "= b").replace("total", "t")
    b = b.replace("years", "n").replace('"""A bank account."""', "# no docstring")
    assert normalise_tool(a).code_hash == normalise_tool(b).code_hash
    assert (
        normalise_tool(a).code_hash
        != normalise_tool(a.replace("rate = 0.05", "rate = 0.5")).code_hash
    )
    tool = normalise_tool(a)
    assert tool.main.signature == "Account(balance)"
    assert tool.main.docstring == "A bank account."


def test_functions_signatures_and_main() -> None:
    code = '''
def _helper(x: float) -> float:
    """Square."""
    return x * x

def hypotenuse(a: float, b: float = 1.0, *, exact: bool = False) -> float:
    """Length of the hypotenuse."""
    return (_helper(a) + _helper(b)) ** 0.5

async def fetch(*args, **kw):
    pass
'''
    tool = normalise_tool(code)
    assert [f.name for f in tool.functions] == ["_helper", "hypotenuse", "fetch"]
    assert tool.main.name == "hypotenuse"  # documented and not used by another function
    assert (
        tool.main.signature == "hypotenuse(a: float, b: float=1.0, *, exact: bool=False) -> float"
    )
    assert tool.functions[2].signature == "async fetch(*args, **kw)"
    assert tool.main.docstring == "Length of the hypotenuse."


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("def f(:\n    pass\n", "does not parse"),
        ("x = 1\nprint(x)\n", "defines no top-level function"),
        ("def f():\n\treturn 1\n        return 2\n", "does not parse"),
        ("a = '\x00'\ndef f(): pass\n", "does not parse"),
        ("def f():\n    return " + "(" * 300 + "1" + ")" * 300 + "\n", "parse"),
    ],
)
def test_bad_code_is_a_one_line_input_error(code: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        normalise_tool(code)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_normalising_never_runs_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "ran"
    code = (
        f"open({str(marker)!r}, 'w').write('top level')\n"
        f"@__import__('pathlib').Path({str(marker)!r}).touch\n"
        f"def tool(x=open({str(marker)!r}, 'w')):\n"
        f"    open({str(marker)!r}, 'w').write('body')\n"
    )
    real_compile = builtins.compile

    def ast_only_compile(source, filename, mode, flags=0, *args, **kwargs):
        assert flags & 0x400, "compiled to a code object"  # ast.PyCF_ONLY_AST
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("exec/eval called")

    monkeypatch.setattr(builtins, "compile", ast_only_compile)
    monkeypatch.setattr(builtins, "exec", refuse)
    monkeypatch.setattr(builtins, "eval", refuse)
    tool = normalise_tool(code)
    assert tool.main.name == "tool"
    assert not marker.exists()
