"""The flow diagrams in a real JupyterLab, in headless Chromium, as a learner sees them.

JupyterLab serves a temporary COPY of the notebooks, so its autosave never touches the
committed files. What is asserted is what the page draws (pixels of a screenshot, the
image's rendered size), not what the SVG says:

- Lessons 02 and 06 open at once, one tab behind the other (JupyterLab keeps earlier lessons
  open), both Run All: every arrow of both diagrams has its arrowhead. Their SVGs once shared
  a marker id, and an arrow whose marker lay in the hidden tab was drawn without a head.
- A notebook just opened is not trusted: its stored diagram still shows, as an image.
- The diagram is never shrunk: its text is at least the notebook's body text, and a diagram
  wider than the cell scrolls sideways.
- It reads in JupyterLab Light and Dark: its ink against its plate, as rendered.

Screenshots are kept in test-artifacts/ to look at.
"""

import base64
import collections
import io
from xml.etree import ElementTree

import nbformat
import pytest
from matplotlib import image as png_image

from tests.chromium import (
    ARTIFACTS,
    chromium,
    open_and_run_all,
    open_another,
    require_chromium,
    run_all,
    serve_jupyterlab,
    show_tab,
    wait_for_the_kernel,
    wait_until_every_cell_ran,
)
from workshop import REPO

require_chromium("the diagram tests in JupyterLab")

LESSONS = [  # notebook, the diagram's title, its arrows
    ("02-asgi.ipynb", "one WebSocket's life", 10),
    ("06-scaling-with-redis.ipynb", "one group_send, two processes, one Redis", 12),
]


@pytest.fixture
def lab(tmp_path):
    with serve_jupyterlab(tmp_path, "jupyter lab (diagrams)") as lab:
        yield lab


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def pixels(png: bytes) -> list[tuple[int, int, int]]:
    """The (red, green, blue) of each pixel of a screenshot."""
    rows = png_image.imread(io.BytesIO(png), format="png")  # floats from 0 to 1
    return [tuple(round(float(channel) * 255) for channel in pixel[:3]) for row in rows for pixel in row]


def luminance(red: int, green: int, blue: int) -> float:
    """WCAG's relative luminance of an sRGB colour: 0 (black) to 1 (white)."""

    def linear(channel: int) -> float:
        channel /= 255
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast(light: float, dark: float) -> float:
    """WCAG's contrast ratio, 1 to 21 (4.5 is its minimum for body text, 7 its enhanced level)."""
    return (light + 0.05) / (dark + 0.05)


def the_diagram(page, title: str):
    """The diagram's <img> in the visible notebook, once it has loaded."""
    image = page.locator(f'img.workshop-sequence[alt="{title}"]').locator("visible=true")
    image.wait_for(timeout=240_000)
    page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=image.element_handle())
    return image


def drawing(image) -> ElementTree.Element:
    """The SVG the image shows (to know where its arrows are, not whether they are drawn)."""
    source = image.get_attribute("src")
    prefix = "data:image/svg+xml;base64,"
    assert source.startswith(prefix), source[:60]
    return ElementTree.fromstring(base64.b64decode(source[len(prefix) :]))


def arrows(svg: ElementTree.Element) -> list[tuple[float, float, float]]:
    """(x1, x2, y) of each arrow, in the diagram's own px."""
    return [
        (float(line.get("x1")), float(line.get("x2")), float(line.get("y1")))
        for line in svg.iter()
        if line.tag.endswith("line") and line.get("marker-end")
    ]


# Scroll the diagram's own box sideways and the notebook up or down until the diagram's point
# (x, y) is in view and stays put (JupyterLab lays its notebook out again after a scroll); return
# where it is on the screen.
SHOW_POINT = """async ([image, x, y]) => {
    const box = image.parentElement;
    let scroller = box.parentElement;
    while (scroller && !(scroller.scrollHeight > scroller.clientHeight
                         && /auto|scroll/.test(getComputedStyle(scroller).overflowY))) {
        scroller = scroller.parentElement;
    }
    const settled = () => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
    let last = null;
    for (let attempt = 0; attempt < 50; attempt++) {
        box.scrollLeft = Math.max(0, x - box.clientWidth / 2);
        if (scroller) {
            const view = scroller.getBoundingClientRect();
            scroller.scrollTop += image.getBoundingClientRect().top + y - (view.top + scroller.clientHeight / 2);
        }
        await settled();
        const where = image.getBoundingClientRect();
        const point = [where.left + x, where.top + y];
        if (last && point[0] === last[0] && point[1] === last[1]) return point;
        last = point;
    }
    throw new Error(`the diagram's point (${x}, ${y}) kept moving`);
}"""


def ink_pixels(page, image, left: float, top: float, width: int, height: int) -> int:
    """How many pixels of the diagram's region (its own px) the screen shows dark."""
    x, y = page.evaluate(SHOW_POINT, [image.element_handle(), left, top])
    shot = page.screenshot(clip={"x": x, "y": y, "width": width, "height": height})
    return sum(1 for pixel in pixels(shot) if luminance(*pixel) < 0.3)


def missing_arrowheads(page, image) -> list:
    """The arrows drawn without a head. Just below each arrow, a few px back from its tip, the
    head is ink; as far from its tail (no marker there), the plate shows: the control that the
    look finds a head only where one is drawn."""
    missing = []
    for x1, x2, y in arrows(drawing(image)):
        way = 1 if x2 > x1 else -1
        head = ink_pixels(page, image, min(x2 - 6 * way, x2 - 2 * way), y + 1, 5, 2)
        tail = ink_pixels(page, image, min(x1 + 6 * way, x1 + 2 * way), y + 1, 5, 2)
        if head < 3 or tail:
            missing.append({"arrow": (x1, x2, y), "ink at the head": head, "ink at the tail": tail})
    return missing


