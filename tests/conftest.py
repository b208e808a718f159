"""Shared fixtures: every test leaves no server of the kit running."""

import os
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
for path in (REPO, REPO / "echo_project"):  # as the venv's .pth does, for a bare `pytest`
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from workshop import running_servers, stop_all  # noqa: E402


@pytest.fixture(autouse=True)
def no_server_left_running():
    yield
    left = running_servers()
    stop_all()
    assert not left, f"the test left servers running: {left}"
