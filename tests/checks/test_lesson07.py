"""Exercise 07's checks: their right answers, the variants learners write, and the wrong answers with their hints.

The answers live in tests/exercise07_answers.py (they need Django set up and echo_project's models).
"""

import pytest

from tests import exercise07_answers as exercise07
from tests.checks import table_tests

# The check uses the ORM from other threads than the test's, as it does in a learner's kernel: pytest-django's
# test database, emptied after each test.
pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = {
    "check_room_history": (exercise07.Right, "last 20 messages of the room", exercise07.HISTORY_WRONG_ANSWERS),
    "check_tell_the_room": (exercise07.right_receiver, "after commit", exercise07.RECEIVER_WRONG_ANSWERS),
}
OTHER_RIGHT_ANSWERS = [("check_room_history", answer) for answer in exercise07.HISTORY_RIGHT_ANSWERS] + [
    ("check_tell_the_room", answer) for answer in exercise07.RECEIVER_RIGHT_ANSWERS
]
RAISING = exercise07.RAISING


(
    test_the_check_passes_the_solution,
    test_the_check_passes_the_variants_learners_write,
    test_the_check_names_each_mistake,
    test_an_answer_that_raises_gets_a_hint_naming_its_line,
    test_the_check_has_its_wrong_answers_and_correct_variants,
) = table_tests(CHECKS, OTHER_RIGHT_ANSWERS, RAISING)
