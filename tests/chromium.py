"""Headless Chromium for the tests that look as a learner does: at the echo page, and at a real JupyterLab.

Chromium is Debian's, driven by Playwright (never a downloaded browser). JupyterLab serves a
temporary COPY of notebooks/ (its autosave never touches the committed files), with its settings
and state in a temporary folder, on 127.0.0.1, with nothing fetched from the network.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pathlib
import secrets
import shutil
import sys
import urllib.request

import pytest

from tools.browser import find_chromium, launch_chromium
from workshop import REPO, serve_process

ARTIFACTS = REPO / "test-artifacts"  # screenshots to look at after a run


def require_chromium(what: str) -> None:
    """Skip the calling test module without Chromium; in CI, fail instead: CI must run ``what``."""
    if find_chromium() is not None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run {what}: install Debian's chromium (.ci/run does)", pytrace=False)
    pytest.skip(
        "no Chromium found: sudo apt-get install chromium (the lessons do not need it)", allow_module_level=True
    )


@dataclasses.dataclass
class Lab:
    url: str  # the server's root URL
    token: str
    settings: pathlib.Path  # JUPYTERLAB_SETTINGS_DIR: write user settings here before opening a page
    server: object  # the kit's handle on the process: .logs to print when a test fails
    root: pathlib.Path  # the folder it serves: notebooks/ is the copy

    def notebook_url(self, notebook: str) -> str:
        return f"{self.url}lab/tree/notebooks/{notebook}?token={self.token}"

    def set_theme(self, theme: str) -> None:
        path = self.settings / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"theme": theme}))

    def start_afresh(self) -> None:
        """As a JupyterLab just started, for the next test sharing it: no kernel running (the server keeps
        a page's kernels after the page is closed), and no workspace (a page reopens the tabs it finds there)."""
        sessions = f"{self.url}api/sessions"
        headers = {"Authorization": f"token {self.token}"}
        with urllib.request.urlopen(urllib.request.Request(sessions, headers=headers), timeout=30) as response:
            running = json.load(response)
        for session in running:
            request = urllib.request.Request(f"{sessions}/{session['id']}", headers=headers, method="DELETE")
            urllib.request.urlopen(request, timeout=60).close()
        for workspace in (self.settings.parent / "workspaces").glob("*"):
            workspace.unlink()


@contextlib.contextmanager
def serve_jupyterlab(tmp_path: pathlib.Path, name: str = "jupyter lab"):
    """A JupyterLab serving a copy of notebooks/ from ``tmp_path``; yields a ``Lab``."""
    root = tmp_path / "root"
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    state = tmp_path / "state"
    settings = state / "settings"
    env = {
        "JUPYTER_CONFIG_DIR": state / "config",
        "JUPYTER_RUNTIME_DIR": state / "runtime",
        "JUPYTER_DATA_DIR": state / "data",  # the venv's kernels are found in sys.prefix all the same
        "JUPYTERLAB_SETTINGS_DIR": settings,
        "JUPYTERLAB_WORKSPACES_DIR": state / "workspaces",
        "IPYTHONDIR": state / "ipython",
    }
    # No "get Jupyter news?" notification over the notebook, and no calls home.
    notifications = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
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
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")  # containers and CI run as root
    with serve_process(argv, name=name, env=env, ready_timeout=60) as server:
        yield Lab(server.url, token, settings, server, root)


@contextlib.contextmanager
def chromium():
    """Headless Chromium (Debian's, through Playwright); yields the browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


def open_and_run_all(page, url: str) -> None:
    """Open a notebook, wait for its kernel, then Run > Run All Cells (returns at once: cells run on)."""
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    wait_for_the_kernel(page)
    run_all(page)


def open_another(page, notebook: str) -> None:
    """Open one more notebook of the page's folder in the same JupyterLab, as a learner does (a
    double-click in the file browser): it becomes the visible tab, the others stay open behind it."""
    tabs = page.locator(".jp-NotebookPanel")
    before = tabs.count()
    page.locator(".jp-DirListing-item", has_text=notebook).first.dblclick()
    tabs.nth(before).locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)


def show_tab(page, notebook: str) -> None:
    """Bring an open notebook's tab to the front."""
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=notebook).first.click()


def wait_for_the_kernel(page) -> None:
    """Until the visible notebook's kernel is idle. JupyterLab may first ask which kernel (the
    workshop installs its own)."""
    kernel_dialog = page.locator(".jp-Dialog button", has_text="Select")
    idle = page.locator("#jp-main-statusbar", has_text="| Idle")
    kernel_dialog.or_(idle).first.wait_for(timeout=90_000)
    if kernel_dialog.is_visible():
        kernel_dialog.click()
    idle.wait_for(timeout=90_000)


# Every code cell of the open notebooks has run: its prompt shows a number, not "*" or nothing.
ALL_CELLS_RAN = """() => {
    const prompts = [...document.querySelectorAll(".jp-Notebook .jp-CodeCell .jp-InputArea-prompt")];
    return prompts.length > 0 && prompts.every(prompt => /\\[\\d+\\]/.test(prompt.textContent));
}"""

NOT_RUN = """() => [...document.querySelectorAll(".jp-Notebook .jp-CodeCell")]
    .map(cell => [cell.querySelector(".jp-InputArea-prompt").textContent, cell.querySelector(".cm-line")?.textContent])
    .filter(([prompt]) => !/\\[\\d+\\]/.test(prompt))"""


def wait_until_every_cell_ran(page, timeout: float = 300) -> None:
    """Until Run All is over in every open notebook (JupyterLab scrolls to each cell it runs)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        page.wait_for_function(ALL_CELLS_RAN, timeout=timeout * 1000)
    except PlaywrightTimeoutError:
        not_run = page.evaluate(NOT_RUN)
        raise AssertionError(f"cells not run after {timeout} s (prompt, first line): {not_run}") from None


def run_all(page) -> None:
    """Run > Run All Cells in the visible notebook (returns at once: cells run on)."""
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
