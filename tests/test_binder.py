"""Binder, conda and a bare venv: what environment.yml asks for is enough to run the lessons.

repo2docker installs environment.yml's pip entries, runs postBuild, and starts Jupyter;
it never runs make. This test does the same in a fresh venv (the conda part, Python and
redis-server, is this machine's), with no PYTHONPATH and no .pth file of ours, then runs
lessons 00, 04 and 08 (pytest in the learner's install) from notebooks/ with `jupyter nbconvert
--execute`. It is the learner's install, `pip install -e .` with no dev extra: every name a lesson
or a check imports works there, and nothing of the extra (tests, browser, lint) is installed. Wheels come from
the folder `make setup` filled (WORKSHOP_WHEELS, else .state/wheels), with no index: no network.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

from workshop import REPO

LESSONS = ["00-welcome.ipynb", "04-echo-chamber.ipynb", "08-testing.ipynb"]
DEV_EXTRA = ["playwright", "ruff", "nbval", "hypothesis", "xdist", "pytest_timeout", "pytest_django", "psycopg"]
WHEELS = pathlib.Path(os.environ.get("WORKSHOP_WHEELS") or REPO / ".state" / "wheels")


def pip_entries() -> list[str]:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    return [entry for part in env["dependencies"] if isinstance(part, dict) for entry in part["pip"]]


def clean_environment(venv: pathlib.Path, home: pathlib.Path) -> dict:
    """This process's environment without what make or the test venv set: only the fresh venv is found."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JUPYTER", "IPYTHON", "PYTHON", "VIRTUAL_ENV", "PIP_", "WORKSHOP_"))
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        PIP_CONFIG_FILE=os.devnull,
        JUPYTER_PLATFORM_DIRS="1",
    )
    return env


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    if not any(WHEELS.glob("*.whl")):
        pytest.skip(f"no wheels in {WHEELS}: run `make setup` first")
    root = tmp_path_factory.mktemp("binder")
    venv, home = root / "venv", root / "home"
    home.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = clean_environment(venv, home)
    entries = [arg for entry in pip_entries() for arg in entry.split(maxsplit=1)]
    installed = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(WHEELS),
            *entries,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    post_build = subprocess.run(
        ["bash", str(REPO / "postBuild")], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert post_build.returncode == 0, post_build.stderr[-3000:]
    return venv, env, root


def test_environment_yml_installs_the_project_itself():
    assert "-e ." in pip_entries(), "Binder and conda would have no `workshop` to import"


def test_post_build_registers_the_kernel_the_readme_names(binder_env):
    venv, env, _ = binder_env
    listed = subprocess.run(
        [str(venv / "bin" / "jupyter"), "kernelspec", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    spec = json.loads(listed.stdout)["kernelspecs"]["realtime-workshop"]
    assert spec["spec"]["display_name"] == "Python (realtime workshop)"
    assert spec["resource_dir"].startswith(str(venv))
    assert "Python (realtime workshop)" in (REPO / "README.md").read_text()


def test_the_learner_install_has_every_name_lessons_import_and_nothing_of_the_dev_extra(binder_env):
    venv, env, root = binder_env
    probe = (
        "import importlib.util, workshop, workshop.checks, workshop.preflight, echo_project.asgi\n"
        "missing = [n for m in (workshop, workshop.checks) for n in m.__all__ if not hasattr(m, n)]\n"
        f"print(missing, [m for m in {DEV_EXTRA!r} if importlib.util.find_spec(m)], workshop.__file__)"
    )
    ran = subprocess.run([str(venv / "bin" / "python"), "-c", probe], cwd=root, env=env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.startswith("[] [] "), f"names missing, then dev packages installed: {ran.stdout}"
    assert ran.stdout.split()[-1] == str(REPO / "workshop" / "__init__.py")  # the editable install of this checkout


@pytest.mark.parametrize("lesson", LESSONS)
def test_a_lesson_runs_in_the_binder_environment(binder_env, lesson):
    venv, env, root = binder_env
    out = root / "out"
    ran = subprocess.run(
        [
            str(venv / "bin" / "jupyter"),
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            f"--output-dir={out}",
            "--ExecutePreprocessor.timeout=300",
            "--ExecutePreprocessor.kernel_name=realtime-workshop",
            str(REPO / "notebooks" / lesson),
        ],
        cwd=REPO / "notebooks",
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert ran.returncode == 0, ran.stderr[-5000:]
    executed = json.loads((out / lesson).read_text())
    code = [cell for cell in executed["cells"] if cell["cell_type"] == "code" and cell["source"]]
    errors = [
        output
        for cell in code
        for output in cell["outputs"]
        if output["output_type"] == "error" and "raises-exception" not in cell["metadata"].get("tags", [])
    ]
    assert not errors, [f"{e['ename']}: {e['evalue']}" for e in errors]
