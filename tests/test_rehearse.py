"""`make rehearse` runs lessons as JupyterLab does and fails on one that breaks there, naming the cell."""

import subprocess
import sys

import nbformat

from workshop import REPO


def lesson(path, *sources):
    notebook = nbformat.v4.new_notebook()
    for index, source in enumerate(sources):
        notebook.cells.append(nbformat.v4.new_code_cell(source, id=f"{path.stem}-{index:02d}"))
    nbformat.write(notebook, path)
    return path


def rehearse(*paths):
    return subprocess.run(
        [sys.executable, "-m", "tools.rehearse", "--no-page", *map(str, paths)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_lesson_that_breaks_only_under_jupyterlab_fails_the_rehearsal(tmp_path):
    """Its second cell fails only when the request names its cell, as JupyterLab's do and nbval's do not."""
    fine = lesson(tmp_path / "01-fine.ipynb", "print('hello')")
    broken = lesson(
        tmp_path / "02-broken.ipynb",
        "x = 1",
        "cell = get_ipython().kernel.get_parent()['metadata'].get('cellId')\n"
        "if cell: raise RuntimeError(f'broke in {cell}')",
        "print('never reached')",
    )
    result = rehearse(fine, broken)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("[ ok ] 01-fine") for line in lines), result.stdout
    failed = next(line for line in lines if line.startswith("[FAIL] 02-broken"))
    assert "cell 1 (02-broken-01): RuntimeError: broke in 02-broken-01" in failed
    assert "[ ok ] nothing left running" in result.stdout


def test_a_rehearsal_that_passes_says_so_and_leaves_nothing_running(tmp_path):
    served = lesson(
        tmp_path / "03-serves.ipynb",
        "from workshop import asgi_echo, serve_asgi, serve_redis\nsite = serve_asgi(asgi_echo)\nredis = serve_redis()",
    )
    result = rehearse(served)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[ ok ] 03-serves" in result.stdout and "[ ok ] nothing left running" in result.stdout
    assert result.stdout.rstrip().endswith("Rehearsal passed: ready for the evening.")
