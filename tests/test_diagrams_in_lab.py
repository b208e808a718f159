"""The flow diagrams in a real JupyterLab, in headless Chromium: run lessons 02 and 06, see the SVG.

JupyterLab serves a temporary COPY of the notebooks, so its autosave never touches the
committed files. 02 is looked at in the light theme, 06 in the dark one: the diagram is
drawn in ``currentColor`` inside JupyterLab's own text colour, so it must stay readable
(dark on light, light on dark). Screenshots are kept in test-artifacts/ to look at.
"""

import json
import os
import pathlib
import shutil
import sys

import pytest

from workshop import REPO, serve_process
from workshop.browser import find_chromium, launch_chromium

ARTIFACTS = REPO / "test-artifacts"
THEME_SETTINGS = pathlib.Path("@jupyterlab") / "apputils-extension" / "themes.jupyterlab-settings"

if find_chromium() is None:
    if os.environ.get("CI"):
        pytest.fail("CI must run the diagram screenshot test: install Debian's chromium (.ci/run does)", pytrace=False)
    pytest.skip("no Chromium found: sudo apt-get install chromium", allow_module_level=True)


@pytest.fixture
def lab(tmp_path):
    """JupyterLab on a copy of notebooks/, with its own settings, no token, on 127.0.0.1."""
    root = tmp_path
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    settings = root / "settings"
    env = {
        "JUPYTER_CONFIG_DIR": str(root / "config"),
        "JUPYTER_DATA_DIR": str(root / "data"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"),
        "IPYTHONDIR": str(root / "ipython"),
    }
    server = serve_process(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip={host}",
            "--port={port}",
            "--IdentityProvider.token=",
            "--allow-root",
            "--LabApp.extension_manager=readonly",
            f"--ServerApp.root_dir={root / 'notebooks'}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],  # no network
        env=env,
        name="jupyter lab (diagrams)",
        ready_timeout=60,
    )
    server.settings = settings
    yield server
    server.stop()


def set_theme(lab, theme: str) -> None:
    path = lab.settings / THEME_SETTINGS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"theme": theme}))


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


def luminance(css_colour: str) -> float:
    """0 (black) to 1 (white), from a computed 'rgb(r, g, b)'."""
    red, green, blue = (int(part) for part in css_colour[css_colour.index("(") + 1 :].rstrip(")").split(",")[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def run_all_and_find_the_diagram(page, lab, notebook: str, title: str):
    page.goto(f"{lab.url}lab/tree/{notebook}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    # Until the kernel is idle. JupyterLab may first ask which kernel (the workshop installs its own).
    kernel_dialog = page.locator(".jp-Dialog button", has_text="Select")
    idle = page.locator("#jp-main-statusbar", has_text="| Idle")
    kernel_dialog.or_(idle).first.wait_for(timeout=90_000)
    if kernel_dialog.is_visible():
        kernel_dialog.click()
    idle.wait_for(timeout=90_000)
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
    diagram = page.locator(f'svg.workshop-sequence[aria-label="{title}"]')
    diagram.wait_for(state="attached", timeout=180_000)
    diagram.scroll_into_view_if_needed()
    diagram.wait_for(state="visible", timeout=10_000)
    return diagram


@pytest.mark.parametrize(
    "notebook, title, theme, arrows",
    [
        ("02-asgi.ipynb", "one WebSocket's life", "JupyterLab Light", 10),
        ("06-scaling-with-redis.ipynb", "one group_send, two processes, one Redis", "JupyterLab Dark", 12),
    ],
)
def test_the_diagram_is_drawn_and_readable_in_jupyterlab(lab, browser, notebook, title, theme, arrows):
    set_theme(lab, theme)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    diagram = None
    try:
        diagram = run_all_and_find_the_diagram(page, lab, notebook, title)
        box = diagram.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 100, box
        assert diagram.locator("line[marker-end]").count() == arrows
        colour = diagram.evaluate("svg => getComputedStyle(svg).color")
        background = page.evaluate(
            "() => getComputedStyle(document.body).getPropertyValue('--jp-layout-color0').trim()"
        )
        light_theme = theme == "JupyterLab Light"
        assert (luminance(colour) < 0.4) if light_theme else (luminance(colour) > 0.6), (theme, colour, background)
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"diagram-{notebook}.png"))
        if diagram is not None and diagram.is_visible():
            diagram.screenshot(path=str(ARTIFACTS / f"diagram-{notebook}-svg.png"))
        page.close()
