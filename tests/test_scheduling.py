"""tests/scheduling.py shares the suite between xdist's workers without splitting what must stay together."""

import os
import subprocess
import sys

from tests.scheduling import seconds_of, unit_of
from workshop import REPO

TWICE_08 = (
    "tests/test_notebooks_run_twice.py::test_run_all_twice_in_one_kernel_with_cell_ids[notebooks/08-testing.ipynb]"
)


def test_a_notebook_and_a_module_are_one_unit_a_fresh_kernel_test_is_one():
    assert unit_of("notebooks/08-testing.ipynb::Cell 3") == "notebooks/08-testing.ipynb"
    assert unit_of("tests/test_binder.py::test_a_lesson_runs_in_the_binder_environment[00-welcome.ipynb]") == (
        "tests/test_binder.py"
    )
    assert unit_of(TWICE_08) == TWICE_08
    assert unit_of("tests/test_your_turn.py::test_lesson_08_your_turn_answers") == (
        "tests/test_your_turn.py::test_lesson_08_your_turn_answers"
    )


def test_a_units_cost_is_found_by_its_test_or_the_end_of_its_path():
    assert (
        seconds_of("echo_project/echo/tests/test_history_under_load.py")
        == seconds_of(
            "tests/echo/test_history_under_load.py"  # wherever its folder is
        )
        > seconds_of("tests/test_binder.py")
        > 0
    )
    assert seconds_of("tests/echo/test_history.py") < seconds_of("tests/echo/test_history_under_load.py")
    assert seconds_of("notebooks/08-testing.ipynb") > 0 and seconds_of("solutions/08-testing.ipynb") == 0
    assert seconds_of(TWICE_08) > seconds_of(TWICE_08.replace("08-testing", "00-welcome")) == 0
    assert seconds_of("tests/test_not_measured.py") == 0


def test_xdist_keeps_each_file_on_one_worker_in_order_and_starts_the_longest(tmp_path):
    """Two workers, as make test runs them: test_binder.py and test_presence.py (measured long) start first,
    one on each worker; every file's tests run on one worker, in their order; test_your_turn.py's spread."""
    files = ["test_a.py", "test_b.py", "test_binder.py", "test_c.py", "test_presence.py", "test_your_turn.py"]
    for name in files:
        (tmp_path / name).write_text(
            "import os\n\n"
            + "".join(
                f"def test_{n}():\n"
                f"    with open('ran.txt', 'a') as ran:\n"
                f"        ran.write(f'{name} {n} {{os.environ[\"PYTEST_XDIST_WORKER\"]}}\\n')\n\n"
                for n in range(4)
            )
        )
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.scheduling", "-p", "no:cacheprovider", "-n", "2"]
        + ["--dist", "loadfile", "--basetemp", str(tmp_path / "tmp")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    runs = [line.split() for line in (tmp_path / "ran.txt").read_text().splitlines()]
    assert sorted((name, int(n)) for name, n, _ in runs) == [(name, n) for name in files for n in range(4)]
    first = {}
    for name, _, worker in runs:
        first.setdefault(worker, name)
    assert sorted(first.values()) == ["test_binder.py", "test_presence.py"], runs
    for name in files[:-1]:
        assert [int(n) for file, n, _ in runs if file == name] == [0, 1, 2, 3], f"{name}: in its order"
        assert len({worker for file, _, worker in runs if file == name}) == 1, f"{name}: on one worker"
