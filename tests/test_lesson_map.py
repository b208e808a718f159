"""docs/lesson-map.md names every file of every lesson, and nothing that is not there.

A maintainer looking for everything about lesson NN (its notebook, exercise, solution, check module, the
tests of that check and of its "Your turn" cells, the kit helpers it imports) reads one row. The row is
checked against the repository: a lesson, notebook, exercise, solution, check module or test file missing
from the map fails, so does a path the map names that does not exist, and the helpers are read from the
notebooks' own imports, so the map cannot drift from them.
"""

import inspect
import json
import pathlib
import re

import pytest

import workshop
import workshop.checks
from workshop import REPO

MAP = REPO / "docs" / "lesson-map.md"
HEADER = "| lesson | notebook | exercise | solution | check module | tests | kit helpers |"
LINK = re.compile(r"\[`([^`]+)`\]\(([^)]+)\)")
NAME = re.compile(r"`([^`]+)`")
# `from workshop import a, b` or `from workshop.checks import (a, b)`, in code cells (magics and all)
IMPORT = re.compile(r"^[ \t]*from[ \t]+workshop(\.[\w.]+)?[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*)", re.M)


def rows() -> dict[str, dict[str, str]]:
    """The map's table: {lesson number: {column: cell}}."""
    text = MAP.read_text()
    assert HEADER in text, f"{MAP.name} has no table starting {HEADER!r}"
    columns = [cell.strip() for cell in HEADER.strip("|").split("|")]
    table = {}
    for line in text[text.index(HEADER) :].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = dict(zip(columns, (cell.strip() for cell in line.strip().strip("|").split("|")), strict=True))
        table[cells["lesson"]] = cells
    return table


def paths_in(cell: str) -> list[str]:
    """The repo paths a cell links to; each link's text is its path from the repo's root."""
    found = []
    for path, target in LINK.findall(cell):
        assert target == f"../{path}", f"the link to {path} points to {target}, not ../{path}"
        found.append(path)
    return found


def names_in(cell: str) -> set[str]:
    """The backticked names of a cell, links left out."""
    return set(NAME.findall(LINK.sub("", cell)))


def relative(path: pathlib.Path) -> str:
    return path.relative_to(REPO).as_posix()


def one(folder: str, lesson: str) -> str | None:
    found = sorted((REPO / folder).glob(f"{lesson}-*.ipynb"))
    assert len(found) <= 1, f"two {folder} for lesson {lesson}: {found}"
    return relative(found[0]) if found else None


def imports(notebook: str | None) -> dict[str, set[str]]:
    """What a notebook's code cells import from the kit: {"": {names from workshop}, ".checks": {...}, ...}."""
    found: dict[str, set[str]] = {}
    if notebook is None:
        return found
    for cell in json.loads((REPO / notebook).read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        for module, names in IMPORT.findall("".join(cell["source"])):
            names = re.sub(r"#[^\n]*", "", names).strip("() \n")
            found.setdefault(module, set()).update(n.split(" as ")[0].strip() for n in names.split(",") if n.strip())
    return found


LESSONS = sorted(path.name[:2] for path in (REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))
ROWS = rows()


def expected(lesson: str) -> dict[str, object]:
    """What the row of ``lesson`` must say, read from the repository."""
    notebook, exercise, solution = one("notebooks", lesson), one("exercises", lesson), one("solutions", lesson)
    used: dict[str, set[str]] = {}
    for source in (notebook, exercise, solution):
        for module, names in imports(source).items():
            used.setdefault(module, set()).update(names)
    checks = used.pop(".checks", set())
    helpers = used.pop("", set()) | {f"{module[1:]}.{name}" for module, names in used.items() for name in names}
    check_modules = {
        relative(pathlib.Path(inspect.getsourcefile(inspect.unwrap(getattr(workshop.checks, name))))) for name in checks
    }
    # its tests: files named for it (tests/checks/test_lesson07.py, tests/exercise07_answers.py), and files
    # with tests named for it (tests/test_your_turn.py's test_lesson_07_...)
    tests = {
        relative(path)
        for path in (REPO / "tests").rglob("*.py")
        if re.search(rf"(lesson|exercise)_?{lesson}", path.name)
        or re.search(rf"^def test_lesson_{lesson}_", path.read_text(), re.M)
    }
    return {
        "notebook": notebook,
        "exercise": exercise,
        "solution": solution,
        "check modules": check_modules,
        "checks": checks,
        "tests": tests,
        "helpers": helpers,
    }


def test_the_map_has_one_row_per_lesson():
    assert sorted(ROWS) == LESSONS, f"{MAP.name}: add or remove rows so that they are the lessons {LESSONS}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_row_names_the_lessons_files(lesson):
    row, want = ROWS.get(lesson), expected(lesson)
    assert row is not None, f"{MAP.name} has no row for lesson {lesson}"
    for column in ("notebook", "exercise", "solution"):
        assert paths_in(row[column]) == ([want[column]] if want[column] else []), f"lesson {lesson}'s {column}"
        if not want[column]:
            assert row[column] == "none", f"lesson {lesson} has no {column}: its cell says none"
    assert set(paths_in(row["check module"])) == want["check modules"], f"lesson {lesson}'s check module"
    assert names_in(row["check module"]) == want["checks"], f"lesson {lesson}'s checks, as its solution imports"
    assert set(paths_in(row["tests"])) == want["tests"], f"lesson {lesson}'s tests"
    assert names_in(row["kit helpers"]) == want["helpers"], f"lesson {lesson}'s kit helpers, as its notebooks import"


@pytest.mark.parametrize("lesson", LESSONS)
def test_each_check_is_tested_in_a_file_its_row_names(lesson):
    want = expected(lesson)
    for check in want["checks"]:
        assert any(check in (REPO / path).read_text() for path in want["tests"]), f"{check}: no test file of its row"


def test_every_file_of_a_lesson_is_in_the_map_and_every_path_in_it_exists():
    named = {path for row in ROWS.values() for cell in row.values() for path in paths_in(cell)}
    checks_folder = pathlib.Path(workshop.checks.__file__).parent
    files = [
        *(REPO / "notebooks").glob("*.ipynb"),
        *(REPO / "exercises").glob("*.ipynb"),
        *(REPO / "solutions").glob("*.ipynb"),
        *checks_folder.glob("lesson*.py"),
        *(REPO / "tests").rglob("test_lesson[0-9]*.py"),
    ]
    assert not sorted({relative(path) for path in files} - named), f"files of lessons missing from {MAP.name}"
    assert not sorted(path for path in named if not (REPO / path).is_file()), f"{MAP.name} names missing files"


def test_every_helper_named_is_the_kits():
    named = {name for row in ROWS.values() for name in names_in(row["kit helpers"])}
    assert not sorted(name for name in named if "." not in name and not hasattr(workshop, name))
