"""Exercises cannot drift from their solutions, and every check speaks to the learner."""

import asyncio
import filecmp
import pathlib
import re

import nbformat
import pytest
from nbclient import NotebookClient

from tools import exercises
from workshop import checks
from workshop.checks import ExerciseHint

REPO = pathlib.Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((REPO / "solutions").glob("*.ipynb"))
LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))


# --------------------------------------------------------------------------- one source


def test_exercises_are_exactly_what_make_exercises_produces(tmp_path):
    written = exercises.generate(REPO / "solutions", tmp_path)
    committed = sorted(p.name for p in (REPO / "exercises").glob("*.ipynb"))
    assert [p.name for p in written] == committed, "run `make exercises`: exercises/ and solutions/ differ"
    _, mismatch, errors = filecmp.cmpfiles(tmp_path, REPO / "exercises", committed, shallow=False)
    assert not mismatch and not errors, f"run `make exercises`: {mismatch + errors} are stale"


# 00 welcomes, 11 (the capstone) reads the classroom that carried every other exercise's checks all evening.
WITHOUT_AN_EXERCISE = {"00", "11"}


def test_every_lesson_from_01_has_an_exercise():
    lesson_numbers = {p.name[:2] for p in LESSONS if p.name[:2] not in WITHOUT_AN_EXERCISE}
    assert lesson_numbers <= {p.name[:2] for p in SOLUTIONS}


def test_a_solution_region_becomes_a_stub_with_the_task():
    source = "def f():\n    ### BEGIN SOLUTION add one\n    return 1 + 1\n    ### END SOLUTION\n"
    assert exercises.stub_source(source) == (
        "def f():\n    # your code here: add one\n    raise NotImplementedError('add one')\n"
    )


@pytest.mark.parametrize(
    "source",
    [
        "### BEGIN SOLUTION\nx = 1",
        "x = 1\n### END SOLUTION",
        "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
    ],
)
def test_broken_markers_are_reported(source):
    with pytest.raises(exercises.MarkerError):
        exercises.stub_source(source)


def test_exercises_keep_no_answer_and_no_output():
    for path in (REPO / "exercises").glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            assert "BEGIN SOLUTION" not in cell.source
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None


# --------------------------------------------------------------------------- unchanged exercises


@pytest.mark.parametrize("path", sorted((REPO / "exercises").glob("*.ipynb")), ids=lambda p: p.name)
def test_an_unchanged_exercise_reaches_every_check_and_each_gives_its_hint(path):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    check_cells = [c for c in notebook.cells if c.cell_type == "code" and re.match(r"check_\w+\(", c.source)]
    assert check_cells, "every exercise ends with a check"
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if cell in check_cells:
            assert [e.ename for e in errors] == ["ExerciseHint"], cell.source
            assert "still raises NotImplementedError" in errors[0].evalue
            assert "your code here" in errors[0].evalue
        else:
            assert not errors, f"only check cells may fail in an untouched exercise: {cell.source[:60]}"


def test_checks_also_run_where_an_event_loop_is_running(capsys):
    from tests.checks.test_lesson02 import shout

    async def from_a_cell():  # a notebook cell's thread has a running loop
        checks.check_shouting_app(shout)

    asyncio.run(from_a_cell())
    assert "\u2713" in capsys.readouterr().out


def test_a_hint_shows_as_one_line_in_a_notebook():
    assert ExerciseHint("forgot to accept")._render_traceback_() == ["\x1b[31mNot yet:\x1b[0m forgot to accept"]


# --------------------------------------------------------------------------- every check is tested


def _checks_tested_in_tests_checks() -> set:
    """The checks whose tests live in a module of their own, tests/checks/test_lessonNN.py (every check's, now).

    How long each takes to give its hint is measured by benchmarks/check_hints.py, not asserted in a test.
    """
    modules = (REPO / "tests" / "checks").glob("test_lesson*.py")
    return {name for module in modules for name in re.findall(r'"(check_\w+)"', module.read_text())}


def test_every_check_is_tested_in_tests_checks():
    assert _checks_tested_in_tests_checks() == set(checks.__all__) - {"ExerciseHint"}


# --------------------------------------------------------------------------- the checks' layout


def test_checks_live_one_module_per_lesson_and_share_only_public_names():
    import ast

    package = REPO / "workshop" / "checks"
    lessons = sorted(p.stem for p in package.glob("lesson*.py"))
    assert lessons == [f"lesson{n:02d}" for n in range(1, 11)]
    for module in [package / f"{name}.py" for name in lessons] + [package / "_common.py"]:
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:  # a relative import, from inside the kit
                private = [alias.name for alias in node.names if alias.name.startswith("_")]
                assert not private, f"{module.name} imports private names {private} from {node.module}"
                assert node.level == 1 or not (node.module or "").startswith("_"), module.name
                assert node.level == 2 or node.module == "_common", (
                    f"{module.name}: a lesson's check imports only the shared helpers, not another lesson"
                )
