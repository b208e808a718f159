"""Every notebook survives "Run All" twice in one kernel, as JupyterLab runs it, with the same outputs.

nbval checks one clean run against the stored outputs, sending no cell ids. This runs each
lesson, and each exercise with its solution filled in (solutions/), the way JupyterLab does:
every cell's request carries its id (tools/lab_kernel.py), and Run All is pressed twice in a
single kernel. A cell that raises fails the test unless it is tagged ``raises-exception``; the
second run's outputs are compared with the stored ones the way nbval does.
"""

import nbformat
import pytest

from tools.lab_kernel import run_notebook
from workshop import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb")) + sorted((REPO / "solutions").glob("*.ipynb"))


def comparable(outputs):
    """What nbval compares: text of streams and results, error names; not images or tracebacks."""
    text, stream = [], ""
    for output in outputs:
        if output["output_type"] == "stream":
            stream += output["text"]
            continue
        if stream:
            text.append(stream)
            stream = ""
        if output["output_type"] == "error":
            text.append(f"{output['ename']}: {output['evalue']}")
        elif "data" in output:
            text.append(output["data"].get("text/plain", ""))
    if stream:
        text.append(stream)
    return text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_run_all_twice_in_one_kernel_with_cell_ids(path):
    stored = nbformat.read(path, as_version=4)
    notebook = run_notebook(path, runs=2)
    for index, (cell, before) in enumerate(zip(notebook.cells, stored.cells, strict=True)):
        if cell.cell_type != "code" or "nbval-ignore-output" in cell.metadata.get("tags", []):
            continue
        assert comparable(cell.outputs) == comparable(before.outputs), f"cell {index} changed on the second run"
