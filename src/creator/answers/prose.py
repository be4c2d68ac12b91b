r"""Reading an answer out of a model's prose reply (the ``cot`` and ``standard`` baselines).

A reply is read whole, by the first of these rules that finds something:

1. the last ``Final Answer:`` marker with text after it (``**Final Answer:**`` and
   ``**Final Answer**:`` too): that text to the end of its line (further while brackets or a
   ``$$`` display are open, as for program output), then to the end of its first sentence;
2. the last ``\boxed{...}`` (or ``\fbox{...}``) whose braces close, its content whole
   (``\boxed{\frac{1}{2}}`` gives ``\frac{1}{2}``);
3. the last "the answer is ..." / "answer: ..." phrase (``the final answer is``, ``Answer:``),
   to the end of its sentence or line.

The text found is tidied: a ``\boxed{}`` in it is unwrapped to its content (so
``**Final Answer:** $\boxed{5}$`` and Minerva's ``Final Answer: The final answer is
$\boxed{5}$. I hope it is correct.`` give ``5``), an answer phrase in it is read by rule 3
(``Final Answer: The answer is 12 apples.`` gives ``12 apples``), and Markdown emphasis, a
trailing full stop, ``$...$``/``$$...$$``/``\(...\)``/``\[...\]`` around the whole and a
lead-in such as ``approximately`` are dropped. A lone dollar sign (``$12.50``) is a currency,
not a math delimiter, and stays. Units and words after a value stay (``12 apples``,
``x = 3``): the checkers read those.

A sentence ends at ``.``, ``!`` or ``?`` followed by a space, a line end or the end of the
text, outside braces and brackets (``3.14``, ``\text{Mr. Smith}`` and numpy's ``[1. 2.]``
do not end one).

Deliberately NOT a rule: the last number of the reply. ``The answer is $1-a$.`` is ``1-a``,
not ``1``; a reply with no marker, box or phrase has no answer. The paper's lenient reading
(solved if ANY number in the reply matches, which includes the last one) is a separate
scoring mode applied by the evaluation, not an extraction rule.

A reply cut off before its end (the token limit, a full context) is read by rule 1 only, and
only a complete ``Final Answer:`` line counts: one followed by a line break, its brackets
closed. A box or an answer phrase in a cut-off reply may be an intermediate result the model
would have gone past, and the last number of a cut-off text never counts.

Left out: thinking sections (the model layer keeps them out of the reply text), grading, and
any use of the question's text.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from creator.answers.extract import _opened, _until_closed

__all__ = ["ProseAnswer", "ProseSource", "extract_prose_answer"]

ProseSource = Literal["final_answer", "boxed", "answer_phrase"]

_EMPHASIS = r"(?:\*\*|__)?"
_MARKER = re.compile(rf"final\s+answer\s*{_EMPHASIS}\s*[:\uff1a]", re.IGNORECASE)
_PHRASE = re.compile(
    rf"\b(?:the\s+)?(?:final\s+)?answer\s*{_EMPHASIS}\s*(?:is\b|[:\uff1a])\s*{_EMPHASIS}\s*:?",
    re.IGNORECASE,
)
_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_WRAPPERS = (
    re.compile(r"^\$\$(.+)\$\$$", re.DOTALL),
    re.compile(r"^\$((?:[^$\\]|\\.)+)\$$", re.DOTALL),
    re.compile(r"^\\\((.+)\\\)$", re.DOTALL),
    re.compile(r"^\\\[(.+)\\\]$", re.DOTALL),
)
_LEAD_IN = re.compile(
    r"^(?:(?:approximately|approx\.|about|roughly|around|exactly|nearly)\s+|(?:\\approx|≈|=)\s*)"
    r"(?=\S)",
    re.IGNORECASE,
)
_EDGE_MARKS = "*`"


class ProseAnswer(NamedTuple):
    """An answer read from prose, and which rule found it."""

    text: str
    source: ProseSource


def extract_prose_answer(reply: str, *, cut_off: bool = False) -> ProseAnswer | None:
    """The answer a prose reply gives (see the module docstring for the rules), or None.

    ``cut_off``: the reply stopped before its end; only a complete ``Final Answer:`` line
    counts then.
    """
    if cut_off:
        complete = reply[: reply.rfind("\n") + 1]  # the lines that ended before the cut
        return _from_marker(complete, complete_only=True)
    found = _from_marker(reply, complete_only=False)
    if found is None and (boxed := _last_boxed(reply)) is not None:
        found = _answer(_tidy(boxed), "boxed")
    if found is None and (phrase := _last_phrase(reply)) is not None:
        found = ProseAnswer(phrase, "answer_phrase")
    return found


def _answer(text: str, source: ProseSource) -> ProseAnswer | None:
    return ProseAnswer(text, source) if text else None


def _from_marker(reply: str, *, complete_only: bool) -> ProseAnswer | None:
    """The last ``Final Answer:`` with something after it."""
    for marker in reversed(list(_MARKER.finditer(reply))):
        rest = reply[marker.end() :].strip()
        if not rest:
            continue
        if rest.startswith("$$"):  # display math, perhaps over several lines
            end = rest.find("$$", 2)
            if end < 0 and complete_only:
                continue
            content = rest[: end + 2] if end >= 0 else rest.splitlines()[0]
        else:
            content = _until_closed(rest.splitlines())
            if complete_only and _opened(content) > 0:
                continue  # its brackets would have closed after the cut
        found = _answer(_read(content), "final_answer")
        if found is not None:
            return found
    return None


def _read(text: str) -> str:
    """The answer in the text after a marker: a box's content, an answer phrase's, or the
    first sentence."""
    boxed = _last_boxed(text)
    if boxed is not None:
        return _tidy(boxed)
    phrase = _last_phrase(text)
    if phrase is not None:
        return phrase
    return _tidy(_first_sentence(text))


def _last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` whose braces close (nested braces allowed)."""
    for box in reversed(list(_BOX.finditer(text))):
        content = _balanced(text, box.end())
        if content is not None and content.strip():
            return content.strip()
    return None


