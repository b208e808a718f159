"""The instructor's plans add up, leave slack, and agree with the README and the notebooks on minutes.

The guide (docs/instructor-guide.md) plans three evenings of about 3 hours. A plan whose parts do not
add up, or that fills 180 minutes exactly, fails on the evening; so does a lesson that says 30 minutes
in its notebook and 40 in the README. A lesson's minutes are its core path's; one that ends with a
"Going further" section says how many more minutes that takes, and the README and the guide agree.
"""

import json
import re

import pytest

from workshop import REPO

GUIDE = (REPO / "docs" / "instructor-guide.md").read_text()
README = (REPO / "README.md").read_text()
EVENING = 180  # minutes in a user-group evening
SLACK = 10  # at least this much of it left unplanned: questions, a laptop that will not start


def header_minutes(path) -> int:
    """The '**N minutes.**' a notebook's first cell promises."""
    first = "".join(json.loads(path.read_text())["cells"][0]["source"])
    return int(re.search(r"\*\*(\d+) minutes\.\*\*", first).group(1))


def going_further_minutes(path) -> int | None:
    """The 'Going further: about N more minutes.' of a notebook's first cell, if it has that section."""
    first = "".join(json.loads(path.read_text())["cells"][0]["source"])
    found = re.search(r"Going further: about (\d+) more minutes", first)
    return int(found.group(1)) if found else None


def table_rows(text: str, header: str) -> list[list[str]]:
    """The cells of each row of the markdown table whose header row starts with ``header``."""
    lines = text[text.index(header) :].splitlines()
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


LESSONS = {path.name[:2]: header_minutes(path) for path in sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))}
GOING_FURTHER = {
    path.name[:2]: minutes
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    if (minutes := going_further_minutes(path)) is not None
}
EXERCISES = {path.name[:2]: header_minutes(path) for path in sorted((REPO / "exercises").glob("[0-9][0-9]-*.ipynb"))}


def test_the_readme_agenda_gives_each_lesson_the_minutes_its_notebook_says():
    agenda = {row[0]: int(row[2]) for row in table_rows(README, "| # | notebook | minutes |")}
    assert agenda == LESSONS


def test_the_readme_agenda_gives_each_going_further_the_minutes_its_notebook_says():
    """A row reads '...; going further (N more): ...' when its lesson ends with a Going further section."""
    agenda = {}
    for row in table_rows(README, "| # | notebook | minutes |"):
        if found := re.search(r"going further \((\d+) more\)", row[3]):
            agenda[row[0]] = int(found.group(1))
    assert agenda == GOING_FURTHER


@pytest.mark.parametrize("lesson", sorted(GOING_FURTHER))
def test_a_going_further_section_says_the_minutes_its_header_says(lesson):
    """Its first cell reads 'Skippable in an evening (about N minutes)', as the header's 'about N more minutes'."""
    path = next((REPO / "notebooks").glob(f"{lesson}-*.ipynb"))
    cells = json.loads(path.read_text())["cells"]
    section = next("".join(cell["source"]) for cell in cells if "".join(cell["source"]).startswith("## Going further"))
    said = re.search(r"Skippable in an evening \(about (\d+) minutes\)", section)
    assert said and int(said.group(1)) == GOING_FURTHER[lesson], section


def test_the_guide_gives_each_lesson_and_exercise_the_minutes_their_notebooks_say():
    """The minutes column reads 'N' for the core path, then '(+M)' for a Going further section."""
    lessons, going_further, exercises = {}, {}, {}
    for lesson, minutes, _, exercise in table_rows(GUIDE, "| lesson | minutes |"):
        core, more = re.fullmatch(r"(\d+)(?: \(\+(\d+)\))?", minutes).groups()
        lessons[lesson[:2]] = int(core)
        if more:
            going_further[lesson[:2]] = int(more)
        if exercise != "none":
            exercises[exercise[:2]] = sum(int(n) for n in re.findall(r"\((\d+)\)", exercise))
    assert lessons == LESSONS
    assert going_further == GOING_FURTHER
    assert exercises == EXERCISES


