"""The README's commands do what it says."""

import http.client
import json
import os
import pathlib
import subprocess
import sys

from workshop import REPO, fetch, serve_process

TOKEN = "workshop-test-token"


def test_make_lab_starts_jupyterlab_on_the_notebooks():
    lab_args = f"--no-browser --ServerApp.ip=127.0.0.1 --port={{port}} --IdentityProvider.token={TOKEN}"
    venv = pathlib.Path(sys.prefix)
    with serve_process(
        ["make", "--no-print-directory", "lab", f"VENV={venv}", f"LAB_ARGS={lab_args}"], cwd=REPO, ready_timeout=90
    ) as lab:
        page = fetch(f"{lab.url}lab?token={TOKEN}")
        assert page.status == 200 and "JupyterLab" in page.text
        listing = fetch(f"{lab.url}api/contents/notebooks?token={TOKEN}")
        assert listing.status == 200
        names = {item["name"] for item in json.loads(listing.body)["content"]}
        assert "00-welcome.ipynb" in names
        # The browser that `make lab` opens goes to the server's root: it must land on lesson 00, not the Launcher.
        root = http.client.HTTPConnection(lab.host, lab.port, timeout=10)
        root.request("GET", f"/?token={TOKEN}")
        landing = root.getresponse()
        assert landing.status in (301, 302, 303, 307), landing.status
        assert landing.getheader("Location").split("?")[0].endswith("/lab/tree/notebooks/00-welcome.ipynb")
        root.close()
    # and JupyterLab asks nothing about Jupyter news over lesson 00 (its notification setting answers it)
    news = REPO / ".state/jupyter/lab/user-settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"
    assert json.loads(news.read_text())["fetchNews"] == "false"
    assert lab.process.poll() is not None


def test_make_check_passes_here():
    result = subprocess.run(
        [sys.executable, "-m", "workshop.preflight"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[ ok ] a server starts in the background and a WebSocket echoes" in result.stdout
    assert "[FAIL]" not in result.stdout and "Ready for the workshop" in result.stdout


def make_dry_run(*args: str) -> str:
    return subprocess.run(
        ["make", "-n", "--no-print-directory", *args], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout


def test_make_outputs_reexecutes_then_remarks_slides_then_regenerates_exercises():
    commands = make_dry_run("outputs", "NB=notebooks/00-welcome.ipynb").replace("\\\n", " ").splitlines()
    steps = [
        next(i for i, line in enumerate(commands) if "nbconvert" in line and "--execute --inplace" in line),
        commands.index(".venv/bin/python -m tools.slides mark"),
        commands.index(".venv/bin/python -m tools.exercises solutions exercises"),
    ]
    assert steps == sorted(steps)
    assert "notebooks/00-welcome.ipynb" in commands[steps[0]] and "record_timing=False" in commands[steps[0]]
    assert "nbconvert.preprocessors.CoalesceStreamsPreprocessor" in commands[steps[0]]  # one output per stream


def test_make_lint_checks_and_never_rewrites():
    commands = make_dry_run("lint")
    assert "ruff check ." in commands and "ruff format --check ." in commands
    assert "--fix" not in commands
