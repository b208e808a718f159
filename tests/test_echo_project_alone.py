"""echo_project stands alone: a copy of its folder, with no workshop around it, passes its own tests.

A developer who copies the folder copies working tests: `pytest` there (echo_project/pytest.ini) runs them with
pytest-django and the packages of echo_project/requirements-test.txt, and nothing of the workshop.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import textwrap

from workshop import ECHO_PROJECT

# This venv has the workshop installed (`pip install -e .`): each of its packages is made unimportable, so a test
# that still imports one fails, as it would in a copy. echo and echo_project must come from the copy itself.
RUN_ITS_TESTS = textwrap.dedent("""
    import pathlib, sys
    for name in ("workshop", "tests", "tools"):
        sys.modules[name] = None
    import pytest
    status = pytest.main(["-q"])
    import echo, echo_project
    for package in (echo, echo_project):
        assert pathlib.Path(package.__file__).is_relative_to(pathlib.Path.cwd()), package.__file__
    sys.exit(status)
""")


def test_a_copy_of_echo_project_alone_passes_its_own_tests():
    with tempfile.TemporaryDirectory(prefix="echo-project-alone-") as folder:  # outside the repo, unlike tmp_path
        copy = pathlib.Path(folder) / "echo_project"
        shutil.copytree(ECHO_PROJECT, copy, ignore=shutil.ignore_patterns("__pycache__", "db.sqlite3*"))
        # What the workshop's run sets (DATABASE_URL, the settings, xdist's and pytest's variables) stays out.
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"PYTHONPATH", "DJANGO_SETTINGS_MODULE", "DATABASE_URL"} and not key.startswith("PYTEST_")
        }
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        done = subprocess.run(
            [sys.executable, "-c", RUN_ITS_TESTS], cwd=copy, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        assert " passed" in done.stdout.splitlines()[-1] and "skipped" not in done.stdout.splitlines()[-1]
        # The tests used a test database of their own, never the learner's db.sqlite3.
        assert not list(copy.glob("db.sqlite3*")), "the tests wrote into the copy's db.sqlite3"
