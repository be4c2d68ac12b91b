"""Python-printed math (what a program's ``print`` shows) rewritten as LaTeX, without running it.

Programs print sympy and Python values (``2*sqrt(3)``, ``pi/2``, ``x**2 - 1``, ``Rational(3, 4)``,
``Interval.open(-oo, 3)``, ``Matrix([[1, 2]])``, ``1e-05``), which a LaTeX reader misreads
(``pi`` as p*i, ``oo`` as o*o). :func:`python_to_latex` parses the text with :func:`ast.parse`
(parsing only, nothing is evaluated) and renders a whitelisted subset of the tree as LaTeX.

Left out: anything outside the whitelist (attribute access, subscripts, keyword arguments,
unknown functions or multi-letter names) - the text is then left as it is.
"""

from __future__ import annotations

import ast

__all__ = ["python_to_latex"]

_MAX_CHARS = 1000
_ATOM, _POWER, _UNARY, _PRODUCT, _SUM = 4, 3, 2, 1, 0
_NAMES = {
    "pi": r"\pi",
    "oo": r"\infty",
    "inf": r"\infty",
    "infinity": r"\infty",
    "E": "e",
    "I": "i",
}
_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "theta", "mu", "nu", "rho", "sigma", "tau",
    "phi", "psi", "omega",
}  # fmt: skip
_FUNCTIONS = {
    "sin": r"\sin", "cos": r"\cos", "tan": r"\tan", "cot": r"\cot", "sec": r"\sec",
    "csc": r"\csc", "asin": r"\arcsin", "acos": r"\arccos", "atan": r"\arctan", "log": r"\ln",
    "ln": r"\ln", "sinh": r"\sinh", "cosh": r"\cosh", "tanh": r"\tanh",
}  # fmt: skip
_PASS_THROUGH = {"Integer", "Float", "int", "float", "N", "nsimplify", "simplify", "S"}
_NUMPY_SCALARS = {"float64", "float32", "float16", "int64", "int32", "int16", "int8", "float_"}
_COMPARE = {ast.Lt: "<", ast.LtE: r"\le", ast.Gt: ">", ast.GtE: r"\ge", ast.NotEq: r"\ne"}
_INTERVALS = {"open": ("(", ")"), "Lopen": ("(", "]"), "Ropen": ("[", ")")}


class _Unsupported(Exception):
    pass


def python_to_latex(text: str, *, list_is_values: bool = True) -> str | None:
    """LaTeX for a Python/sympy-printed expression, or None if it is not one (or needs no help).

    Only text that uses Python-only notation (``*``, ``**``, a function call, ``pi``, ``oo``,
    ``I``, a Python set, ``1e-05``, ``2j``) is rewritten; ``1/2`` or ``(1, 2)`` read the same
    in LaTeX and are left alone. A top-level list ``[a, b]`` (what ``sympy.solve`` prints) is
    the bare list of values ``a, b`` when ``list_is_values``, else left as ``[a, b]`` (which
    LaTeX readers take for a closed interval).
    """
    if not text or len(text) > _MAX_CHARS or "\\" in text:
        return None
    try:
        tree = ast.parse(text.strip(), mode="eval")
        renderer = _Renderer(text.strip(), list_is_values=list_is_values)
        latex, _ = renderer.render(tree.body, top=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, _Unsupported):
        return None
    return latex if renderer.pythonic else None


