"""The classroom as an evening runs it: a real classroom (echo_project under uvicorn, DEBUG off) on 127.0.0.1,
30 attendees each running lesson 01's real checks in a process of their own (tests/classroom_attendee.py), and
the projector page in headless Chromium. Then the classroom is killed mid-evening: every check goes on.

The consumers' refusals (codes, names, floods, forged reports) are tested in process in
echo_project/classroom/tests/test_consumers.py; how fast a check reaches the projector is measured in
benchmarks/classroom_latency.py, never asserted here.
"""

import concurrent.futures
import re
import shutil
import socket
import sqlite3
import sys
import time

import nbformat
import pytest

from classroom import consumers
from classroom.exercises import EXERCISE_IDS
from tests.checks.test_lesson01 import greet, greet_adding_str_to_bytes, greet_returning_str
from tests.chromium import ARTIFACTS, chromium, require_chromium
from tests.classroom_attendee import Attendee, greet_left_as_it_came, migrated_database, serve_classroom
from tools.lab_kernel import run_notebook
from workshop import REPO, fetch, join_classroom, leave_classroom, serve_process
from workshop import classroom as kit_classroom
from workshop.checks import ExerciseHint, check_greeting_app
from workshop.checks import __all__ as kit_names

require_chromium("the classroom's projector test")

ATTENDEES = 30
# The states of the evening, by attendee: what each runs, and what the projector's greeting_app cell shows then.
PLANS = [
    ([], None),  # not started
    (["greet-right", "count-right"], "✓"),
    (["greet-wrong"], "wrong behaviour"),
    (["greet-raises", "count-right"], "raised TypeError"),
    (["greet-stub"], "not written"),
]
# The screenshot to look at: test-artifacts/classroom-projector.png. docs/classroom-projector.png, which the
# instructor's guide shows, is a copy of one, taken by hand: a test never rewrites a committed file.

# What the page shows, as {name: {exercise: text of its cell}} (empty cells left out), read from the DOM.
GRID_SHOWN = """() => Object.fromEntries([...document.querySelectorAll('#rows tr')].map(tr => [tr.dataset.name,
  Object.fromEntries([...tr.querySelectorAll('td')].map(td => [td.dataset.exercise, td.textContent])
    .filter(([, text]) => text))]))"""


def test_the_classroom_knows_every_check_of_the_kit_and_nothing_else():
    checks = {name.removeprefix("check_") for name in kit_names if name.startswith("check_")}
    assert EXERCISE_IDS == checks


@pytest.fixture
def attendees():
    started: list[Attendee] = []
    yield started
    for attendee in started:  # none outlives the test
        if attendee.process.poll() is None:
            attendee.process.kill()
            attendee.process.wait()


def test_thirty_attendees_live_on_the_projector_then_the_classroom_dies(tmp_path, attendees):
    names = [f"Attendee {n:02d}" for n in range(1, ATTENDEES + 1)]
    # Stuck after 3 s, not 5 minutes: the screenshot shows some
    with serve_classroom(tmp_path, CLASSROOM_STUCK_MINUTES="0.05") as classroom, chromium() as browser:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{classroom.url}classroom/")
        page.wait_for_selector("#status[data-state=open]")
        with concurrent.futures.ThreadPoolExecutor(8) as pool:  # 30 processes start, a few at a time
            attendees.extend(pool.map(lambda name: Attendee(classroom.url, name), names))
        assert all(
            attendee.joined[0].startswith(f"Joined the classroom as '{attendee.name}'") for attendee in attendees
        )
        page.wait_for_function(f"document.querySelectorAll('#rows tr.present').length === {ATTENDEES}")

        # Each attendee runs its plan; the page follows, live.
        for index, attendee in enumerate(attendees):
            for answer in PLANS[index % len(PLANS)][0]:
                attendee.start(answer)
        for index, attendee in enumerate(attendees):
            for _ in PLANS[index % len(PLANS)][0]:
                printed = attendee.until("DONE")
                assert printed and printed[0].startswith(("✓", "Not yet:")), printed
        expected = {}
        for index, name in enumerate(names):
            cells = {}
            answers, greeting = PLANS[index % len(PLANS)]
            if greeting is not None:
                cells["greeting_app"] = greeting
            if "count-right" in answers:
                cells["request_counter"] = "✓"
            expected[name] = cells
        page.wait_for_function(
            "expected => JSON.stringify(Object.values((" + GRID_SHOWN + ")()).map(row => Object.keys(row).length))"
            " === JSON.stringify(expected)",
            arg=[len(cells) for cells in expected.values()],
        )
        shown = page.evaluate(GRID_SHOWN)
        assert list(shown) == names
        for name, cells in expected.items():
            assert {i: text.split(" · ")[0] for i, text in shown[name].items()} == cells, name
        counts = page.locator("#counts td").all_text_contents()
        assert counts[:2] == ["6 ✓ / 18", "12 ✓ / 0"]  # greet: 6 right, 18 hints; count: 12 right
        for width, height in [(1024, 768), (1280, 720), (1920, 1080)]:  # projectors as they are: every column shows
            page.set_viewport_size({"width": width, "height": height})
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (width, height)
        page.set_viewport_size({"width": 1600, "height": 1000})

        # The hints of three seconds ago are highlighted as stuck; then six more attendees get their first hint.
        page.wait_for_function("document.querySelectorAll('td.stuck').length === 18")
        for attendee in attendees[:: len(PLANS)]:
            assert attendee.run("greet-wrong")[0].startswith("Not yet:")
        page.wait_for_function("document.querySelectorAll('td.hint').length === 24")
        page.screenshot(path=str(tmp_path / "projector.png"), full_page=True)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(tmp_path / "projector.png", ARTIFACTS / "classroom-projector.png")

        # Killed mid-evening: every attendee's checks go on, with one quiet line, and no traceback.
        classroom.process.kill()
        classroom.stop()
        page.wait_for_selector("#status[data-state=closed]")
    for attendee in attendees:
        printed = []
        while not any(line.startswith("(The classroom did not get this") for line in printed):
            printed += attendee.run("greet-right")
            assert len(printed) < 40, printed
        printed += attendee.run("greet-wrong") + attendee.run("greet-right")
        quiet = [line for line in printed if line.startswith("(")]
        assert quiet == ["(The classroom did not get this: it is not reachable. Your checks work as before.)"]
        results = [line for line in printed if not line.startswith("(")]
        assert all(line.startswith(("✓ greet works", "Not yet: greet returned a str")) for line in results), results
        assert results[-2].startswith("Not yet:") and results[-1].startswith("✓")
        assert attendee.close() == ""  # nothing on stderr: no traceback, no warning


