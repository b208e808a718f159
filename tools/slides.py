"""The lessons as slides: metadata in the notebooks, and `make slides` to build them offline.

    python -m tools.slides mark     # (re)apply the slide metadata to notebooks/ and solutions/
    python -m tools.slides build    # slides/NN-topic.slides.html, with reveal.js beside them

Slide breaks follow the headings: a `#` or `##` markdown cell starts a slide, a `###`
one a sub-slide. Below a heading, each code cell starts a sub-slide of its own, with the
text that introduces it and the text after it that says what to notice, so a slide holds
one step of the story (whole sections were 2 to 5 times the projector's height). What
still does not fit scrolls within its slide. The same metadata lets an instructor present
a notebook live with a slideshow extension.

reveal.js is fetched once from the npm registry (`npm pack`, like pip for Python
packages) into .state/, then the slides build and show with no network at all.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import tarfile

import nbformat

from workshop.paths import REPO, state_dir

REVEAL = "reveal.js@4.6.0"
TEMPLATE = pathlib.Path(__file__).resolve().parent / "templates" / "offline_slides.html.j2"


def heading_type(cell) -> str:
    """'slide' for a `#` or `##` markdown cell, 'subslide' for `###`, else '-'."""
    if cell.cell_type == "markdown":
        first = cell.source.lstrip().split("\n", 1)[0]
        if first.startswith(("# ", "## ")):
            return "slide"
        if first.startswith("### "):
            return "subslide"
    return "-"


def slide_types(cells) -> list[str]:
    """Each cell's slide type: headings break, and so does each code cell, with its introduction.

    A markdown cell right after a code cell says what to notice in it and stays on its sub-slide;
    a markdown cell right before a code cell, and not such a notice, introduces it and opens its
    sub-slide. A step right under its heading stays on the heading's slide.
    """
    types = [heading_type(cell) for cell in cells]
    for index, cell in enumerate(cells):
        if cell.cell_type != "code" or index == 0 or types[index - 1] != "-":
            continue
        before_intro = index - 2
        introduced = cells[index - 1].cell_type == "markdown" and (
            before_intro < 0 or cells[before_intro].cell_type != "code"
        )
        if not introduced:
            types[index] = "subslide"  # right after another step's code or notice
        elif before_intro >= 0 and types[before_intro] == "-":
            types[index - 1] = "subslide"
    return types


def mark(paths) -> list[pathlib.Path]:
    """Give every cell its slide type; returns the notebooks that changed."""
    changed = []
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        dirty = False
        for cell, wanted in zip(notebook.cells, slide_types(notebook.cells), strict=True):
            if cell.metadata.get("slideshow", {}).get("slide_type") != wanted:
                cell.metadata["slideshow"] = {"slide_type": wanted}
                dirty = True
        if dirty:
            nbformat.write(notebook, path)
            changed.append(path)
    return changed


def reveal_js() -> pathlib.Path:
    """A local copy of reveal.js (dist/ and the notes plugin), fetched once."""
    folder = state_dir("reveal.js")
    if (folder / "dist" / "reveal.js").exists():
        return folder
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            "make slides needs npm once, to fetch reveal.js (install Node.js), or copy "
            f"reveal.js's dist/ and plugin/ folders into {folder}"
        )
    subprocess.run(
        [npm, "pack", REVEAL, "--silent", "--pack-destination", str(folder)], check=True, stdout=subprocess.DEVNULL
    )
    tarball = next(folder.glob("reveal.js-*.tgz"))
    with tarfile.open(tarball) as archive:
        members = [
            m
            for m in archive.getmembers()
            if m.name.startswith(("package/dist/", "package/plugin/notes/")) and m.isfile()
        ]
        for member in members:
            member.name = member.name.removeprefix("package/")
            archive.extract(member, folder, filter="data") if sys.version_info >= (3, 12) else archive.extract(
                member, folder
            )
    tarball.unlink()
    return folder


def build(dest: pathlib.Path, notebooks) -> list[pathlib.Path]:
    from nbconvert import SlidesExporter

    shutil.copytree(reveal_js(), dest / "reveal.js", dirs_exist_ok=True)
    # The "white" theme uses the fonts shipped with reveal.js; others import web fonts.
    exporter = SlidesExporter(template_file=str(TEMPLATE), reveal_url_prefix="reveal.js", reveal_theme="white")
    written = []
    for path in notebooks:
        body, _ = exporter.from_filename(str(path))
        target = dest / f"{path.stem}.slides.html"
        target.write_text(body, encoding="utf-8")
        written.append(target)
    return written


def lessons() -> list[pathlib.Path]:
    return sorted((REPO / "notebooks").glob("*.ipynb"))


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "build"
    if command == "mark":
        paths = lessons() + sorted((REPO / "solutions").glob("*.ipynb"))
        for path in mark(paths):
            print("marked", path.relative_to(REPO))
        return 0
    dest = pathlib.Path(argv[1]) if len(argv) > 1 else REPO / "slides"
    dest.mkdir(parents=True, exist_ok=True)
    for target in build(dest, lessons()):
        print("wrote", target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
