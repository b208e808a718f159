"""Make the exercise notebooks from their solutions: `make exercises`.

solutions/NN-topic.ipynb is the single source. In its code cells, each part
the learner writes is marked::

    ### BEGIN SOLUTION (optional words for the learner: what to write)
    ...the answer...
    ### END SOLUTION

exercises/NN-topic.ipynb is the same notebook with each marked part replaced
by a stub (``# your code here`` and a ``raise NotImplementedError``), and no
outputs. Everything else is kept as it is, so the two cannot drift:
a test regenerates exercises/ and compares.

A small nbformat script rather than nbgrader: nbgrader brings a database, a
course layout and its own Jupyter extensions, for one feature used here.
"""

from __future__ import annotations

import pathlib
import re
import sys

import nbformat

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION[ :]*(?P<task>.*)$")
END = re.compile(r"^[ \t]*### END SOLUTION\s*$")
DEFAULT_TASK = "write this part"


class MarkerError(ValueError):
    """A solution region is not closed, or is nested."""


def stub_source(source: str, where: str = "") -> str:
    """The cell's source with every solution region replaced by a stub."""
    lines, out, region = source.split("\n"), [], None
    for number, line in enumerate(lines, 1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if region is not None:
                raise MarkerError(f"{where} line {number}: BEGIN SOLUTION inside another one")
            region = begin
        elif end:
            if region is None:
                raise MarkerError(f"{where} line {number}: END SOLUTION without BEGIN")
            indent, task = region["indent"], region["task"].strip() or DEFAULT_TASK
            out.append(f"{indent}# your code here: {task}")
            out.append(f"{indent}raise NotImplementedError({task!r})")
            region = None
        elif region is None:
            out.append(line)
    if region is not None:
        raise MarkerError(f"{where}: BEGIN SOLUTION is never closed")
    return "\n".join(out)


def make_exercise(solution: nbformat.NotebookNode, where: str = "") -> nbformat.NotebookNode:
    exercise = nbformat.from_dict(solution)
    for index, cell in enumerate(exercise.cells):
        if cell.cell_type != "code":
            continue
        cell.source = stub_source(cell.source, f"{where} cell {index}")
        cell.outputs = []
        cell.execution_count = None
    return exercise


def generate(solutions: pathlib.Path, exercises: pathlib.Path) -> list[pathlib.Path]:
    """Write one exercise notebook per solution notebook; return what was written."""
    exercises.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(solutions.glob("*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        target = exercises / path.name
        nbformat.write(make_exercise(solution, str(path)), target)
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    solutions, exercises = (pathlib.Path(arg) for arg in (argv + ["solutions", "exercises"])[:2])
    for target in generate(solutions, exercises):
        print("wrote", target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
