"""The offline install works: wheels for this machine, a fresh venv, no package index."""

import os
import pathlib
import subprocess
import sys

from workshop.preflight import MODULES

REPO = pathlib.Path(__file__).resolve().parent.parent


def test_make_lab_offline_installs_from_the_wheelhouse_with_no_index():
    dry_run = subprocess.run(["make", "-n", "-B", "setup", "OFFLINE=1", "VENV=/nonexistent-venv"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
    assert f"--no-index --find-links {REPO}/wheelhouse -r requirements.txt" in dry_run
    assert "--upgrade pip" not in dry_run


def test_a_fresh_venv_installs_everything_from_the_wheelhouse_and_imports_it(tmp_path):
    wheelhouse, venv = tmp_path / "wheelhouse", tmp_path / "venv"
    made = subprocess.run([sys.executable, "-m", "workshop.wheelhouse", "--here", "--dest", str(wheelhouse)],
                          capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stdout + made.stderr
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(wheelhouse),
         "-r", str(REPO / "requirements.txt")],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},  # no extra index or find-links from this machine
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    imports = "; ".join(f"import {module}" for module in MODULES.values())
    imported = subprocess.run([str(python), "-c", imports], capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0, imported.stderr