def _balanced(text: str, start: int) -> str | None:
    """The text from ``start`` to the brace closing the one just before it, or None."""
    depth, i = 1, start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2  # an escaped brace (\{ \}) or a command's first letter
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start:i]
        i += 1
    return None


def _last_phrase(text: str) -> str | None:
    """What the last "the answer is" / "answer:" with something after it says."""
    for phrase in reversed(list(_PHRASE.finditer(text))):
        rest = text[phrase.end() :].lstrip()
        line = rest.split("\n", 1)[0]
        boxed = _last_boxed(line)
        answer = _tidy(boxed if boxed is not None else _first_sentence(line))
        if answer:
            return answer
    return None


_ABBREVIATION = re.compile(r"\b(?:approx|e\.g|i\.e|vs|cf|ca|resp|etc)\Z", re.IGNORECASE)


def _first_sentence(text: str) -> str:
    """``text`` up to the first ``.``, ``!`` or ``?`` followed by a space or the end, outside
    braces, brackets and parentheses."""
    depth, i = 0, 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char in "{[(":
            depth += 1
        elif char in "}])":
            depth = max(0, depth - 1)
        elif (
            char in ".!?"
            and depth == 0
            and (i + 1 == len(text) or text[i + 1].isspace())
            and not (char == "." and _ABBREVIATION.search(text, 0, i))
        ):
            return text[:i]
        i += 1
    return text


def _tidy(text: str) -> str:
    """Drop what surrounds an answer: emphasis, a full stop, math delimiters, a lead-in."""
    previous = None
    while text != previous:
        previous = text
        text = text.strip().strip(_EDGE_MARKS).strip()
        if text.startswith("__") and text.endswith("__"):
            text = text[2:-2].strip()
        if text.endswith(".") and not text.endswith(".."):
            text = text[:-1]
        for wrapper in _WRAPPERS:
            match = wrapper.match(text)
            if match is not None:
                text = match.group(1)
                break
        text = _LEAD_IN.sub("", text, count=1)
    return text if text.strip("$") else ""  # a lone delimiter is no answer
