"""Exercise 07's checks: their right answers, the variants learners write, and the wrong answers with their hints.

The answers live in tests/exercise07_answers.py (they need Django set up and echo_project's models).
"""

import re

import pytest

from tests import exercise07_answers as exercise07
from workshop import checks
from workshop.checks import ExerciseHint

CHECKS = {
    "check_room_history": (exercise07.Right, "last 20 messages of the room", exercise07.HISTORY_WRONG_ANSWERS),
    "check_tell_the_room": (exercise07.right_receiver, "after commit", exercise07.RECEIVER_WRONG_ANSWERS),
}
OTHER_RIGHT_ANSWERS = [("check_room_history", answer) for answer in exercise07.HISTORY_RIGHT_ANSWERS] + [
    ("check_tell_the_room", answer) for answer in exercise07.RECEIVER_RIGHT_ANSWERS
]
RAISING = exercise07.RAISING


def _ids(value):
    return value if isinstance(value, str) else getattr(value, "__name__", "?")


@pytest.mark.parametrize("name", CHECKS)
def test_the_check_passes_the_solution(name, capsys):
    right_answer, success, _ = CHECKS[name]
    getattr(checks, name)(right_answer)
    assert success in capsys.readouterr().out


@pytest.mark.parametrize("name, right_answer", OTHER_RIGHT_ANSWERS, ids=_ids)
def test_the_check_passes_the_variants_learners_write(name, right_answer, capsys):
    getattr(checks, name)(right_answer)
    output = capsys.readouterr()
    assert "\u2713" in output.out and output.err == ""


@pytest.mark.parametrize(
    "name, wrong, hint", [(n, w, h) for n, (_, _, wrongs) in CHECKS.items() for w, h in wrongs], ids=_ids
)
def test_the_check_names_each_mistake(name, wrong, hint, capsys):
    with pytest.raises(ExerciseHint, match=re.escape(hint)):
        getattr(checks, name)(wrong)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("name, wrong, exception, line", RAISING, ids=_ids)
def test_an_answer_that_raises_gets_a_hint_naming_its_line(name, wrong, exception, line):
    with pytest.raises(ExerciseHint) as hint:
        getattr(checks, name)(wrong)
    assert f"raised {exception}" in str(hint.value) and line in str(hint.value), str(hint.value)


def test_each_check_has_its_wrong_answers_and_correct_variants():
    for name, (_, _, wrongs) in CHECKS.items():
        assert len(wrongs) >= 8, name
        assert 1 + sum(other == name for other, _ in OTHER_RIGHT_ANSWERS) >= 3, name
