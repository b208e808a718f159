"""Installs need the network once: `make setup` downloads this machine's wheels, then installs with no index.

`make test` never downloads: the Binder test builds its fresh environment from the wheels
`make setup` already has (.state/wheels). The download itself runs in
`make test-offline-install`, the one target that needs the network.
"""

import os
import subprocess
import sys

import pytest

from workshop import REPO
from workshop.preflight import MODULES


def dry_run(*make_args):
    return subprocess.run(
        ["make", "-n", "-B", "setup", "VENV=/nonexistent-venv", *make_args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_make_setup_downloads_once_then_installs_the_project_with_no_index():
    commands = dry_run()
    download = commands.index(f"-m tools.wheelhouse --here --dest {REPO}/.state/wheels")
    install = commands.index(f"pip install --quiet --no-index --find-links {REPO}/.state/wheels -e .")
    assert download < install


def test_make_lab_offline_installs_from_the_wheelhouse_and_downloads_nothing():
    commands = dry_run("OFFLINE=1")
    assert f"--no-index --find-links {REPO}/wheelhouse -e ." in commands
    assert "--upgrade pip" not in commands and "tools.wheelhouse" not in commands


@pytest.mark.downloads
def test_a_fresh_venv_installs_everything_from_freshly_downloaded_wheels(tmp_path):
    wheelhouse, venv = tmp_path / "wheelhouse", tmp_path / "venv"
    made = subprocess.run(
        [sys.executable, "-m", "tools.wheelhouse", "--here", "--dest", str(wheelhouse)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(wheelhouse), "-e", "."],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},  # no extra index or find-links from this machine
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    imports = "; ".join(f"import {module}" for module in [*MODULES.values(), "workshop", "echo_project.asgi"])
    imported = subprocess.run([str(python), "-c", imports], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0, imported.stderr