class _Renderer:
    def __init__(self, source: str, *, list_is_values: bool) -> None:
        self.source = source
        self.list_is_values = list_is_values
        self.pythonic = False

    def render(self, node: ast.expr, *, top: bool = False) -> tuple[str, int]:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise _Unsupported(type(node).__name__)
        result: tuple[str, int] = method(node, top)
        return result

    def _wrap(self, node: ast.expr, minimum: int) -> str:
        latex, level = self.render(node)
        return latex if level >= minimum else rf"\left({latex}\right)"

    def _Constant(self, node: ast.Constant, top: bool) -> tuple[str, int]:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float | complex):
            raise _Unsupported("constant")
        if isinstance(value, int):
            return str(value), _ATOM
        if isinstance(value, complex):
            self.pythonic = True
            if value.real:
                raise _Unsupported("complex literal with a real part")
            return f"{self._float(value.imag)} i", _PRODUCT
        return self._float(value), _ATOM if "times" not in self._float(value) else _PRODUCT

    def _float(self, value: float) -> str:
        if value != value or value in (float("inf"), float("-inf")):
            raise _Unsupported("non-finite float")
        text = repr(value)
        if "e" not in text:
            return text.removesuffix(".0") if text.endswith(".0") else text
        self.pythonic = True
        mantissa, _, exponent = text.partition("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"

    def _Name(self, node: ast.Name, top: bool) -> tuple[str, int]:
        if node.id in _NAMES:
            self.pythonic = True
            return _NAMES[node.id], _ATOM
        if node.id in _GREEK:
            self.pythonic = True
            return f"\\{node.id}", _ATOM
        if len(node.id) == 1 and node.id.isascii() and node.id.isalpha():
            return node.id, _ATOM
        raise _Unsupported(f"name {node.id}")

    def _UnaryOp(self, node: ast.UnaryOp, top: bool) -> tuple[str, int]:
        if isinstance(node.op, ast.USub):
            return "-" + self._wrap(node.operand, _PRODUCT), _UNARY
        if isinstance(node.op, ast.UAdd):
            return self.render(node.operand)
        raise _Unsupported("unary operator")

    def _BinOp(self, node: ast.BinOp, top: bool) -> tuple[str, int]:
        op = node.op
        if isinstance(op, ast.Add | ast.Sub):
            left = self._wrap(node.left, _SUM)
            right, level = self.render(node.right)
            if (level == _SUM and isinstance(op, ast.Sub)) or level == _UNARY:
                right = rf"\left({right}\right)"
            return f"{left} {'+' if isinstance(op, ast.Add) else '-'} {right}", _SUM
        if isinstance(op, ast.Mult):
            self.pythonic = True
            return rf"{self._wrap(node.left, _PRODUCT)} \cdot {self._wrap(node.right, _POWER)}", (
                _PRODUCT
            )
        if isinstance(op, ast.Div):
            num, _ = self.render(node.left)
            den, _ = self.render(node.right)
            return rf"\frac{{{num}}}{{{den}}}", _ATOM
        if isinstance(op, ast.Pow):
            self.pythonic = True
            exponent, _ = self.render(node.right)
            return f"{self._wrap(node.left, _ATOM)}^{{{exponent}}}", _POWER
        raise _Unsupported("binary operator")

    def _Compare(self, node: ast.Compare, top: bool) -> tuple[str, int]:
        parts = [self.render(node.left)[0]]
        for op, right in zip(node.ops, node.comparators, strict=True):
            symbol = _COMPARE.get(type(op))
            if symbol is None:
                raise _Unsupported("comparison")
            parts += [symbol, self.render(right)[0]]
        return " ".join(parts), _SUM

    def _items(self, nodes: list[ast.expr]) -> str:
        return ", ".join(self.render(item)[0] for item in nodes)

    def _Tuple(self, node: ast.Tuple, top: bool) -> tuple[str, int]:
        parenthesised = self.source[node.col_offset : node.col_offset + 1] == "("
        if top and not parenthesised:
            return self._items(node.elts), _SUM
        return f"({self._items(node.elts)})", _ATOM

    def _List(self, node: ast.List, top: bool) -> tuple[str, int]:
        if not top:
            raise _Unsupported("nested list")
        if self.list_is_values:
            self.pythonic = True
            return self._items(node.elts), _SUM
        return f"[{self._items(node.elts)}]", _ATOM

    def _Set(self, node: ast.Set, top: bool) -> tuple[str, int]:
        self.pythonic = True
        return rf"\{{{self._items(node.elts)}\}}", _ATOM

    def _Call(self, node: ast.Call, top: bool) -> tuple[str, int]:
        if node.keywords:
            raise _Unsupported("keyword arguments")
        self.pythonic = True
        args = node.args
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            owner, attr = func.value.id, func.attr
            if owner in ("np", "numpy") and attr in _NUMPY_SCALARS and len(args) == 1:
                return self.render(args[0])
            if owner == "Interval" and attr in _INTERVALS and len(args) == 2:
                left, right = _INTERVALS[attr]
                return f"{left}{self._items(args)}{right}", _ATOM
            raise _Unsupported("method call")
        if not isinstance(func, ast.Name):
            raise _Unsupported("call")
        name = func.id
        if name in _PASS_THROUGH and len(args) == 1:
            return self.render(args[0])
        if name in _FUNCTIONS and len(args) == 1:
            return rf"{_FUNCTIONS[name]}\left({self.render(args[0])[0]}\right)", _ATOM
        if name in ("Rational", "Fraction") and len(args) == 2:
            return rf"\frac{{{self.render(args[0])[0]}}}{{{self.render(args[1])[0]}}}", _ATOM
        if name == "sqrt" and len(args) == 1:
            return rf"\sqrt{{{self.render(args[0])[0]}}}", _ATOM
        if name in ("cbrt", "root") and len(args) == (1 if name == "cbrt" else 2):
            degree = "3" if name == "cbrt" else self.render(args[1])[0]
            return rf"\sqrt[{degree}]{{{self.render(args[0])[0]}}}", _ATOM
        if name == "exp" and len(args) == 1:
            return f"e^{{{self.render(args[0])[0]}}}", _POWER
        if name == "Abs" and len(args) == 1:
            return rf"\left|{self.render(args[0])[0]}\right|", _ATOM
        if name in ("factorial", "binomial", "Eq", "Interval", "Union", "FiniteSet", "Matrix"):
            return self._sympy_call(name, args)
        raise _Unsupported(f"function {name}")

    def _sympy_call(self, name: str, args: list[ast.expr]) -> tuple[str, int]:
        if name == "factorial" and len(args) == 1:
            return f"{self._wrap(args[0], _ATOM)}!", _ATOM
        if name == "binomial" and len(args) == 2:
            return rf"\binom{{{self.render(args[0])[0]}}}{{{self.render(args[1])[0]}}}", _ATOM
        if name == "Eq" and len(args) == 2:
            return f"{self.render(args[0])[0]} = {self.render(args[1])[0]}", _SUM
        if name == "Interval" and 2 <= len(args) <= 4:
            flags = [_flag(arg) for arg in args[2:]] + [False] * (4 - len(args))
            left, right = "(" if flags[0] else "[", ")" if flags[1] else "]"
            return f"{left}{self._items(args[:2])}{right}", _ATOM
        if name == "Union" and args:
            return r" \cup ".join(self.render(arg)[0] for arg in args), _SUM
        if name == "FiniteSet":
            return rf"\{{{self._items(args)}\}}", _ATOM
        if name == "Matrix" and len(args) == 1 and isinstance(args[0], ast.List):
            lines = []
            for row in args[0].elts:  # Matrix([[1, 2], [3, 4]]), or a column Matrix([1, 2])
                cells = row.elts if isinstance(row, ast.List) else [row]
                lines.append(" & ".join(self.render(cell)[0] for cell in cells))
            body = r" \\ ".join(lines)
            return rf"\begin{{pmatrix}} {body} \end{{pmatrix}}", _ATOM
        raise _Unsupported(f"{name} with {len(args)} arguments")


def _flag(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in ("true", "false"):
        return node.id == "true"
    raise _Unsupported("interval flag")
