"""Taking code out of a model's reply.

Rules, in order:

1. Fenced blocks (```python, ```py, ```python3 or bare ```), joined in reply order. A block
   tagged with another language (```text, ```output, ```bash) is not code. A bare block that
   does not parse while another block does is dropped: models (and the Creation Challenge's
   recorded solutions) often follow their code with a bare block showing the expected output.
   A block introduced by an output label (a line such as ``Output:`` or ``Expected result:``
   right before it) shows what the code prints and is dropped even when tagged python.
   A block left open at the end of a reply (cut off by the token limit) is kept as is.
2. No fences: the whole reply, if it parses as Python and has at least one statement that is
   more than a bare name or constant (so ``hello`` or ``42`` is not mistaken for code).
3. Otherwise there is no code (``None``); the caller counts that as a failed round.

Prose before the first fence never loses the code after it. Executing code is not done here
(see :mod:`creator.sandbox`), nor is reading answers from output (see :mod:`creator.answers`).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

__all__ = ["CodeBlock", "extract_code", "find_blocks", "function_names", "parses", "prose"]

_FENCE = re.compile(r"^[ \t]*```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*$", re.MULTILINE)
_PYTHON_TAGS = frozenset({"python", "py", "python3", "py3", "ipython", "pycon"})
_OUTPUT_LABEL = re.compile(
    r"^[\s*_#>]*(?:the\s+)?(?:expected\s+|sample\s+|console\s+|program\s+)?"
    r"(?:output|result|results|prints?)\b[^\n]{0,40}:[\s*_]*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """One fenced block: its language tag (lower-case, possibly empty) and body."""

    lang: str
    body: str
    closed: bool = True
    labelled_output: bool = False
    """The prose line right before the block labels it as output (``Output:``)."""

    @property
    def is_python(self) -> bool:
        return self.lang in _PYTHON_TAGS

    @property
    def is_bare(self) -> bool:
        return self.lang == ""


def find_blocks(reply: str) -> list[CodeBlock]:
    """All fenced blocks of ``reply`` in order, an unclosed last block included."""
    blocks: list[CodeBlock] = []
    fences = list(_FENCE.finditer(reply))
    i = 0
    prose_start = 0
    while i < len(fences):
        opening = fences[i]
        before = reply[prose_start : opening.start()].strip().splitlines()
        output = bool(before) and bool(_OUTPUT_LABEL.match(before[-1]))
        start = opening.end() + 1
        lang = opening.group(1).lower()
        if i + 1 < len(fences):
            closing = fences[i + 1]
            body = reply[start : closing.start()].rstrip("\n ")
            blocks.append(CodeBlock(lang, body, labelled_output=output))
            prose_start = closing.end()
            i += 2
        else:
            body = reply[start:] if start <= len(reply) else ""
            blocks.append(CodeBlock(lang, body.rstrip("\n "), closed=False, labelled_output=output))
            i += 1
    return blocks


def prose(reply: str) -> str:
    """``reply`` without its fenced blocks and their fence lines, fenced as
    :func:`find_blocks` reads them (an unclosed last block runs to the end)."""
    fences = list(_FENCE.finditer(reply))
    kept: list[str] = []
    start = 0
    for i in range(0, len(fences), 2):
        kept.append(reply[start : fences[i].start()])
        start = fences[i + 1].end() if i + 1 < len(fences) else len(reply)
    kept.append(reply[start:])
    return "".join(kept)


def parses(code: str) -> bool:
    """True if ``code`` is syntactically valid Python (nothing is executed)."""
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _looks_like_code(text: str) -> bool:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return any(
        not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant | ast.Name))
        for node in tree.body
    )


def extract_code(reply: str) -> str | None:
    """The Python code in ``reply`` per the module's rules, or ``None`` if there is none."""
    blocks = [
        b
        for b in find_blocks(reply)
        if (b.is_python or b.is_bare) and b.body.strip() and not b.labelled_output
    ]
    if blocks:
        if any(parses(b.body) for b in blocks):
            blocks = [b for b in blocks if b.is_python or parses(b.body)]
        return "\n\n".join(b.body for b in blocks).strip("\n") + "\n"
    if find_blocks(reply):
        return None
    text = reply.strip()
    if text and _looks_like_code(text):
        return text + "\n"
    return None


def function_names(code: str) -> list[str]:
    """Names of the top-level functions and classes defined in ``code`` (empty if unparsable)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
