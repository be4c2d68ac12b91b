"""Error text from hostile code is bounded: the traceback where it is made, what the model sees
on the host, and a report forged by the job."""

from __future__ import annotations

import re

import pytest

from creator.sandbox import ExecResult, WorkerPool
from creator.sandbox.base import ERROR_CAP
from creator.sandbox.runner import TRACEBACK_CAP, clip, decode_report

from .conftest import run

_MARKER = re.compile(r"^\[\.\.\. ([\d,]+) characters cut \.\.\.\]$", re.MULTILINE)

HUGE_MESSAGE = "raise ValueError('start-of-message ' + 'x' * 10_000_000 + ' end-of-message')\n"
DEEP_HUGE_MESSAGE = (
    "def f(n):\n    return g(n) if n else boom()\n\n"
    "def g(n):\n    return f(n - 1)\n\n"
    "def boom():\n" + "    " + HUGE_MESSAGE + "\nf(300)\n"
)
HUGE_STDERR = (
    "import sys\n"
    "sys.stderr.write('early line\\n' + 'H' + 'e' * 3_000_000 + 'T\\n')\n"
    "sys.stderr.write('S' + 'e' * 3_000_000 + 'E\\nlast words\\n')\n"
    "sys.exit(3)\n"
)


def cut_counts(text: str) -> list[int]:
    return [int(count.replace(",", "")) for count in _MARKER.findall(text)]


def test_clip_keeps_short_text_whole() -> None:
    assert clip("abc\n", 100) == "abc\n"
    assert clip("x" * 100, 100) == "x" * 100


@pytest.mark.parametrize("head", [0.25, 0.5])
def test_clip_keeps_head_and_tail_and_says_how_much_was_cut(head: float) -> None:
    text = "HEAD" + "m" * 1_000_000 + "TAIL"
    clipped = clip(text, 4_000, head=head)
    assert len(clipped) <= 4_000
    assert clipped.startswith("HEAD") and clipped.endswith("TAIL")
    (cut,) = cut_counts(clipped)
    marker = _MARKER.search(clipped)
    assert marker is not None
    assert len(clipped) - len(marker.group(0)) - 2 + cut == len(text)  # 2: the marker's newlines
    kept_head = marker.start() - 1
    assert kept_head == int((len(clipped) - len(marker.group(0)) - 2) * head)


def test_a_ten_megabyte_message_is_cut_in_the_middle(solo_box: WorkerPool) -> None:
    result = run(solo_box, HUGE_MESSAGE)
    assert result.traceback is not None and result.error is not None
    assert len(result.traceback) <= TRACEBACK_CAP
    assert len(result.error) <= ERROR_CAP
    for text in (result.traceback, result.error):
        assert text.startswith("Traceback (most recent call last):")
        assert 'File "decision", line 1, in <module>' in text
        assert "ValueError: start-of-message xxx" in text
        assert text.rstrip().endswith("xxx end-of-message")
        (cut,) = cut_counts(text)
        assert 9_990_000 < cut < 10_000_000


def test_a_deep_traceback_keeps_its_ends_and_the_exception_line(solo_box: WorkerPool) -> None:
    result = run(solo_box, DEEP_HUGE_MESSAGE)
    assert result.traceback is not None and result.error is not None
    assert len(result.traceback) <= TRACEBACK_CAP
    assert len(result.error) <= ERROR_CAP
    for text in (result.traceback, result.error):
        assert text.startswith("Traceback (most recent call last):")
        assert 'File "decision", line 10, in <module>' in text  # the outermost frame
        assert 'File "decision", line 8, in boom' in text  # the innermost one
        assert "\nValueError: start-of-message xxx" in text
        assert text.rstrip().endswith("xxx end-of-message")
        frames_cut, message_cut = cut_counts(text)
        assert frames_cut > 1_000 and message_cut > 9_990_000


@pytest.mark.parametrize(
    ("code", "kept"),
    [
        (
            "e = ValueError('many notes')\ne.add_note('z' * 10_000_000)\n"
            "for i in range(100_000):\n    e.add_note('n%d' % i)\nraise e\n",
            [
                "ValueError: many notes\nzzz",
                "zzz\nn0\nn1\n",
                "n18\n[... 99,981 more notes cut ...]",
            ],
        ),
        (
            "raise SyntaxError('bad', ('decision', 1, 10**7, 'q' * 10**7, 1, 10**7 + 5))\n",
            ["\nSyntaxError: bad\n"],
        ),
        ("raise type('E' * 10**7, (Exception,), {})('boom')\n", ["\nEEEE", "EEEE: boom\n"]),
    ],
    ids=["notes", "syntax-error-text", "type-name"],
)
def test_other_huge_parts_of_an_exception_are_cut(
    solo_box: WorkerPool, code: str, kept: list[str]
) -> None:
    result = run(solo_box, code)
    assert result.traceback is not None and result.error is not None
    assert len(result.traceback) <= 4_000  # all but the message are cut at the source
    assert result.error == result.traceback
    assert 'File "decision"' in result.traceback and cut_counts(result.traceback)
    for text in kept:
        assert text in result.traceback


def test_huge_stderr_lines_are_cut_in_what_the_model_sees(solo_box: WorkerPool) -> None:
    result = run(solo_box, HUGE_STDERR, max_output_bytes=8_000_000)
    assert result.exit_code == 3 and result.traceback is None
    assert len(result.stderr) > 6_000_000  # stored whole, under max_output_bytes
    error = result.error
    assert error is not None and len(error) <= ERROR_CAP
    assert error.startswith("early line\nHeee")
    assert error.endswith("eeeE\nlast words")
    (cut,) = cut_counts(error)
    marker_length = len(f"\n[... {cut:,} characters cut ...]\n")
    assert len(error) - marker_length + cut == len(result.stderr.strip())


def test_a_forged_report_is_cut_on_the_host(solo_box: WorkerPool) -> None:
    code = "import os\nos.write(3, b'1 0 1\\n' + b'F' * 90_000 + b'END')\nos._exit(1)\n"
    result = run(solo_box, code)
    assert result.traceback is not None
    assert len(result.traceback) <= TRACEBACK_CAP
    assert result.traceback.startswith("FFF") and result.traceback.endswith("FEND")
    assert len(result.error or "") <= ERROR_CAP


def test_decoding_a_report_bounds_its_traceback() -> None:
    decoded = decode_report(b"1 0 1\n" + b"t" * 1_000_000)
    assert decoded is not None
    assert isinstance(decoded["traceback"], str) and len(decoded["traceback"]) <= TRACEBACK_CAP


def test_error_is_bounded_whatever_the_result_holds() -> None:
    huge = ExecResult(exit_code=1, traceback="Traceback\n" + "t" * 100_000 + "\nKeyError: 1")
    assert len(huge.error or "") <= ERROR_CAP and (huge.error or "").endswith("KeyError: 1")
    lines = ExecResult(exit_code=1, stderr=("y" * 1_000_000 + "\n") * 5)
    assert len(lines.error or "") <= ERROR_CAP and cut_counts(lines.error or "")
    quiet = ExecResult(exit_code=2)
    assert quiet.error == "process exited with status 2"
