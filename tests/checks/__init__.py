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


def table_tests(table: dict, other_right_answers: list, raising: list, *, raised: str = "raised {exception}"):
    """The five tests a module runs on its tables; assign them to module names that start with ``test_``.

    ``table``: {check name: (right answer, text of its ✓ line, [(wrong answer, hint), ...])};
    ``other_right_answers``: [(check name, answer)]; ``raising``: [(check name, answer, exception, line)].
    """

    @pytest.mark.parametrize("name", table)
    def passes_the_solution(name, capsys):
        right_answer, success, _ = table[name]
        getattr(checks, name)(right_answer)
        assert success in capsys.readouterr().out

    @pytest.mark.parametrize("name, right_answer", other_right_answers, ids=ids)
    def passes_the_variants_learners_write(name, right_answer, capsys):
        passes(name, right_answer, capsys)

    @pytest.mark.parametrize(
        "name, wrong, hint", [(n, w, h) for n, (_, _, wrongs) in table.items() for w, h in wrongs], ids=ids
    )
    def names_each_mistake(name, wrong, hint, capsys):
        with pytest.raises(ExerciseHint, match=re.escape(hint)):
            getattr(checks, name)(wrong)
        assert capsys.readouterr().err == ""

    @pytest.mark.parametrize("name, wrong, exception, line", raising, ids=ids)
    def raising_gets_a_hint_naming_its_line(name, wrong, exception, line):
        with pytest.raises(ExerciseHint) as hint:
            getattr(checks, name)(wrong)
        assert raised.format(exception=exception) in str(hint.value) and line in str(hint.value), str(hint.value)

    def has_its_wrong_answers_and_correct_variants():
        for name, (_, _, wrongs) in table.items():
            assert len(wrongs) >= 8, name
            assert 1 + sum(other == name for other, _ in other_right_answers) >= 3, name

    return (
        passes_the_solution,
        passes_the_variants_learners_write,
        names_each_mistake,
        raising_gets_a_hint_naming_its_line,
        has_its_wrong_answers_and_correct_variants,
    )


def answer_tests(right: list, wrong: list, raising: list, *, check: str | None = None):
    """The four tests a module of checks 01–05 runs on its RIGHT, WRONG and raising tables.

    Rows start with the check's name (``(name, answer)``, ``(name, answer, hint)``, ``(name, answer, line)``),
    or give it once as ``check`` when the module tests one check. Assign the four to names starting ``test_``.
    """
    if check is not None:
        right = [(check, answer) for answer in right]
        wrong = [(check, *row) for row in wrong]
        raising = [(check, *row) for row in raising]

    @pytest.mark.parametrize("name, answer", right, ids=ids)
    def passes_twice_in_one_kernel(name, answer, capsys):
        passes(name, answer, capsys)
        passes(name, answer, capsys)  # a second run: nothing may carry over

    @pytest.mark.parametrize("name, answer, hint", wrong, ids=ids)
    def gets_its_hint(name, answer, hint, capsys):
        hints(name, answer, hint, capsys)

    @pytest.mark.parametrize("name, answer, line", raising, ids=ids)
    def names_its_line(name, answer, line):
        message = hints(name, answer, "raised")
        assert names_the_line(message, line), message

    def has_eight_wrong_answers_and_three_right_ones():
        for name in {row[0] for row in right}:
            assert sum(row[0] == name for row in wrong) >= 8, name
            assert sum(row[0] == name for row in right) >= 3, name

    return passes_twice_in_one_kernel, gets_its_hint, names_its_line, has_eight_wrong_answers_and_three_right_ones
