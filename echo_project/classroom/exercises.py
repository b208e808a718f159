"""The exercises an attendee's checks report on: (lesson, exercise id), in the order of the lessons.

An exercise id is the name of its check in ``workshop.checks`` without ``check_``: ``check_tally`` reports
``"tally"``. Anything else an attendee sends as an exercise is refused. ``tests/test_classroom.py`` keeps this
list equal to the checks the kit has.
"""

EXERCISES = (
    ("01", "greeting_app"),
    ("01", "request_counter"),
    ("02", "shouting_app"),
    ("02", "tracer"),
    ("03", "tally"),
    ("04", "counting_echo"),
    ("05", "lobby_consumer"),
    ("06", "announce"),
    ("07", "room_history"),
    ("07", "tell_the_room"),
    ("08", "test_catches_bugs"),
    ("09", "members_only"),
    ("09", "token_auth"),
    ("10", "database_free_echo"),
)
EXERCISE_IDS = frozenset(exercise for _, exercise in EXERCISES)