def clock(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def test_the_first_evening_runs_on_time_and_leaves_slack():
    rows = table_rows(GUIDE, "| time | what |")
    end = 0
    for start, what, length, notes in rows:
        assert clock(start) == end, (
            f"{what!r} starts at {start}, but the row before it ends at {end // 60}:{end % 60:02d}"
        )
        minutes = int(re.search(r"(\d+) min", length).group(1))
        if lesson := re.match(r"(\d\d) ·", length):
            assert minutes == LESSONS[lesson.group(1)], what
            if lesson.group(1) in GOING_FURTHER:  # skipped in the evening, but the notes say how long it takes
                more = re.search(r"Going further \([^)]*?(\d+) min\)", notes)
                assert more and int(more.group(1)) == GOING_FURTHER[lesson.group(1)], what
        end += minutes
    assert end <= EVENING - SLACK, f"the first evening plans {end} of {EVENING} minutes: no room for a question"


EVENINGS = re.findall(r"\*\*(\w+) evening\*\* \((\d+) h(?: (\d+))?\): ([^;]*)", GUIDE)


@pytest.mark.parametrize("name, hours, minutes, parts", EVENINGS, ids=[e[0] for e in EVENINGS])
def test_every_other_evening_adds_up_and_leaves_slack(name, hours, minutes, parts):
    stated = int(hours) * 60 + int(minutes or 0)
    planned = 0
    for part, length in re.findall(r"([^,()]+?)\s*\((\d+)\)", parts):
        length = int(length)
        if exercise := re.fullmatch(r"exercise (\d\d)", part.strip()):
            assert length == EXERCISES[exercise.group(1)], part
        elif lesson := re.match(r"(\d\d) ", part.strip()):
            assert length == LESSONS[lesson.group(1)], part
        planned += length
    assert planned == stated, f"the {name} evening says {hours} h {minutes or 0}, its parts add up to {planned} min"
    assert planned <= EVENING - SLACK, f"the {name} evening plans {planned} of {EVENING} minutes"


def hours(text: str) -> int:
    """'2 h 35' or '3 h' in minutes."""
    found = re.fullmatch(r"(\d+) h(?: (\d+))?", text.strip())
    return int(found.group(1)) * 60 + int(found.group(2) or 0)


def test_the_first_evening_says_what_it_plans_and_what_is_left():
    planned = sum(
        int(re.search(r"(\d+) min", length).group(1)) for _, _, length, _ in table_rows(GUIDE, "| time | what |")
    )
    said = re.search(r"The first evening plans (\d+ h(?: \d+)?) of its 3 hours: the (\d+) minutes left", GUIDE)
    assert said, "the guide no longer says what the first evening plans"
    assert (hours(said.group(1)), int(said.group(2))) == (planned, EVENING - planned)


def test_the_taster_adds_up_and_its_slot_leaves_slack():
    """A shorter slot (a conference's tutorial): its parts add up, and the slot it asks for leaves slack."""
    said = re.search(r"\*\*Taster\*\* \((\d+ h(?: \d+)?), for a slot of (\d+ h(?: \d+)?) or more\): ([^;]*)", GUIDE)
    assert said, "the guide no longer plans a taster the test can read"
    planned = 0
    for part, length in re.findall(r"([^,()]+?)\s*\((\d+)\)", said.group(3)):
        if lesson := re.match(r"(\d\d) ", part.strip()):
            assert int(length) == LESSONS[lesson.group(1)], part
        planned += int(length)
    assert planned == hours(said.group(1)), f"the taster says {said.group(1)}, its parts add up to {planned} min"
    assert hours(said.group(2)) - planned >= SLACK, f"the taster plans {planned} of its {said.group(2)}"


def test_the_guide_gives_the_whole_series_its_minutes():
    said = re.search(
        r"is (\d+ h(?: \d+)?) of lessons on their core paths \((\d+ h(?: \d+)?) with every Going further\) "
        r"and (\d+ h(?: \d+)?) of exercises",
        " ".join(GUIDE.split()),
    )
    assert said, "the guide no longer says how long the series is"
    core = sum(LESSONS.values())
    assert [hours(said.group(n)) for n in (1, 2, 3)] == [
        core,
        core + sum(GOING_FURTHER.values()),
        sum(EXERCISES.values()),
    ]


def test_the_guide_plans_the_evenings_it_promises():
    assert [name for name, *_ in EVENINGS] == ["Second", "Third"]
