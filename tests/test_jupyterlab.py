"""Lesson 04's headline moment in a real JupyterLab: Run All, then type into the echo page in the notebook.

JupyterLab serves a temporary copy of the notebooks (its autosave never touches the committed
ones) and runs them in this venv's kernel; Debian's Chromium, headless, plays the learner.
"""

import pytest

from tests.chromium import ARTIFACTS, chromium, open_and_run_all, require_chromium, serve_jupyterlab

LESSON = "04-echo-chamber.ipynb"

require_chromium("the JupyterLab test")


@pytest.fixture
def lab(tmp_path):
    with serve_jupyterlab(tmp_path) as lab:
        yield lab


@pytest.fixture
def page():
    with chromium() as browser:
        yield browser.new_page(viewport={"width": 1280, "height": 900})


# Every code cell of the notebook has run: its prompt shows a number, not "*" or nothing.
ALL_CELLS_RAN = """() => {
    const prompts = [...document.querySelectorAll(".jp-Notebook .jp-CodeCell .jp-InputArea-prompt")];
    return prompts.length > 0 && prompts.every(prompt => /\\[\\d+\\]/.test(prompt.textContent));
}"""


def test_run_all_then_type_into_the_echo_page_inside_the_notebook(lab, page):
    try:
        open_and_run_all(page, lab.notebook_url(LESSON))
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
        print("JupyterLab's log:\n" + "\n".join(lab.server.logs[-40:]))
        raise
