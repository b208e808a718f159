"""How long each exercise check takes to answer: `.venv/bin/python benchmarks/check_hints.py [check_name ...]`.

A hint should come as soon as the mistake is observable, and a right answer's check mark soon after its
probes ran. This runs every check on the answers of its tests (the tables of ``tests/checks/test_lessonNN.py``): the
right answers learners write (time to the check mark), and each wrong answer (time to its hint).
It prints one line per answer and a summary per check: the slowest hint and the median. Tests never assert
on these times: a machine shared with other work moves them (see CONTRIBUTING.md).

Run it from the repository's root, with Django set up as the tests do (echo_project's settings, a database
of the benchmark's own, migrated).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import pathlib
import statistics
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent


def _set_up_django():
    sys.path[:0] = [str(REPO), str(REPO / "echo_project")]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echo_project.settings")
    database = pathlib.Path(tempfile.mkdtemp(prefix="check-hints-")) / "echo.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"  # never the learner's echo_project/db.sqlite3
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _tables():
    """{check name: ([right answers], [wrong answers])} from tests/checks/test_lessonNN.py.

    A module has either ``CHECKS`` ({name: (right, success, [(wrong, hint), ...])}) and ``OTHER_RIGHT_ANSWERS``
    ([(name, answer)]), or ``RIGHT`` and ``WRONG``, whose rows start with the check's name when the module
    tests more than one check.
    """
    import re

    tables: dict = {}
    for path in sorted((REPO / "tests" / "checks").glob("test_lesson*.py")):
        module = importlib.import_module(f"tests.checks.{path.stem}")
        names = sorted(set(re.findall(r'"(check_\w+)"', path.read_text())))
        for name, (right, _, wrongs) in getattr(module, "CHECKS", {}).items():
            others = [answer for other, answer in getattr(module, "OTHER_RIGHT_ANSWERS", []) if other == name]
            tables[name] = ([right, *others], [wrong for wrong, _ in wrongs])
        for kind, rows in (("right", getattr(module, "RIGHT", [])), ("wrong", getattr(module, "WRONG", []))):
            for row in rows:
                row = row if isinstance(row, tuple) else (row,)
                name, answer = (row[0], row[1]) if isinstance(row[0], str) else (names[0], row[0])
                tables.setdefault(name, ([], []))[kind == "wrong"].append(answer)
    return tables


def _timed(check, answer):
    """Seconds until the check answered, and whether it said ✓ (else it gave a hint)."""
    from workshop.checks import ExerciseHint

    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            check(answer)
        except ExerciseHint:
            return time.perf_counter() - started, False
    return time.perf_counter() - started, "\u2713" in out.getvalue()


def _line(name, answer, seconds, result):
    label = getattr(answer, "__name__", None) or type(answer).__name__
    print(f"{name:26} {label[:52]:52} {seconds:8.2f}  {result}")


def main(names):
    _set_up_django()
    import channels.consumer

    from workshop import checks

    cleanup = channels.consumer.aclose_old_connections  # one of 10's wrong answers replaces it, as learners do
    tables = _tables()
    print(f"{'check':26} {'answer':52} {'seconds':>8}  result")
    summary = []
    for name in names or sorted(tables):
        rights, wrongs = tables[name]
        check = getattr(checks, name)
        right_times, hint_times = [], []
        for answer in rights:
            seconds, ok = _timed(check, answer)
            right_times.append(seconds)
            _line(name, answer, seconds, "\u2713" if ok else "HINT (a right answer!)")
        for answer in wrongs:
            seconds, ok = _timed(check, answer)
            channels.consumer.aclose_old_connections = cleanup
            hint_times.append(seconds)
            _line(name, answer, seconds, "\u2713 (a wrong answer!)" if ok else "hint")
        summary.append(
            (name, statistics.median(right_times), max(right_times), statistics.median(hint_times), max(hint_times))
        )
    print()
    print(f"{'check':26} {'right median s':>14} {'slowest right s':>15} {'hint median s':>13} {'slowest hint s':>14}")
    for name, right, slowest_right, median, slowest in summary:
        print(f"{name:26} {right:14.2f} {slowest_right:15.2f} {median:13.2f} {slowest:14.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
