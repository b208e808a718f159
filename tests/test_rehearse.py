"""`make rehearse` runs lessons as JupyterLab does and fails on one that breaks there, naming the cell."""

import os
import signal
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


def lesson_with_text(path, *cells):
    """Cells given as ('md', source) or ('code', source), with ids in the lessons' style."""
    notebook = nbformat.v4.new_notebook()
    for index, (kind, source) in enumerate(cells):
        make = nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
        notebook.cells.append(make(source, id=f"{path.stem}-{index:02d}"))
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
    assert "Run All stops at In [2], cell 1 (02-broken-01): RuntimeError: broke in 02-broken-01" in failed
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


def test_a_failure_names_the_cell_as_jupyterlab_numbers_it_and_its_section(tmp_path):
    """'In [2]' is what the instructor sees in JupyterLab after Run All; the section says where to scroll, and
    whether the evening may skip it. The cell is found even when an earlier cell's source is part of its own."""
    deeper = lesson_with_text(
        tmp_path / "04-deeper.ipynb",
        ("md", "# 04 · Deeper"),
        ("code", "boom = 1"),
        ("md", "## Going further\n\nSkippable."),
        ("md", "### A deep aside"),
        ("code", "boom = 1\nraise ValueError('deep {boom}')"),
        ("code", "print('never reached')"),
    )
    result = rehearse(deeper)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    failed = next(index for index, line in enumerate(lines) if line.startswith("[FAIL] 04-deeper"))
    assert "Run All stops at In [2], cell 4 (04-deeper-04): ValueError: deep {boom}" in lines[failed]
    assert lines[failed + 1].strip() == 'under "A deep aside"; in Going further, which an evening may skip'


def test_a_lesson_that_leaves_a_server_behind_fails_by_name(tmp_path):
    """A server that outlives its kernel (no watchdog, its own session) is named after the lesson that started it."""
    pid_file = tmp_path / "stray.pid"
    leaky = lesson(
        tmp_path / "05-leaky.ipynb",
        "import os, subprocess\n"
        "stray = subprocess.Popen(['sleep', '120'], start_new_session=True, stdout=subprocess.DEVNULL,\n"
        "                         env={**os.environ, 'WORKSHOP_SERVER_OWNER': str(os.getpid())})\n"
        f"open({str(pid_file)!r}, 'w').write(str(stray.pid))",
    )
    try:
        result = rehearse(leaky)
    finally:
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert result.returncode == 1, result.stdout + result.stderr
    pid = pid_file.read_text()
    left = next(line for line in result.stdout.splitlines() if "left running after its kernel ended" in line)
    assert left.startswith("[FAIL] 05-leaky") and f"{pid} sleep 120" in left, result.stdout
