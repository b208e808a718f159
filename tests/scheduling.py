"""How ``make test`` shares the suite between xdist's workers (pytest.ini: ``--dist loadgroup``).

Each test file is one unit of work, run on one worker in its order, as ``--dist loadfile`` runs it:
a notebook's cells share nbval's kernel, and a module's fixtures (a JupyterLab, a fresh venv, a
PostgreSQL server) are set up once. The files whose every test starts from nothing, a fresh kernel
running a lesson, are cut into one unit per test, so their long tests spread over the workers.

Units start longest first, the rest in collection order: a worker that finishes early takes the
short ones, and no worker is left running one long file alone at the end (xdist otherwise starts
the files with the most tests first, whatever they cost). ``SECONDS`` holds the long units' cost
as measured with ``python -m pytest --durations=0`` on the 2-core machine (relative figures are
what matter); a unit it does not name is assumed short.
"""

from __future__ import annotations

import pathlib

import pytest

# Files whose tests share nothing but the lesson they run, each in a fresh kernel: one unit per test.
ONE_UNIT_PER_TEST = {"test_notebooks_run_twice.py", "test_your_turn.py"}

# Seconds per unit, over 5 s: a file by the end of its path (wherever its folder is), a test of a file
# above by its name and parameters.
SECONDS = {
    "test_history_under_load.py": 176,
    "test_binder.py": 90,
    "test_presence.py": 77,
    "test_diagrams_in_lab.py": 60,
    "test_history.py": 53,
    "test_run_all_twice_in_one_kernel_with_cell_ids[notebooks/08-testing.ipynb]": 50,
    "test_browser.py": 37,
    "test_run_all_twice_in_one_kernel_with_cell_ids[notebooks/06-scaling-with-redis.ipynb]": 36,
    "notebooks/08-testing.ipynb": 36,
    "test_bench.py": 35,
    "test_lesson_08_your_turn_answers": 32,
    "test_rehearse.py": 31,
    "test_make.py": 31,
    "test_lesson03.py": 31,
    "test_commands.py": 30,
    "test_scaling.py": 29,
    "test_exercises.py": 26,
    "test_attacks.py": 26,
    "test_jupyterlab.py": 25,
    "test_run_all_twice_in_one_kernel_with_cell_ids[notebooks/07-database.ipynb]": 22,
    "test_slides.py": 19,
    "test_values.py": 19,
    "test_lesson_06_your_turn_answers": 17,
    "notebooks/06-scaling-with-redis.ipynb": 16,
    "test_lesson_07_your_turn_answers": 20,
    "test_lesson_10_your_turn_answers": 15,
    "test_lifecycle.py": 15,
    "test_lesson09.py": 15,
    "test_lesson02.py": 14,
    "test_lesson05.py": 14,
    "test_lesson04.py": 13,
    "notebooks/07-database.ipynb": 13,
    "test_run_all_twice_in_one_kernel_with_cell_ids[notebooks/03-channels.ipynb]": 12,
    "test_serving.py": 12,
    "test_transport.py": 11,
    "test_lesson_08_your_turn_a_wrong_test": 11,
    "test_run_all_twice_in_one_kernel_with_cell_ids[notebooks/02-asgi.ipynb]": 11,
    "test_run_all_twice_in_one_kernel_with_cell_ids[notebooks/10-performance.ipynb]": 11,
    "test_lesson06.py": 11,
    "test_run_all_twice_in_one_kernel_with_cell_ids[notebooks/09-security-and-production.ipynb]": 10,
    "test_behaviour.py": 9,
    "test_run_all_twice_in_one_kernel_with_cell_ids[notebooks/04-echo-chamber.ipynb]": 9,
    "test_page_outage.py": 8,
    "test_run_all_twice_in_one_kernel_with_cell_ids[notebooks/05-groups.ipynb]": 8,
    "test_run_all_twice_in_one_kernel_with_cell_ids[solutions/06-scaling-with-redis.ipynb]": 7,
    "test_outages.py": 7,
    "notebooks/03-channels.ipynb": 7,
    "test_robustness.py": 7,
    "test_lesson08.py": 6,
}


def cost(unit: str) -> float:
    """The measured seconds of a unit (a test's name, or a file's path), else 0."""
    return next((seconds for key, seconds in SECONDS.items() if unit == key or unit.endswith("/" + key)), 0)


def unit_of(item: pytest.Item) -> tuple[str, float]:
    """The item's unit of work: its group's name for xdist (no "@" or "]", which xdist's parsing of
    nodeids would take for its own), and its cost."""
    file = item.nodeid.split("::")[0]
    if pathlib.Path(file).name in ONE_UNIT_PER_TEST:
        return f"{file}::{item.name}".replace("[", "(").replace("]", ")"), SECONDS.get(item.name, 0)
    return file, cost(file)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    if config.getoption("dist", "no") == "no":  # -n 0: the tests run in their own order
        return
    units: dict[str, list[pytest.Item]] = {}
    seconds: dict[str, float] = {}
    for item in items:
        group, seconds[group] = unit_of(item)
        units.setdefault(group, []).append(item)
        item.add_marker(pytest.mark.xdist_group(group))
    # sorted() keeps the collection order among equal costs, and each unit's tests in their order.
    items[:] = [item for group in sorted(units, key=lambda group: -seconds[group]) for item in units[group]]
