"""Installs need the network once: `make setup` downloads this machine's wheels, then installs with no index.

`make test` never downloads: the Binder test builds its fresh environment from the wheels
`make setup` already has (.state/wheels). The download itself runs in
`make test-offline-install`, the one target that needs the network.
"""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from workshop import REPO
from workshop.preflight import MODULES

DEV_MODULES = ["playwright", "ruff", "nbval", "hypothesis", "xdist", "pytest_timeout", "psycopg"]


def dry_run(*make_args, target="setup"):
    return subprocess.run(
        ["make", "-n", "-B", target, "VENV=/nonexistent-venv", *make_args],
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


def test_make_setup_dev_adds_the_dev_extra_from_the_same_folder():
    """`make test` and `make lint` install the learner's set, then the dev extra on top."""
    commands = dry_run(target="setup-dev")
    learner = commands.index(f"--no-index --find-links {REPO}/.state/wheels -e .\n")
    download = commands.index(f"-m tools.wheelhouse --here --dev --dest {REPO}/.state/wheels")
    extra = commands.index(f'--no-index --find-links {REPO}/.state/wheels -e ".[dev]"')
    assert learner < download < extra


def test_make_lab_offline_installs_from_the_wheelhouse_and_downloads_nothing():
    commands = dry_run("OFFLINE=1")
    assert f"--no-index --find-links {REPO}/wheelhouse -e ." in commands
    assert "--upgrade pip" not in commands and "tools.wheelhouse" not in commands


def installs_with_no_index(python: str, wheelhouse, tmp_path):
    """A fresh venv of ``python`` installs the project from ``wheelhouse`` alone, and imports everything."""
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    in_venv = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    installed = subprocess.run(
        [str(in_venv), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(wheelhouse), "-e", "."],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},  # no extra index or find-links from this machine
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    imports = "; ".join(f"import {module}" for module in [*MODULES.values(), "workshop", "echo_project.asgi"])
    imported = subprocess.run([str(in_venv), "-c", imports], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0, imported.stderr
    # the stick is the learner's: nothing of the dev extra (tests, browser, lint) is installed from it
    dev_extra = f"import importlib.util as u; print([m for m in {DEV_MODULES!r} if u.find_spec(m)])"
    found = subprocess.run([str(in_venv), "-c", dev_extra], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert found.stdout.strip() == "[]", found.stdout + found.stderr


def make_wheelhouse(*args, dest):
    made = subprocess.run(
        [sys.executable, "-m", "tools.wheelhouse", *args, "--dest", str(dest)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    return made.stdout


@pytest.mark.downloads
def test_a_fresh_venv_installs_everything_from_freshly_downloaded_wheels(tmp_path):
    make_wheelhouse("--here", dest=tmp_path / "wheelhouse")
    installs_with_no_index(sys.executable, tmp_path / "wheelhouse", tmp_path)


def interpreter(version: str) -> str | None:
    """pyenv's newest patch release of a Python, else python3.X on PATH (as .ci/run finds them)."""
    found = sorted(
        pathlib.Path(os.environ.get("PYENV_ROOT", pathlib.Path.home() / ".pyenv")).glob(
            f"versions/{version}.*/bin/python3"
        )
    )
    return str(found[-1]) if found else shutil.which(f"python{version}")


@pytest.mark.downloads
@pytest.mark.parametrize("version", ["3.10", "3.13"], ids=["oldest", "newest"])
def test_the_wheelhouse_for_another_python_installs_it_offline(tmp_path, version):
    """`make wheelhouse` resolves each Python on its own; the stick must install the oldest and newest supported."""
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} on this machine")
    platform = {"x86_64": "linux-x86_64", "aarch64": "linux-aarch64"}.get(os.uname().machine)
    if sys.platform != "linux" or platform is None:
        pytest.skip("checked on Linux, where CI runs")
    report = make_wheelhouse("--python", version, "--platform", platform, dest=tmp_path / "wheelhouse")
    assert f"ok     {platform} Python {version}" in report
    installs_with_no_index(python, tmp_path / "wheelhouse", tmp_path)
