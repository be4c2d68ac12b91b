"""Reading a created tool without running it: its functions, and a canonical form for dedupe.

Everything here works on the syntax tree (:func:`ast.parse`); no code is compiled into a code
object, executed or imported, so it is safe on untrusted tool code (such as an imported file).

The canonical form of a tool is its syntax tree with

- every string statement that does nothing removed (docstrings, and strings used as comments;
  a body left empty gets ``pass``); ``#`` comments and formatting are not in the tree at all;
- the local names of each function (arguments, assigned variables, loop and ``with`` targets,
  ``except ... as`` names, nested function names, lambda and comprehension variables) renamed
  to ``v0, v1, ...`` in order of first appearance, counted afresh for each top-level function
  or method. Globals, builtins, imported modules, attribute names, keyword names in calls and
  the names of top-level functions, classes and methods are kept: they are what the tool *does*.

then dumped (:func:`ast.dump`) and hashed with sha256. Two tools that differ only in
docstrings, comments, whitespace or local names get one hash; any other change gives another.

Deliberately left out: semantic equivalence beyond renaming (``a + b`` and ``b + a``, or two
algorithms for the same thing, hash apart); renaming keyword arguments at call sites when a
parameter of a tool's own function is renamed (such tools hash apart, which is only a missed
merge); names bound by ``import`` inside a function are kept, not renamed.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from creator.errors import InputError

__all__ = [
    "MAX_CODE_CHARS",
    "NormalisedTool",
    "ToolFunction",
    "canonical_form",
    "normalise_tool",
]

MAX_CODE_CHARS = 200_000
"""Longer tool code is refused: a created tool is a few dozen lines."""

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclass(frozen=True, slots=True)
class ToolFunction:
    """One top-level function or class of a tool: ``signature`` reads like ``f(a, b=1) -> int``."""

    name: str
    signature: str
    docstring: str


@dataclass(frozen=True, slots=True)
class NormalisedTool:
    """What :func:`normalise_tool` learns from tool code.

    ``main`` is the tool's entry point: the first top-level function or class that no other
    top-level definition refers to (helpers are referred to by the function that uses them),
    preferring one with a docstring.
    """

    functions: tuple[ToolFunction, ...]
    main: ToolFunction
    canonical: str
    code_hash: str


def _parse(code: str) -> ast.Module:
    if len(code) > MAX_CODE_CHARS:
        raise InputError(
            f"the tool code is too long ({len(code)} characters; at most {MAX_CODE_CHARS})"
        )
    try:
        return ast.parse(code)
    except SyntaxError as exc:
        where = f" (line {exc.lineno})" if exc.lineno else ""
        raise InputError(f"the tool code does not parse: {exc.msg}{where}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"the tool code does not parse: {detail}") from None


# functions -----------------------------------------------------------------------------------


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    if isinstance(node, ast.ClassDef):
        init = next((n for n in node.body if isinstance(n, _DEFS) and n.name == "__init__"), None)
        if init is None:
            return f"{node.name}()"
        args = copy.copy(init.args)
        positional = args.posonlyargs or args.args
        if positional:  # drop ``self``
            if args.posonlyargs:
                args.posonlyargs = args.posonlyargs[1:]
            else:
                args.args = args.args[1:]
        return f"{node.name}({ast.unparse(args)})"
    text = f"{node.name}({ast.unparse(node.args)})"
    if node.returns is not None:
        text += f" -> {ast.unparse(node.returns)}"
    if isinstance(node, ast.AsyncFunctionDef):
        text = "async " + text
    return text


def _main(
    defs: list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef], functions: list[ToolFunction]
) -> ToolFunction:
    referenced: set[str] = set()
    for node in defs:
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        referenced |= used - {node.name}
    candidates = [f for f in functions if f.name not in referenced] or functions
    documented = [f for f in candidates if f.docstring]
    return (documented or candidates)[0]


# canonical form ------------------------------------------------------------------------------


def _strip_strings(tree: ast.AST) -> None:
    """Remove string statements that do nothing (docstrings, string comments), in place."""
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if not isinstance(body, list) or not body or not isinstance(body[0], ast.stmt):
                continue
            kept = [
                s
                for s in body
                if not (
                    isinstance(s, ast.Expr)
                    and isinstance(s.value, ast.Constant)
                    and isinstance(s.value.value, str)
                )
            ]
            if not kept and field == "body" and not isinstance(node, ast.Module):
                kept = [ast.Pass()]
            setattr(node, field, kept)


def _walk_scope(node: ast.AST) -> Iterator[ast.AST]:
    """Nodes evaluated in ``node``'s own scope, depth-first in source order.

    Nested function, lambda and comprehension scopes are not entered, except for the parts
    evaluated in this scope (decorators, defaults, the first iterable of a comprehension) and
    walrus targets, which bind in the enclosing function.
    """
    for child in ast.iter_child_nodes(node):
        yield child
        if isinstance(child, _DEFS):
            for part in (*child.decorator_list, *child.args.defaults, *child.args.kw_defaults):
                if part is not None:
                    yield part
                    yield from _walk_scope(part)
        elif isinstance(child, ast.Lambda):
            for part in (*child.args.defaults, *child.args.kw_defaults):
                if part is not None:
                    yield part
                    yield from _walk_scope(part)
        elif isinstance(child, _COMPREHENSIONS):
            first = child.generators[0].iter
            yield first
            yield from _walk_scope(first)
            for sub in ast.walk(child):
                if isinstance(sub, ast.NamedExpr):
                    yield sub.target
        elif isinstance(child, ast.ClassDef):
            for expr in (*child.decorator_list, *child.bases, *child.keywords):
                yield expr
                yield from _walk_scope(expr)
        else:
            yield from _walk_scope(child)


def _arguments(args: ast.arguments) -> list[ast.arg]:
    found = [*args.posonlyargs, *args.args]
    if args.vararg is not None:
        found.append(args.vararg)
    found.extend(args.kwonlyargs)
    if args.kwarg is not None:
        found.append(args.kwarg)
    return found


def _local_names(scope: ast.AST) -> tuple[list[str], set[str]]:
    """The names bound in ``scope`` in order of first appearance, and its ``global`` names."""
    order: list[str] = []
    declared_global: set[str] = set()
    kept: set[str] = set()  # nonlocal and imported names are not this scope's to rename

    def bind(name: str | None) -> None:
        if name is not None and name not in order:
            order.append(name)

    if isinstance(scope, (*_DEFS, ast.Lambda)):
        for arg in _arguments(scope.args):
            bind(arg.arg)
        nodes: Iterator[ast.AST] = _walk_scope(scope)
    else:  # a comprehension: its targets
        assert isinstance(scope, _COMPREHENSIONS)
        nodes = (n for gen in scope.generators for n in ast.walk(gen.target))
    for node in nodes:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bind(node.id)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
            bind(node.name)
        elif isinstance(node, ast.MatchMapping):
            bind(node.rest)
        elif isinstance(node, (*_DEFS, ast.ClassDef)) and node is not scope:
            bind(node.name)
        elif isinstance(node, ast.Global):
            declared_global.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            kept.update(node.names)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            kept.update((a.asname or a.name).split(".")[0] for a in node.names)
    excluded = declared_global | kept
    return [n for n in order if n not in excluded], declared_global


class _Renamer:
    """Renames local names scope by scope; ``counter`` numbers one top-level function's names."""

    def __init__(self) -> None:
        self.counter = itertools.count()

    def enter(self, scope: ast.AST, outer: dict[str, str]) -> dict[str, str]:
        names, declared_global = _local_names(scope)
        mapping = {k: v for k, v in outer.items() if k not in declared_global}
        for name in names:
            mapping[name] = f"v{next(self.counter)}"
        return mapping

    def visit(self, node: ast.AST, mapping: dict[str, str]) -> None:
        if isinstance(node, _DEFS):
            self._function(node, mapping)
        elif isinstance(node, ast.Lambda):
            self._arguments_outer(node.args, mapping)
            inner = self.enter(node, mapping)
            self._arguments_inner(node.args, inner)
            self.visit(node.body, inner)
        elif isinstance(node, _COMPREHENSIONS):
            self.visit(node.generators[0].iter, mapping)
            inner = self.enter(node, mapping)
            for i, gen in enumerate(node.generators):
                self.visit(gen.target, inner)
                if i:
                    self.visit(gen.iter, inner)
                for cond in gen.ifs:
                    self.visit(cond, inner)
            for part in ("elt", "key", "value"):
                if hasattr(node, part):
                    self.visit(getattr(node, part), inner)
        elif isinstance(node, ast.ClassDef):
            node.name = mapping.get(node.name, node.name)
            for expr in (*node.decorator_list, *node.bases, *node.keywords):
                self.visit(expr, mapping)
            # names bound in the class body are attributes: never renamed there; methods skip
            # the class scope and see the enclosing function's names, but keep their own names
            bound = {
                n.id
                for s in node.body
                if not isinstance(s, _DEFS)
                for n in ast.walk(s)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            } | {s.name for s in node.body if isinstance(s, (*_DEFS, ast.ClassDef))}
            body_mapping = {k: v for k, v in mapping.items() if k not in bound}
            for stmt in node.body:
                if isinstance(stmt, _DEFS):
                    name = stmt.name
                    self.visit(stmt, mapping)
                    stmt.name = name
                else:
                    self.visit(stmt, body_mapping)
        elif isinstance(node, ast.Name):
            node.id = mapping.get(node.id, node.id)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
            if node.name is not None:
                node.name = mapping.get(node.name, node.name)
            self._children(node, mapping)
        elif isinstance(node, ast.MatchMapping):
            if node.rest is not None:
                node.rest = mapping.get(node.rest, node.rest)
            self._children(node, mapping)
        elif isinstance(node, ast.Nonlocal):
            node.names = [mapping.get(n, n) for n in node.names]
        else:
            self._children(node, mapping)

    def _children(self, node: ast.AST, mapping: dict[str, str]) -> None:
        for child in ast.iter_child_nodes(node):
            self.visit(child, mapping)

    def _arguments_outer(self, args: ast.arguments, mapping: dict[str, str]) -> None:
        for default in (*args.defaults, *args.kw_defaults):
            if default is not None:
                self.visit(default, mapping)

    def _arguments_inner(self, args: ast.arguments, inner: dict[str, str]) -> None:
        for arg in _arguments(args):
            arg.arg = inner.get(arg.arg, arg.arg)

    def _function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, mapping: dict[str, str]
    ) -> None:
        node.name = mapping.get(node.name, node.name)
        for decorator in node.decorator_list:
            self.visit(decorator, mapping)
        self._arguments_outer(node.args, mapping)
        for arg in _arguments(node.args):
            if arg.annotation is not None:
                self.visit(arg.annotation, mapping)
        if node.returns is not None:
            self.visit(node.returns, mapping)
        inner = self.enter(node, mapping)
        self._arguments_inner(node.args, inner)
        for stmt in node.body:
            self.visit(stmt, inner)


