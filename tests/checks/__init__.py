"""One module per exercise check: its right answers, its wrong answers with the hint each must get.

Every module holds, per check, at least three right answers people write and at least eight wrong
ones, of the kinds issue 21 lists (state shared between connections or runs, error paths, inputs
the text never shows, exact types, sends after the close, exceptions in the learner's code).
"""

import re

import pytest

from workshop import checks
from workshop.checks import ExerciseHint


def passes(name, answer, capsys) -> str:
    """Run check ``name`` on a right answer: it prints its ✓ line, and nothing reaches stderr."""
    getattr(checks, name)(answer)
    out, err = capsys.readouterr()
    assert "\u2713" in out, out
    assert err == "", f"stderr after the check: {err}"
    return out


def hints(name, answer, hint: str, capsys=None) -> str:
    """Run check ``name`` on a wrong answer: it raises the hint (a regex-escaped substring)."""
    with pytest.raises(ExerciseHint, match=re.escape(hint)) as raised:
        getattr(checks, name)(answer)
    if capsys is not None:
        out, err = capsys.readouterr()
        assert "\u2713" not in out and err == "", (out, err)
    return str(raised.value)


def names_the_line(message: str, source: str) -> bool:
    """Whether a hint names the learner's file, a line number and the source line ``source``."""
    return re.search(r"test_lesson\d\d\.py, line \d+: " + re.escape(source), message) is not None


def ids(value):
    return value if isinstance(value, str) else getattr(value, "__name__", None) or type(value).__name__
