"""Moved to tools/exercises.py (a maintainer tool, not part of the kit learners read).

Kept only until tests/test_exercises.py imports ``tools.exercises``; then delete this file.
"""

from tools.exercises import MarkerError, generate, make_exercise, stub_source  # noqa: F401
