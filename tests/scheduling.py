"""How ``make test`` shares the suite between xdist's workers: ``--dist loadfile``, the longest first.

Each test file is one unit of work, run on one worker in its order, as xdist's ``loadfile`` runs it:
a notebook's cells share nbval's kernel, and a module's fixtures (a JupyterLab, a fresh venv, a
PostgreSQL server) are set up once. The files whose every test starts from nothing, a fresh kernel
running a lesson, are cut into one unit per test, so their long tests spread over the workers.

Units start longest first, the rest in xdist's order: a worker that finishes early takes the
short ones, and no worker is left running one long file alone at the end (xdist starts the files
with the most tests first, whatever they cost). ``SECONDS`` holds the long units' cost as measured
with ``python -m pytest --durations=0`` on the 2-core machine (relative figures are what matter);
a unit it does not name is assumed short.

(xdist's ``loadgroup`` with ``xdist_group`` marks would say the same, but its workers rename the
tests to carry their group, and pytest 9 no longer lets them: every test became a unit of its own.)
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


def unit_of(nodeid: str) -> str:
    """The test's unit of work: its file, or the test itself in a file of ``ONE_UNIT_PER_TEST``."""
    file = nodeid.split("::", 1)[0]
    return nodeid if pathlib.PurePosixPath(file).name in ONE_UNIT_PER_TEST else file


def seconds_of(unit: str) -> float:
    """What a unit cost when measured (a test by its name and parameters, a file by the end of its path), else 0."""
    name = unit.split("::")[-1]
    return next((seconds for key, seconds in SECONDS.items() if key in (unit, name) or unit.endswith("/" + key)), 0)


def longest_first(loadfile: type) -> type:
    """xdist's loadfile scheduling (the class given), with the units above, handed out longest first."""

    class LoadFileLongestFirst(loadfile):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

        def _assign_work_unit(self, node) -> None:
            if not getattr(self, "ordered", False):  # the queue is whole before the first unit is handed out
                units = sorted(self.workqueue.items(), key=lambda unit: -seconds_of(unit[0]))  # ties keep order
                self.workqueue.clear()
                self.workqueue.update(units)
                self.ordered = True
            super()._assign_work_unit(node)

    return LoadFileLongestFirst


# Before xdist's own, which returns its loadfile; optional: without xdist (-p no:xdist) the tests run all the same.
@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    return longest_first(LoadFileScheduling)(config, log)
