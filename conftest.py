"""pytest for the whole repo: Django is echo_project's, set up by pytest-django (pytest.ini names the settings).

Notebooks run in kernels of their own (nbval); everything else that needs Django in the test process uses
echo_project's settings, so tests never disagree about them. The kit and echo_project come from the project's
install (`pip install -e .`); pytest puts this folder on the path, which is how tests import the maintainer `tools`.

Two databases, neither of them the learner's echo_project/db.sqlite3:

- in this process, pytest-django's test database (a file in pytest's temporary folder, one per process), for
  the tests marked ``django_db``; pytest-django refuses any other test's query, as in echo_project's own run;
- for the servers, workers and notebook kernels the tests start (other processes, which read ``DATABASE_URL``),
  a SQLite file of this pytest process's own (each xdist worker, and a run without xdist), migrated once here.
"""

import atexit
import gc
import os
import pathlib
import subprocess
import sys

import pytest

from workshop import ECHO_PROJECT, running_servers, stop_all

REPO = pathlib.Path(__file__).resolve().parent
# Assigned, not defaulted: xdist's workers inherit the controller's environment, and a shared file would let
# one worker's clean-up delete what another is in the middle of. Servers and kernels the tests start inherit it.
worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
SERVERS_DATABASE = REPO / ".state" / "tests" / f"echo-{worker}-{os.getpid()}.sqlite3"
os.environ["DATABASE_URL"] = f"sqlite:///{SERVERS_DATABASE}"


def pytest_configure(config):
    """The servers' database gets its tables, where tests run: each xdist worker, or the one process of ``-n 0``;
    not xdist's controller, which runs none. A process of its own, as the servers are: this one's Django is
    pytest-django's, whose connections point at the test database."""
    if getattr(config, "workerinput", None) is None and config.getoption("numprocesses", None):
        return
    SERVERS_DATABASE.parent.mkdir(parents=True, exist_ok=True)
    SERVERS_DATABASE.unlink(missing_ok=True)
    atexit.register(SERVERS_DATABASE.unlink, missing_ok=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ECHO_PROJECT, check=True, timeout=120
    )


# The test database is a file in pytest's temporary folder, as echo_project's own run makes it (why: the fixture's
# module docstring); the same fixture here, so that a run from the root gives every test the same one.
from echo.tests.conftest import django_db_modify_db_settings  # noqa: E402, F401 (a fixture)

# How the tests are shared between xdist's workers (--dist loadfile in pytest.ini, refined by tests/scheduling.py).
pytest_plugins = ["tests.scheduling"]


def pytest_addoption(parser):
    parser.addoption(
        "--run-download",
        action="store_true",
        help="also run the tests that download wheels (make test-offline-install)",
    )


def pytest_collection_finish(session):
    """Everything imported so far (Django, the kit, every test module) lives as long as the run: frozen, the
    full collections the checks make after running a learner's code (``gc.collect()``, so an unretrieved task
    reports now) skip it, and cost what the check's own objects cost, as in a learner's kernel."""
    gc.freeze()


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-download"):
        return
    skip = pytest.mark.skip(reason="needs the network: make test-offline-install")
    for item in items:
        if "downloads" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def no_server_left_running():
    """Every test leaves no server of the kit running."""
    yield
    left = running_servers()
    stop_all()
    assert not left, f"the test left servers running: {left}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so a fixture can tell the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report
