"""Run notebooks as JupyterLab runs them: each cell's ``execute_request`` carries the cell's id.

For the tests (every lesson and solution, run twice) and ``make rehearse`` (every lesson, once).

nbval and nbclient send no metadata with a cell, so a kit that keys anything by cell (the
servers a cell started) takes another path under them than under JupyterLab, which sends
``{"cellId": ..., "deletedCells": [...], "recordTiming": ...}`` with every cell it runs.
``LabNotebookClient`` is nbclient sending that metadata; ``run_notebook`` runs a notebook
top to bottom in a fresh kernel with it, optionally with some cells changed first (a
"Your turn" answer tried for real).
"""

from __future__ import annotations

import pathlib
import subprocess
from collections.abc import Mapping

import nbformat
from nbclient import NotebookClient
from nbclient.util import run_sync


class LabNotebookClient(NotebookClient):
    """nbclient, but every execute_request names its cell as JupyterLab's does."""

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        client, cell_id = self.kc, cell.get("id")

        def execute(
            code, silent=False, store_history=True, user_expressions=None, allow_stdin=None, stop_on_error=True
        ):
            content = {
                "code": code,
                "silent": silent,
                "store_history": store_history,
                "user_expressions": user_expressions or {},
                "allow_stdin": False,
                "stop_on_error": stop_on_error,
            }
            metadata = {"cellId": cell_id, "deletedCells": [], "recordTiming": False} if cell_id else {}
            message = client.session.msg("execute_request", content, metadata=metadata)
            client.shell_channel.send(message)
            return message["header"]["msg_id"]

        client.execute = execute  # nbclient sends each cell through kc.execute, which takes no metadata
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

    execute_cell = run_sync(async_execute_cell)  # nbclient binds its sync name to its own coroutine


def run_notebook(
    path: pathlib.Path,
    *,
    runs: int = 1,
    replace: Mapping[str, str] | None = None,
    upto: str | None = None,
    timeout: int = 180,
) -> nbformat.NotebookNode:
    """Run a notebook from its own folder in a fresh kernel, as JupyterLab's Run All does; return it with outputs.

    ``replace`` maps cell ids to new sources (a learner's edit); ``upto`` stops after that cell.
    A cell that raises fails the run unless it is tagged ``raises-exception``. ``runs=2`` is
    Run All pressed again in the same kernel.
    """
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if replace and cell.get("id") in replace:
            cell.source = replace[cell.id]
    client = LabNotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    with client.setup_kernel(stderr=subprocess.DEVNULL):  # the kernel's own log; cells' output comes by messages
        for _ in range(runs):
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)
                if upto is not None and cell.get("id") == upto:
                    break
    return notebook
