"""Lesson 04's headline moment in a real JupyterLab: Run All, then type into the echo page in the notebook.

JupyterLab serves a temporary copy of the notebooks (its autosave never touches the committed
ones) and runs them in this venv's kernel; Debian's Chromium, headless, plays the learner.
"""

import json
import os
import secrets
import shutil
import sys

import pytest

from workshop import REPO, serve_process
from workshop.browser import find_chromium, launch_chromium

ARTIFACTS = REPO / "test-artifacts"
LESSON = "04-echo-chamber.ipynb"

if find_chromium() is None:
    if os.environ.get("CI"):
        pytest.fail("CI must run the JupyterLab test: install Debian's chromium (.ci/run does)", pytrace=False)
    pytest.skip(
        "no Chromium found: sudo apt-get install chromium (the lessons do not need it)", allow_module_level=True
    )


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab on 127.0.0.1 serving a copy of notebooks/, with its state in tmp_path; yields its URL."""
    root = tmp_path / "root"
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    state = tmp_path / "state"
    env = {
        "JUPYTER_RUNTIME_DIR": state / "runtime",
        "JUPYTER_DATA_DIR": state / "data",  # the venv's kernels are found in sys.prefix all the same
        "JUPYTERLAB_SETTINGS_DIR": state / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": state / "workspaces",
        "IPYTHONDIR": state / "ipython",
    }
    # No "get Jupyter news?" notification over the notebook, and no calls home.
    notifications = state / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notifications.parent.mkdir(parents=True)
    notifications.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    token = secrets.token_hex(16)
    argv = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip={host}",
        "--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")  # containers and CI run as root
    with serve_process(argv, name="jupyter lab", env=env, ready_timeout=60) as server:
        yield f"{server.url}lab/tree/notebooks/{LESSON}?token={token}", server


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 900})
        finally:
            browser.close()


# The notebook's kernel is started and connected ("Run All" before that asks which kernel to start).
KERNEL_IDLE = """() => [...document.querySelectorAll(".jp-StatusBar-Widget")].some(
    bar => / \\| Idle/.test(bar.textContent) && !bar.textContent.includes("No Kernel"))"""

# Every code cell of the notebook has run: its prompt shows a number, not "*" or nothing.
ALL_CELLS_RAN = """() => {
    const prompts = [...document.querySelectorAll(".jp-Notebook .jp-CodeCell .jp-InputArea-prompt")];
    return prompts.length > 0 && prompts.every(prompt => /\\[\\d+\\]/.test(prompt.textContent));
}"""


def test_run_all_then_type_into_the_echo_page_inside_the_notebook(lab, page):
    url, server = lab
    try:
        page.goto(url)
        page.wait_for_function(KERNEL_IDLE, timeout=30_000)
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
        page.wait_for_function(ALL_CELLS_RAN, timeout=60_000)
        assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
        assert page.locator(".jp-Notebook .jp-RenderedText[data-mime-type*='error']").count() == 0

        frame = page.frame_locator(".jp-OutputArea-output iframe")
        frame.locator("#status[data-state='open']").wait_for(timeout=15_000)
        frame.locator("#typing").press_sequentially("lab", delay=30)
        frame.locator("#received li").nth(2).wait_for(timeout=10_000)
        assert frame.locator("#received li").all_inner_texts() == ["l", "a", "b"]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-echo.png"))
        page.locator(".jp-OutputArea-output iframe").screenshot(path=str(ARTIFACTS / "jupyterlab-echo-frame.png"))
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-failed.png"))
        print("JupyterLab's log:\n" + "\n".join(server.logs[-40:]))
        raise
