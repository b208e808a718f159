"""Every notebook survives "Run All" twice in one kernel, with the same outputs.

nbval checks one clean run against the stored outputs; this runs each notebook
twice in a single kernel, as a learner does when they press Run All again, and
compares the second run's outputs with the stored ones the way nbval does.
"""

import nbformat
import pytest
from nbclient import NotebookClient

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
def test_run_all_twice_in_one_kernel(path):
    stored = nbformat.read(path, as_version=4)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    with client.setup_kernel():
        for _ in range(2):
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)  # raises unless the cell is tagged raises-exception
    for index, (cell, before) in enumerate(zip(notebook.cells, stored.cells, strict=True)):
        if cell.cell_type != "code" or "nbval-ignore-output" in cell.metadata.get("tags", []):
            continue
        assert comparable(cell.outputs) == comparable(before.outputs), f"cell {index} changed on the second run"
