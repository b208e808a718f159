"""The flow diagrams in a real JupyterLab, in headless Chromium: run lessons 02 and 06, see the SVG.

JupyterLab serves a temporary COPY of the notebooks, so its autosave never touches the
committed files. 02 is looked at in the light theme, 06 in the dark one: the diagram is
drawn in ``currentColor`` inside JupyterLab's own text colour, so it must stay readable
(dark on light, light on dark). Screenshots are kept in test-artifacts/ to look at.
"""

import pytest

from tests.chromium import ARTIFACTS, chromium, open_and_run_all, require_chromium, serve_jupyterlab

require_chromium("the diagram screenshot test")


@pytest.fixture
def lab(tmp_path):
    with serve_jupyterlab(tmp_path, "jupyter lab (diagrams)") as lab:
        yield lab


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def luminance(css_colour: str) -> float:
    """0 (black) to 1 (white), from a computed 'rgb(r, g, b)'."""
    red, green, blue = (int(part) for part in css_colour[css_colour.index("(") + 1 :].rstrip(")").split(",")[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def run_all_and_find_the_diagram(page, lab, notebook: str, title: str):
    open_and_run_all(page, lab.notebook_url(notebook))
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
    lab.set_theme(theme)
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
