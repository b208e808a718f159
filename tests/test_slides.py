"""The lessons carry slide metadata, and their slides build and show with no network."""

import re
import shutil

import nbformat
import pytest

from tools import slides
from tools.browser import find_chromium, launch_chromium
from workshop import REPO

LESSONS = slides.lessons()


@pytest.mark.parametrize("path", LESSONS + sorted((REPO / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_every_cell_carries_its_slide_type(path):
    notebook = nbformat.read(path, as_version=4)
    for cell, wanted in zip(notebook.cells, slides.slide_types(notebook.cells), strict=True):
        assert cell.metadata.get("slideshow", {}).get("slide_type") == wanted, (
            "run `python -m tools.slides mark` (then `make exercises`)"
        )


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if shutil.which("npm") is None and not (REPO / ".state" / "reveal.js" / "dist" / "reveal.js").exists():
        pytest.skip("npm is needed once to fetch reveal.js")
    dest = tmp_path_factory.mktemp("slides")
    return dest, slides.build(dest, LESSONS)


def test_slides_build_for_every_lesson_with_nothing_from_a_cdn(built):
    dest, written = built
    assert [p.name for p in written] == [f"{p.stem}.slides.html" for p in LESSONS]
    for page in written:
        html = page.read_text()
        assert html.count("<section") > 3, f"{page.name} has too few slides"
        for url in re.findall(r'<(?:script|img|iframe|source|link)\b[^>]*?\b(?:src|href)="([^"#]+)"', html):
            if url.startswith(("http://127.0.0.1", "http://localhost", "data:")):
                continue  # a live server's frame (lesson 04), or inline data
            assert not re.match(r"(https?:)?//", url), f"{page.name} loads {url} from the network"
            assert (dest / url).exists(), f"{page.name} refers to {url}, which is missing"


def test_a_deck_shows_in_chromium_without_any_network_request(built):
    if find_chromium() is None:
        pytest.skip("no Chromium")
    from playwright.sync_api import sync_playwright

    dest, _ = built
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto((dest / "02-asgi.slides.html").as_uri())
        page.wait_for_function("typeof Reveal !== 'undefined' && Reveal.isReady()")
        total = page.evaluate("Reveal.getTotalSlides()")
        browser.close()
    assert total > 5
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []


# Every slide of a deck, shown in turn: its height on the projector, its content's, and whether it scrolls.
EVERY_SLIDE = """() => {
    const shown = [];
    [...document.querySelectorAll('.reveal .slides > section')].forEach((top, h) => {
        const stack = top.querySelectorAll(':scope > section');
        (stack.length ? [...stack] : [top]).forEach((slide, v) => {
            Reveal.slide(h, v);
            const style = getComputedStyle(slide);
            // Where each output (a verdict, a diagram, a plot) starts, in the slide's own pixels, before any scrolling.
            const box = slide.getBoundingClientRect(), scale = box.height / slide.clientHeight || 1;
            const outputs = [...slide.querySelectorAll('.jp-OutputArea-output')].map(output => ({
                top: Math.round((output.getBoundingClientRect().top - box.top) / scale),
                text: (output.innerText || '').trim().slice(0, 60)}));
            shown.push({where: `${h}/${v}`, height: slide.clientHeight, content: slide.scrollHeight,
                        scrolls: ['auto', 'scroll'].includes(style.overflowY), outputs,
                        text: (slide.innerText || '').trim().slice(0, 60)});
        });
    });
    return shown;
}"""


# At least two lines of an output show on its slide's first screen, without scrolling.
VISIBLE = 40


def test_every_slide_fits_the_projector_or_scrolls_within_itself(built):
    """A 1280x720 projector: a slide taller than that scrolls (a 45-cell lesson made 10 slides, some 3 screens tall).

    And each step's result is on screen when its slide comes up: lesson 07's "5 clients on 1 thread" sat
    below a long cell's code, 200 px under the projector's edge. Long code scrolls within itself instead.
    The lesson's title slide is spared: its first cell sets the lesson up under the list of what it teaches.
    """
    if find_chromium() is None:
        pytest.skip("no Chromium")
    from playwright.sync_api import sync_playwright

    dest, written = built
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        for deck in written:
            page.goto(deck.as_uri())
            page.wait_for_function("typeof Reveal !== 'undefined' && Reveal.isReady()")
            shown = page.evaluate(EVERY_SLIDE)
            code_cells = sum(
                cell.cell_type == "code"
                for cell in nbformat.read(REPO / "notebooks" / f"{deck.name.split('.')[0]}.ipynb", as_version=4).cells
            )
            assert len(shown) >= code_cells // 2, f"{deck.name}: {len(shown)} slides for {code_cells} code cells"
            for slide in shown:
                assert slide["height"] <= 720, (deck.name, slide)
                assert slide["content"] <= slide["height"] or slide["scrolls"], (deck.name, slide)
                if slide["where"] != "0/0":
                    for output in slide["outputs"]:
                        assert output["top"] + VISIBLE <= slide["height"], (deck.name, slide["where"], output)
        browser.close()
