"""pytest for the whole repo: Django is echo_project's, configured once per process.

Notebooks run in kernels of their own (nbval); everything else that needs Django
in the test process uses echo_project's settings, so tests never disagree about them.
The kit and echo_project come from the project's install (`pip install -e .`); pytest
puts this folder on the path, which is how tests import the maintainer `tools`.
"""

import atexit
import gc
import os
import pathlib

REPO = pathlib.Path(__file__).resolve().parent
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echo_project.settings")
# A database of the tests' own, one per pytest process (each xdist worker, and the controller),
# migrated afresh: never the learner's echo_project/db.sqlite3. Assigned, not defaulted: xdist's
# workers inherit the controller's environment, and a shared file would let one worker's clean-up
# delete what another is in the middle of. Servers and kernels the tests start inherit it.
worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
TEST_DATABASE = REPO / ".state" / "tests" / f"echo-{worker}-{os.getpid()}.sqlite3"
TEST_DATABASE.parent.mkdir(parents=True, exist_ok=True)
TEST_DATABASE.unlink(missing_ok=True)
atexit.register(TEST_DATABASE.unlink, missing_ok=True)
os.environ["DATABASE_URL"] = f"sqlite:///{TEST_DATABASE}"

import django  # noqa: E402
from django.core.management import call_command  # noqa: E402

django.setup()
call_command("migrate", verbosity=0)


import pytest  # noqa: E402

from workshop import running_servers, stop_all  # noqa: E402

# How the tests are shared between xdist's workers (--dist loadgroup in pytest.ini).
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
