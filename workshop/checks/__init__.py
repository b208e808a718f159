"""The exercises' self-checks: run the learner's code for real, answer in one line.

Each ``check_*`` function runs what the learner wrote (a WSGI call, a server
started with the kit, a ``WebsocketCommunicator``) and prints one line that
starts with a check mark when it works. When it does not, it raises
``ExerciseHint``, whose message names the likely mistake as soon as it shows
(benchmarks/check_hints.py measures how soon); in a notebook it shows as that one
message, not as a traceback from deep inside a library. One module per lesson;
what they share is in ``_common``.
"""

import functools

from .. import classroom
from ._common import ExerciseHint
from .lesson01 import check_greeting_app, check_request_counter
from .lesson02 import check_shouting_app, check_tracer
from .lesson03 import check_tally
from .lesson04 import check_counting_echo
from .lesson05 import check_lobby_consumer
from .lesson06 import check_announce
from .lesson07 import check_room_history, check_tell_the_room
from .lesson08 import check_test_catches_bugs
from .lesson09 import check_members_only, check_token_auth
from .lesson10 import check_database_free_echo


def reported(check):
    """``check``, whose outcome also goes to the classroom if this notebook joined one (workshop/classroom.py):
    its exercise (the check's name without ``check_``), and ✓ or the hint's category. It runs as before."""
    exercise = check.__name__.removeprefix("check_")

    @functools.wraps(check)
    def check_and_report(*args, **kwargs):
        try:
            outcome = check(*args, **kwargs)
        except ExerciseHint as hint:
            classroom.report(exercise, "hint", hint.category)
            raise
        except Exception:  # a check's own failure, or what the learner passed it: a hint for the projector
            classroom.report(exercise, "hint", "error")
            raise
        classroom.report(exercise, "passed")
        return outcome

    return check_and_report


__all__ = [
    "ExerciseHint",
    "check_announce",
    "check_counting_echo",
    "check_database_free_echo",
    "check_greeting_app",
    "check_lobby_consumer",
    "check_members_only",
    "check_request_counter",
    "check_room_history",
    "check_shouting_app",
    "check_tally",
    "check_tell_the_room",
    "check_test_catches_bugs",
    "check_token_auth",
    "check_tracer",
]

# Every check reports, once, here: where each check's outcome is known.
for _name in __all__:
    if _name.startswith("check_"):
        globals()[_name] = reported(globals()[_name])
del _name
