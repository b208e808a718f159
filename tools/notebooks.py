"""Stored outputs in one stable form, so that re-running a notebook rewrites it byte for byte.

A kernel sends what a cell prints in chunks, cut where the timing falls: two runs of the
same cell store the same text as one stream output or as several. ``make outputs`` runs
this after executing, merging adjacent chunks of the same stream into one.

    python -m tools.notebooks normalize notebooks/*.ipynb
"""

from __future__ import annotations

import sys

import nbformat


def merged_streams(outputs: list) -> list:
    """The outputs with each run of adjacent chunks of one stream (stdout, stderr) joined into one."""
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            output.get("output_type") == "stream"
            and previous is not None
            and previous.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            previous["text"] = previous["text"] + output["text"]
        else:
            merged.append(output)
    return merged


def normalize(path: str) -> bool:
    """Rewrite one notebook in the stable form; True if it changed."""
    notebook = nbformat.read(path, as_version=4)
    changed = False
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs = merged_streams(cell.outputs)
        if len(outputs) != len(cell.outputs):
            cell.outputs, changed = outputs, True
    if changed:
        nbformat.write(notebook, path)
    return changed


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "normalize":
        print(__doc__)
        return 2
    for path in argv[1:]:
        if normalize(path):
            print(f"normalized {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