def test_the_classroom_command_prints_its_code_and_serves_without_debug_pages(tmp_path, attendees):
    """``make classroom``'s command (``workshop.classroom.main``): a code and a token drawn and printed,
    DEBUG off, and the code printed is the one that lets an attendee in."""
    command = [sys.executable, "-c", "from workshop.classroom import main; main()", "--port", "{port}"]
    env = {"DATABASE_URL": migrated_database(tmp_path)}
    with serve_process(command, env=env, name="make classroom") as classroom:
        printed = "\n".join(classroom.logs)
        assert printed.startswith("The classroom: "), printed  # and no warning before it
        code = re.search(r"^Join code: ([0-9a-f]{8})$", printed, re.M).group(1)
        token = re.search(r"^Instructor: .* with the token (\S{16,})$", printed, re.M).group(1)
        assert f"join_classroom('{classroom.url}', '{code}', 'their name')" in printed
        assert fetch(classroom.url + "classroom/").status == 200
        missing = fetch(classroom.url + "classroom/nowhere/")
        assert missing.status == 404 and "DEBUG" not in missing.text and token not in missing.text
        attendees.append(Attendee(classroom.url, "Ada", code=code))
        assert attendees[0].joined[0].startswith("Joined the classroom as 'Ada'")
        assert attendees[0].run("greet-right")[0].startswith("✓ greet works")
        assert attendees[0].close() == ""


def test_a_wrong_code_is_refused_and_the_checks_run_as_before(tmp_path, attendees):
    with serve_classroom(tmp_path) as classroom:
        attendees.append(Attendee(classroom.url, "Mallory", code="guessed"))
        assert attendees[0].joined == [
            f"Not joined: the classroom at {classroom.url} refused: wrong join code. Checks work as before."
        ]
        assert attendees[0].run("greet-right")[0].startswith("✓ greet works")
        assert attendees[0].close() == ""


# --------------------------------------------------------------------------- lesson 11's "Your turn" answers

LESSON = REPO / "notebooks" / "11-classroom.ipynb"


def printed(lesson_cell: str, new_source: str) -> str:
    """Lesson 11 run as JupyterLab runs it, down to ``lesson_cell`` with that cell changed; what it printed."""
    notebook = run_notebook(LESSON, replace={lesson_cell: new_source}, upto=lesson_cell)
    cell = next(cell for cell in notebook.cells if cell.get("id") == lesson_cell)
    return "".join(output.get("text", "") for output in cell.outputs)


def source(cell_id: str) -> str:
    return next(cell.source for cell in nbformat.read(LESSON, as_version=4).cells if cell.get("id") == cell_id)


def test_lesson_11_a_fixed_greet_turns_the_cell_green():
    """11, "fix greet": check_greeting_app passes, and the projector's line says passed, with no category."""
    fixed = source("11-classroom-08").replace(
        """return f"Hello, {environ['PATH_INFO'].strip('/')}!\\n\"""",
        """return [f"Hello, {environ['PATH_INFO'].strip('/')}!\\n".encode()]""",
    )
    assert fixed != source("11-classroom-08")
    shown = printed("11-classroom-08", fixed)
    assert shown.startswith("✓ greet works") and shown.endswith("projector: Ada passed \n"), shown