def assert_never_shrunk(page, image) -> dict:
    """Shown at its own size, not fit to the cell's width, so its text is as large as it was drawn:
    at least the notebook's body text (a paragraph of a markdown cell, as rendered)."""
    paragraph = page.locator(".jp-MarkdownCell .jp-RenderedMarkdown p").locator("visible=true").first
    paragraph.wait_for(timeout=30_000)
    body_text = paragraph.evaluate("p => parseFloat(getComputedStyle(p).fontSize)")
    size = image.evaluate(
        """image => ({
            shown: image.getBoundingClientRect().width, natural: image.naturalWidth,
            box: image.parentElement.clientWidth, scrolls: image.parentElement.scrollWidth,
        })"""
    )
    assert abs(size["shown"] - size["natural"]) < 0.5, size  # its own size, not the cell's width
    text = float(drawing(image).get("font-size")) * size["shown"] / size["natural"]  # px on screen
    assert text >= body_text, (text, body_text, size)
    return size


# The part of the diagram the page shows: the image, cut by its scrolling box and the window.
SHOWN_PART = """image => {
    const [shown, box] = [image.getBoundingClientRect(), image.parentElement.getBoundingClientRect()];
    const left = Math.max(shown.left, box.left, 0), top = Math.max(shown.top, box.top, 0);
    const right = Math.min(shown.right, box.right, innerWidth);
    const bottom = Math.min(shown.bottom, box.bottom, innerHeight);
    return {x: left, y: top, width: right - left, height: bottom - top};
}"""


def assert_readable(page, image, name: str) -> None:
    """The ink stands out from what is behind it, in the image as the page shows it: the
    commonest colour (the plate, or the page if the image let it through) against the darkest."""
    page.evaluate(SHOW_POINT, [image.element_handle(), 0, 0])
    part = image.evaluate(SHOWN_PART)
    assert part["width"] > 300 and part["height"] > 100, part
    ARTIFACTS.mkdir(exist_ok=True)
    shot = page.screenshot(clip=part, path=str(ARTIFACTS / f"diagram-{name}-image.png"))
    colours = collections.Counter(pixels(shot))
    behind = luminance(*colours.most_common(1)[0][0])
    ink = min(luminance(*colour) for colour in colours)
    assert contrast(behind, ink) >= 7, (name, behind, ink)


def test_two_diagram_notebooks_open_at_once_both_draw_every_arrowhead(lab, browser):
    lab.set_theme("JupyterLab Dark")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        (first, _, _), (second, _, _) = LESSONS
        open_and_run_all(page, lab.notebook_url(first))
        wait_until_every_cell_ran(page)
        open_another(page, second)  # the first stays open, in a hidden tab
        wait_for_the_kernel(page)
        run_all(page)
        wait_until_every_cell_ran(page)  # the page stops scrolling to the cell being run
        for notebook, title, count in (LESSONS[1], LESSONS[0]):  # the front tab first, then the other
            show_tab(page, notebook)
            image = the_diagram(page, title)
            assert len(arrows(drawing(image))) == count
            assert page.locator("img.workshop-sequence").count() == 2  # both notebooks' diagrams are in the page
            assert missing_arrowheads(page, image) == [], notebook
            assert_never_shrunk(page, image)
            assert_readable(page, image, f"{notebook}-dark")
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "diagrams-two-notebooks.png"))
        page.close()


WIDE_FLOW = """\
from workshop.diagrams import SequenceDiagram
from workshop.tracing import Hop

names = ["client 1", "client 2", "client 3", "server", "consumer 1", "consumer 2", "consumer 3", "channel layer"]
hops = [Hop(i, names[i % 8], names[(3 * i + 1) % 8], f"hop {i}: websocket.send text='hi'") for i in range(12)]
SequenceDiagram(hops, "eight participants")
"""


def test_a_notebook_just_opened_shows_its_diagram_as_an_image_at_full_size(lab, browser):
    """Stored by a run outside JupyterLab (as the committed lessons are), opened, never run: untrusted. In each
    theme, the same notebook as a file of its own, never opened before, in a JupyterLab as if just started."""
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook(metadata=nbformat.read(REPO / "notebooks" / "05-groups.ipynb", 4).metadata)
    notebook.cells = [
        nbformat.v4.new_markdown_cell("Body text: the diagram's text must be at least this large."),
        nbformat.v4.new_code_cell(WIDE_FLOW),
    ]
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": REPO}}).execute()
    for theme in ("JupyterLab Light", "JupyterLab Dark"):
        shade = theme.split()[-1].lower()
        name = f"zz-untrusted-diagram-{shade}.ipynb"
        nbformat.write(notebook, lab.root / "notebooks" / name)
        lab.start_afresh()
        lab.set_theme(theme)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(lab.notebook_url(name))
            page.locator('[title^="Notebook not trusted"]').wait_for(state="attached", timeout=60_000)
            image = the_diagram(page, "eight participants")
            size = assert_never_shrunk(page, image)
            assert size["scrolls"] > size["box"], (theme, size)  # wider than the cell: it scrolls instead
            assert missing_arrowheads(page, image) == [], theme
            assert_readable(page, image, f"untrusted-{shade}")
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"diagram-untrusted-{shade}.png"))
            page.close()