def _canonical(tree: ast.Module) -> str:
    tree = copy.deepcopy(tree)
    _strip_strings(tree)
    for stmt in tree.body:
        if isinstance(stmt, _DEFS):
            _Renamer().visit(stmt, {})
        elif isinstance(stmt, ast.ClassDef):
            for part in (*stmt.decorator_list, *stmt.bases, *stmt.keywords):
                _Renamer().visit(part, {})
            for member in stmt.body:
                _Renamer().visit(member, {})  # a fresh count per method
        else:
            _Renamer().visit(stmt, {})  # module level: only lambdas and comprehensions rename
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


# public --------------------------------------------------------------------------------------


def canonical_form(code: str) -> str:
    """The canonical dump of ``code`` (see the module docstring); InputError if unparsable."""
    tree = _parse(code)
    try:
        return _canonical(tree)
    except RecursionError:
        raise InputError("the tool code is nested too deeply to normalise") from None


def normalise_tool(code: str) -> NormalisedTool:
    """Functions, entry point, canonical form and hash of tool ``code``; never runs it.

    Raises :class:`~creator.errors.InputError` when the code does not parse or defines no
    top-level function or class.
    """
    tree = _parse(code)
    defs = [n for n in tree.body if isinstance(n, (*_DEFS, ast.ClassDef))]
    if not defs:
        raise InputError("the tool code defines no top-level function or class")
    functions = [ToolFunction(n.name, _signature(n), ast.get_docstring(n) or "") for n in defs]
    try:
        canonical = _canonical(tree)
    except RecursionError:
        raise InputError("the tool code is nested too deeply to normalise") from None
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return NormalisedTool(tuple(functions), _main(defs, functions), canonical, digest)