def test_lesson_11_an_empty_code_is_refused_too():
    """11, '"" for "guess"': closed 4003 again."""
    empty = source("11-classroom-14").replace('try_to_join("guess"', 'try_to_join(""')
    assert "wrong code:     closed 4003: wrong join code\n" in printed("11-classroom-14", empty)


def test_lesson_11_a_check_after_the_classroom_stopped_prints_its_own_line_only():
    """11, the check after classroom.stop(): its own "Not yet" line (an ExerciseHint, caught), no traceback."""
    check = "try:\n    check_greeting_app(greet)\nexcept ExerciseHint as hint:\n    print('Not yet:', hint)\n"
    assert check.splitlines()[1] in source("11-classroom-08")
    cleanup = source("11-classroom-19")
    gone = "classroom.stop()\n" + check + cleanup.replace("classroom.stop()", "")
    shown = printed("11-classroom-19", gone)
    assert shown == "Not yet: greet returned a str: return a list of bytes, e.g. [text.encode()]\nLeft the classroom.\n"


# --------------------------------------------------------------------------- the kit's side, in this process


class LearnersOwnError(Exception):
    pass


def greet_raising_its_own_error(environ, start_response):
    raise LearnersOwnError("my code's own words")


@pytest.mark.parametrize(
    "answer, outcome, category",
    [
        (greet, "passed", ""),
        (greet_returning_str, "hint", "wrong behaviour"),  # a rule of the check's table
        (greet_adding_str_to_bytes, "hint", "raised TypeError"),  # Python's own exception, named
        (greet_left_as_it_came, "hint", "not written"),
        (greet_raising_its_own_error, "hint", "error"),  # a class of the learner's: its name is their code
    ],
)
def test_each_check_reports_its_exercise_and_the_hints_category_only(monkeypatch, answer, outcome, category):
    sent = []
    monkeypatch.setattr(kit_classroom, "report", lambda *report: sent.append(report))
    try:
        check_greeting_app(answer)
    except ExerciseHint:
        pass
    assert sent == [("greeting_app", outcome, *([category] if category else []))]
    assert not category or consumers.CATEGORY.fullmatch(category)  # the classroom takes it


def test_the_classroom_takes_every_category_the_kit_gives():
    for category in ("wrong behaviour", "not written", "missing await", "error", "raised KeyError"):
        assert consumers.CATEGORY.fullmatch(category), category


def test_a_classroom_that_never_answers_costs_the_join_a_short_wait_and_one_line(capsys):
    with socket.socket() as silent:  # accepts connections (the backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        join_classroom(url, "code", "Ada")
    said = capsys.readouterr().out
    assert said == f"Not joined: the classroom at {url} did not answer in time. Checks work as before.\n"
    leave_classroom()
    assert capsys.readouterr().out == "Not in a classroom: checks report nothing.\n"


def outcomes_of(database_folder, name: str) -> dict:
    """{exercise: outcome} the classroom's database holds for ``name``."""
    with sqlite3.connect(database_folder / "classroom.sqlite3") as db:
        rows = db.execute(
            "SELECT exercise, outcome FROM classroom_result JOIN classroom_attendee"
            " ON classroom_result.attendee_id = classroom_attendee.id WHERE name = ?",
            (name,),
        ).fetchall()
    return dict(rows)


def test_joined_once_every_notebook_of_the_laptop_reports_and_leaving_stops_them_all(tmp_path, attendees):
    """The issue's "once per laptop": a notebook that never called join_classroom reports under the laptop's name
    (its kernel reads the join the first notebook kept), and after leave_classroom() it reports nothing."""
    laptop = tmp_path / "laptop"
    with serve_classroom(tmp_path) as classroom:
        first = Attendee(classroom.url, "Ada", laptop=str(laptop))
        other_notebook = Attendee(classroom.url, "-", laptop=str(laptop))
        attendees.extend([first, other_notebook])
        assert other_notebook.joined == [], "it said nothing: it joins at its first check, off the check's path"
        assert other_notebook.run("count-right")[0].startswith("✓")
        for _ in range(200):
            if outcomes_of(tmp_path, "Ada") == {"request_counter": "passed"}:
                break
            time.sleep(0.05)
        assert outcomes_of(tmp_path, "Ada") == {"request_counter": "passed"}
        assert first.close() == ""  # its last line: leave_classroom()
        assert other_notebook.run("greet-right")[0].startswith("✓")
        time.sleep(1)  # what it would have sent has had time to arrive
        assert outcomes_of(tmp_path, "Ada") == {"request_counter": "passed"}, "nothing after leaving"
        assert other_notebook.close() == ""
