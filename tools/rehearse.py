"""`make rehearse`: the night before, every lesson runs as JupyterLab runs it, and the echo page answers.

Each lesson gets a fresh kernel and a Run All whose requests carry the cells' ids, as
JupyterLab's do (``tools.lab_kernel``); a cell that raises, unless tagged ``raises-exception``,
fails its lesson, named as JupyterLab numbers it after Run All (``In [5]``), with its section.
Then echo_project is served with the README's command and typed into in headless Chromium,
where the machine has one. A lesson that leaves a server running once its kernel has ended
fails too, and last, nothing may be left running. One line per step; exits 1 when
any step fails.

    python -m tools.rehearse                       # every lesson
    python -m tools.rehearse notebooks/04-*.ipynb  # some
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import nbformat
from nbclient.exceptions import CellExecutionError

from tools.lab_kernel import run_notebook
from workshop.paths import REPO

MARKS = {True: "[ ok ]", False: "[FAIL]", None: "[warn]"}


def line(ok: bool | None, what: str, detail: str = "") -> bool | None:
    print(f"{MARKS[ok]} {what:<40} {detail}".rstrip(), flush=True)
    return ok


def rehearse_lesson(path: pathlib.Path) -> bool:
    began = time.monotonic()
    try:
        notebook = run_notebook(path)
    except CellExecutionError as error:
        raised = f"{error.ename}: {error.evalue}".splitlines()[0][:120]
        return failed(path, str(error), raised, "Run All stops at ")
    except Exception as error:  # the kernel died, a cell timed out
        raised = f"{type(error).__name__}: {error}".splitlines()[0][:120]
        return failed(path, str(error), raised)
    cells = sum(cell.cell_type == "code" for cell in notebook.cells)
    return line(True, path.stem, f"{cells} code cells, {time.monotonic() - began:.0f} s")


def failed(path: pathlib.Path, message: str, raised: str, before: str = "") -> bool:
    """The lesson's [FAIL] line, naming the cell as JupyterLab shows it after Run All ('In [5]'), then its section.

    nbclient's message quotes the failing cell's source (a timeout, the first lines of a long one); the
    longest cell found in it is the one. A second line says the section, and whether it is in Going further,
    which an evening may skip.
    """
    cells = nbformat.read(path, as_version=4).cells
    quoted = [
        (len(source), index)
        for index, cell in enumerate(cells)
        if cell.cell_type == "code"
        and (source := cell.source.strip())
        and (source in message or str(source.split("\n")[:5]) in message)
    ]
    if not quoted:
        return line(False, path.stem, before + raised)
    index = max(quoted)[1]
    run = sum(cell.cell_type == "code" and bool(cell.source.strip()) for cell in cells[: index + 1])
    line(False, path.stem, f"{before}In [{run}], cell {index} ({cells[index].get('id')}): {raised}")
    headings = [
        cell.source.lstrip().split("\n", 1)[0]
        for cell in cells[:index]
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#")
    ]
    section = headings[-1].lstrip("#").strip() if headings else path.stem
    further = any(heading.startswith("## Going further") for heading in headings)
    print(f'{"":48}under "{section}"' + ("; in Going further, which an evening may skip" if further else ""))
    return False


def rehearse_echo_page() -> bool | None:
    """echo_project with the README's command, typed into in headless Chromium: the evening's live demo."""
    from tools.browser import find_chromium, launch_chromium
    from workshop import serve_echo_project

    what = "the echo page in Chromium"
    if find_chromium() is None:
        return line(None, what, "no Chromium here: open the page by hand in your browser instead")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # the learner's install: Playwright comes with the dev extra
        return line(None, what, 'no Playwright here (pip install -e ".[dev]"): open the page by hand instead')

    with serve_echo_project(name="echo_project (rehearsal)") as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.goto(server.url)
            page.wait_for_selector("#status[data-state='open']", timeout=15_000)
            page.locator("#typing").press_sequentially("hello", delay=20)
            page.locator("#received li:not(.history)").nth(4).wait_for(timeout=15_000)
            echoes = page.locator("#received li:not(.history)").all_inner_texts()[-5:]
        except Exception as error:
            return line(False, what, f"{type(error).__name__}: {error}".splitlines()[0][:160])
        finally:
            browser.close()
    return line(True, what, f"typed 'hello', got {''.join(e[-1:] for e in echoes)!r} back")


def left_running(known: set[int]) -> list[tuple[int, str]]:
    """Workshop servers whose owner is gone, but for ``known`` ones; their watchdogs get 5 s to end them."""
    from workshop.preflight import find_strays

    deadline = time.monotonic() + 5  # a kernel just ended: its watchdogs end its servers
    while (strays := [stray for stray in find_strays() if stray[0] not in known]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return strays


def rehearse_nothing_left() -> bool:
    if strays := left_running(set()):
        return line(False, "nothing left running", "; ".join(f"{pid} {cmd[:60]}" for pid, cmd in strays[:3]))
    return line(True, "nothing left running")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path, help="default: every lesson in notebooks/")
    parser.add_argument("--no-page", action="store_true", help="skip the echo page in Chromium")
    options = parser.parse_args(argv)
    lessons = options.notebooks or sorted((REPO / "notebooks").glob("*.ipynb"))
    print("Rehearsal: every lesson as JupyterLab runs it (a fresh kernel, Run All, cell ids)\n", flush=True)
    from workshop.preflight import find_strays

    known = {pid for pid, _ in find_strays()}  # from before the rehearsal: its last step names them
    results = []
    for path in lessons:
        results.append(rehearse_lesson(path.resolve()))
        if strays := left_running(known):  # named after the lesson that left them, not only at the end
            known.update(pid for pid, _ in strays)
            left = "; ".join(f"{pid} {cmd[:60]}" for pid, cmd in strays[:3])
            results.append(line(False, path.stem, f"left running after its kernel ended: {left}"))
    if not options.no_page:
        results.append(rehearse_echo_page())
    results.append(rehearse_nothing_left())
    failed = results.count(False)
    print()
    if failed:
        print(f"{failed} step(s) failed: fix them, or skip those lessons, before the evening.")
        return 1
    print("Rehearsal passed: ready for the evening.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
