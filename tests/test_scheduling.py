"""tests/scheduling.py shares the suite between xdist's workers without splitting what must stay together."""

import itertools

from tests import scheduling


class Item:
    """What the hook reads of a collected test, and the mark it adds."""

    def __init__(self, nodeid: str):
        self.nodeid = nodeid
        self.name = nodeid.split("::")[-1]
        self.groups = []

    def add_marker(self, mark):
        assert mark.name == "xdist_group"
        self.groups.append(mark.args[0])


class Config:
    def __init__(self, dist: str):
        self.dist = dist

    def getoption(self, name, default=None):
        return self.dist if name == "dist" else default


NODEIDS = [
    "notebooks/00-welcome.ipynb::Cell 0",
    "notebooks/00-welcome.ipynb::Cell 1",
    "notebooks/08-testing.ipynb::Cell 0",
    "notebooks/08-testing.ipynb::Cell 1",
    "notebooks/08-testing.ipynb::Cell 2",
    "solutions/08-testing.ipynb::Cell 0",
    "tests/test_binder.py::test_environment_yml_installs_the_project_itself",
    "tests/test_binder.py::test_a_lesson_runs_in_the_binder_environment[00-welcome.ipynb]",
    "tests/test_notebooks_run_twice.py::test_run_all_twice_in_one_kernel_with_cell_ids[notebooks/00-welcome.ipynb]",
    "tests/test_notebooks_run_twice.py::test_run_all_twice_in_one_kernel_with_cell_ids[notebooks/08-testing.ipynb]",
    "tests/test_your_turn.py::test_lesson_08_your_turn_answers",
    "echo_project/echo/tests/test_history_under_load.py::test_a_slow_database_holds_no_other_room",
    "tests/echo/test_presence.py::test_a_burst[stock-redis]",
]


def schedule(dist: str = "loadgroup") -> list[Item]:
    items = [Item(nodeid) for nodeid in NODEIDS]
    scheduling.pytest_collection_modifyitems(Config(dist), items)
    return items


def test_a_notebook_and_every_file_stay_one_unit_in_their_order():
    items = schedule()
    assert sorted(item.nodeid for item in items) == sorted(NODEIDS), "every test runs, once"
    units = [item.groups[0] for item in items]
    assert all(len(item.groups) == 1 for item in items)
    for first, second in itertools.pairwise(items):
        if first.groups == second.groups:
            assert NODEIDS.index(first.nodeid) < NODEIDS.index(second.nodeid), "in their order"
    assert [units.index(unit) for unit in units] == sorted(units.index(unit) for unit in units), "contiguous"
    by_file = {}
    for item in items:
        by_file.setdefault(item.nodeid.split("::")[0], set()).add(item.groups[0])
    assert by_file["notebooks/08-testing.ipynb"] == {"notebooks/08-testing.ipynb"}
    assert by_file["notebooks/08-testing.ipynb"] != by_file["solutions/08-testing.ipynb"]
    assert len(by_file["tests/test_binder.py"]) == 1, "a module's fixtures are set up once"
    assert len(by_file["tests/test_notebooks_run_twice.py"]) == 2, "each lesson's fresh kernel on any worker"
    assert not any("@" in unit or "]" in unit for unit in units), "xdist reads the group after the last @"


def test_the_longest_units_start_first_the_rest_in_collection_order():
    units = list(dict.fromkeys(item.groups[0] for item in schedule()))
    assert units == [
        "echo_project/echo/tests/test_history_under_load.py",  # found by its name, wherever its folder is
        "tests/test_binder.py",
        "tests/echo/test_presence.py",
        "tests/test_notebooks_run_twice.py::test_run_all_twice_in_one_kernel_with_cell_ids(notebooks/08-testing.ipynb)",
        "notebooks/08-testing.ipynb",
        "tests/test_your_turn.py::test_lesson_08_your_turn_answers",
        "notebooks/00-welcome.ipynb",  # not measured: short, in collection order
        "solutions/08-testing.ipynb",
        "tests/test_notebooks_run_twice.py::test_run_all_twice_in_one_kernel_with_cell_ids(notebooks/00-welcome.ipynb)",
    ]


def test_without_workers_the_order_is_the_files_own():
    assert [item.nodeid for item in schedule("no")] == NODEIDS
