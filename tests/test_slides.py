"""The lessons carry slide metadata, and their slides build and show with no network."""

import re
import shutil

import nbformat
import pytest

from tools import slides
from workshop import REPO
from workshop.browser import find_chromium, launch_chromium

LESSONS = slides.lessons()


@pytest.mark.parametrize("path", LESSONS + sorted((REPO / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_every_cell_carries_its_slide_type(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        assert cell.metadata.get("slideshow", {}).get("slide_type") == slides.slide_type(cell), (
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
