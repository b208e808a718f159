"""The workshop's own rules, checked on the tree: pins, CI, notebooks."""

import ast
import importlib.metadata
import json
import re
import sys
import time

import nbformat
import pytest
import yaml

from workshop import (
    REPO,
    fetch,
    serve_asgi,
    serve_echo_project,
    serve_process,
    serve_redis,
    serve_wsgi,
)
from workshop.redis_server import find_redis_server

FIRST_PARTY = {"workshop", "echo_project", "echo", "tools", "tests", "conftest"}
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb")) + sorted((REPO / "solutions").glob("*.ipynb"))


LEARNER_REQUIREMENTS = REPO / "requirements.txt"  # `pip install -e .`
DEV_REQUIREMENTS = REPO / "requirements-dev.txt"  # `pip install -e ".[dev]"` adds these


def requirement_lines(*files):
    for path in files or (LEARNER_REQUIREMENTS, DEV_REQUIREMENTS):
        for line in path.read_text().splitlines():
            line = line.split("#")[0].strip()
            if line:
                yield line


def requirement_name(line: str) -> str:
    return re.split(r"[=<>\[; ]", line)[0].lower().replace("_", "-")


def test_every_requirement_is_pinned_exactly():
    pin = r"^[A-Za-z0-9_.\-\[\]]+==[\w.]+(\s*;\s*[a-z_]+\s*[=!<>]=?\s*\"[\w.]+\")?$"  # an optional marker
    loose = [line for line in requirement_lines() if not re.match(pin, line)]
    assert not loose, f"pin these with ==: {loose}"


def code_sources():
    """(where, Python source, whether a learner runs it) for every module and notebook code cell the workshop
    runs or tests. A learner runs the kit, echo_project (not its tests) and the lessons and solutions."""
    paths = [
        REPO / "conftest.py",
        *[p for folder in ("workshop", "echo_project", "tests", "tools") for p in (REPO / folder).rglob("*.py")],
    ]
    for path in paths:
        where = path.relative_to(REPO)
        learner = where.parts[0] in ("workshop", "echo_project") and "tests" not in where.parts
        yield where, path.read_text(), learner
    for path in NOTEBOOKS:
        for cell in cells(path):
            if cell["cell_type"] == "code":
                lines = "".join(cell["source"]).splitlines()
                yield (
                    path.relative_to(REPO),
                    "\n".join(line for line in lines if not line.lstrip().startswith(("%", "!"))),
                    True,
                )


def imported_modules(source: str) -> tuple[set[str], set[str]]:
    """Top-level modules imported, and those imported only inside `try: ... except ImportError`."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a cell that shows broken code on purpose
        return set(), set()
    optional = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError") for h in node.handlers
        ):
            optional |= {id(inner) for stmt in node.body for inner in ast.walk(stmt)}
    found, optional_names = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            (optional_names if id(node) in optional else found).add(name.split(".")[0])
    return found, optional_names


def test_every_third_party_import_is_pinned():
    """What the code imports by name is pinned, not left to arrive as someone else's dependency: what a learner
    runs in the learner's install (requirements.txt), the tests and tools in either file."""
    learner_pins = {requirement_name(line) for line in requirement_lines(LEARNER_REQUIREMENTS)}
    all_pins = {requirement_name(line) for line in requirement_lines()}
    distributions = importlib.metadata.packages_distributions()
    unpinned = {}
    for where, source, learner in code_sources():
        required, _optional = imported_modules(source)
        for module in required - set(sys.stdlib_module_names) - FIRST_PARTY:
            names = {name.lower().replace("_", "-") for name in distributions.get(module, [module])}
            if not names & (learner_pins if learner else all_pins):
                unpinned.setdefault(module, str(where))
    assert not unpinned, (
        f"imported but not pinned (module: first file; a learner's code needs requirements.txt): {unpinned}"
    )


def test_each_package_is_pinned_in_one_file_and_the_extra_adds_only_what_learners_do_not_need():
    learner = [requirement_name(line) for line in requirement_lines(LEARNER_REQUIREMENTS)]
    dev = [requirement_name(line) for line in requirement_lines(DEV_REQUIREMENTS)]
    assert not set(learner) & set(dev), f"pinned in both files: {set(learner) & set(dev)}"
    assert not [line for line in requirement_lines(DEV_REQUIREMENTS) if line.startswith("-")], (
        "requirements-dev.txt holds pins only (pyproject.toml reads it: no -r or options)"
    )
    from workshop.preflight import MODULES  # what `make check` checks is what the learner installs

    assert {name.lower() for name in MODULES} <= set(learner), set(MODULES) - set(learner)


def test_environment_yml_takes_its_python_packages_from_requirements_txt():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip_parts = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert pip_parts == [["-e ."]], "the pip part must be exactly '-e .' (the project, whose deps are requirements.txt)"
    names = {requirement_name(line) for line in requirement_lines()}
    conda_names = {re.split(r"[=<> ]", d)[0].lower() for d in conda}
    assert not names & conda_names, f"pinned twice, in conda and in pip: {names & conda_names}"
    python = next(d for d in conda if d.startswith("python="))
    assert python.split("=")[1] in {"3.10", "3.11", "3.12", "3.13"}


def test_the_pre_commit_hooks_are_ruffs_own_at_the_pinned_version():
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    ruff_pin = next(line for line in requirement_lines(DEV_REQUIREMENTS) if requirement_name(line) == "ruff")
    [repo] = config["repos"]
    assert repo["repo"] == "https://github.com/astral-sh/ruff-pre-commit"
    assert repo["rev"] == "v" + ruff_pin.split("==")[1], "the hook's ruff is the one make lint runs"
    assert [hook["id"] for hook in repo["hooks"]] == ["ruff-check", "ruff-format"]


def test_pytest_runs_strict():
    """A misspelt marker or ini key, or an xfail that passes, fails the run instead of being ignored."""
    ini = (REPO / "pytest.ini").read_text()
    assert "--strict-markers" in ini and "--strict-config" in ini
    assert re.search(r"^xfail_strict = true$", ini, re.M)


def test_tests_run_strict_nbval_and_keep_notebooks_whole():
    ini = "\n".join(line for line in (REPO / "pytest.ini").read_text().splitlines() if not line.startswith("#"))
    assert "--nbval-lax" not in ini and "--nbval " in ini
    if re.search(r"(^|\s)-n\s", ini):
        assert "--dist loadfile" in ini


def test_pyproject_reads_its_dependencies_from_requirements_txt():
    pyproject = (REPO / "pyproject.toml").read_text()
    assert re.search(r'^dependencies = \{ file = \["requirements.txt"\] \}', pyproject, re.M)
    assert re.search(r'^optional-dependencies = \{ dev = \{ file = \["requirements-dev.txt"\] \} \}', pyproject, re.M)
    assert re.search(r'^dynamic = \["dependencies", "optional-dependencies"\]', pyproject, re.M)
    assert not re.search(r"^(optional-)?dependencies = \[", pyproject, re.M), "versions live in the two files only"


def test_ci_runs_the_readmes_test_command_lint_and_both_pythons():
    assert "make test" in (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^make test\s*$", ci, re.M)
    assert re.search(r"^make lint\s*$", ci, re.M)
    for version in ("3.10", "3.13"):
        variable = f"python{version.replace('.', '')}"
        assert f"{variable}=$(python_for {version})" in ci, f"CI finds Python {version}"
        assert re.search(rf'^make test-python PYTHON="\${variable}"', ci, re.M), f"CI runs Python {version}"


def test_the_kit_does_not_depend_on_nest_asyncio():
    for path in (REPO / "workshop").glob("*.py"):
        assert "import nest_asyncio" not in path.read_text(), path


def _hello_wsgi(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


async def _hello_asgi(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


KIT_SERVERS = {  # name: (start, seconds it may take to start and stop, generously)
    "serve_wsgi": (lambda: serve_wsgi(_hello_wsgi), 5),
    "serve_asgi": (lambda: serve_asgi(_hello_asgi), 5),
    "serve_process": (lambda: serve_process([sys.executable, "-m", "http.server", "{port}", "--bind", "{host}"]), 10),
    "serve_redis": (lambda: serve_redis(), 10),
    "serve_echo_project": (lambda: serve_echo_project(), 30),
}


@pytest.mark.parametrize("kind", KIT_SERVERS)
def test_kit_servers_wait_for_readiness_never_sleep(kind, monkeypatch):
    """Each kind of server is usable the moment it returns, stops promptly, and no time.sleep is involved."""
    if kind == "serve_redis" and find_redis_server() is None:
        pytest.skip("no redis-server")
    start, bound = KIT_SERVERS[kind]

    real_sleep, kit = time.sleep, str(REPO / "workshop")

    def no_sleep_in_the_kit(seconds):  # the standard library's own polling (Popen.wait) may sleep
        caller = sys._getframe(1).f_code.co_filename
        assert not caller.startswith(kit), f"time.sleep({seconds}) in {caller}: wait for readiness instead"
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", no_sleep_in_the_kit)
    began = time.monotonic()
    server = start()
    try:
        if kind == "serve_redis":
            import redis

            assert redis.Redis.from_url(server.redis_url).ping()
        else:
            assert fetch(server.url, timeout=5).status < 500
    finally:
        server.stop()
    took = time.monotonic() - began
    assert not server.running
    assert took < bound, f"{kind} took {took:.1f} s to start, answer and stop"


def cells(path):
    return json.loads(path.read_text())["cells"]


def tags(cell):
    return cell.get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_is_committed_with_the_outputs_of_a_clean_run(path):
    code = [c for c in cells(path) if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    counts = [c["execution_count"] for c in code]
    assert None not in counts, "some cells were never run"
    assert counts == list(range(1, len(code) + 1)), "outputs must come from one run, top to bottom"
    for cell in code:
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        assert not errors or "raises-exception" in tags(cell), f"unexpected error in {''.join(cell['source'])[:80]}"


# What a stored output shows when something failed: pytest's verdicts, a traceback, a server's ERROR log line.
SHOWS_A_FAILURE = re.compile(r"^FAILED |\b\d+ failed\b|Traceback \(most recent call last\)|^ERROR\b", re.M)


def shown_text(cell) -> str:
    """The text a learner reads in a cell's stored outputs (streams, results, errors)."""
    text = []
    for output in cell.get("outputs", []):
        text.append("".join(output.get("text", "")))
        text.append("".join(output.get("data", {}).get("text/plain", "")))
        if output["output_type"] == "error":
            text.append("Traceback (most recent call last)\n" + "\n".join(output.get("traceback", [])))
    return "\n".join(text)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_stored_failure_is_tagged_with_why(path):
    """A stored output is a claim: one that shows a failure is on purpose, and says why in its metadata.

    A failure stored by accident (lesson 08 once stored ``1 failed`` under a text that says the test
    passes) stays green under nbval, which only compares runs. So each such cell carries the tag
    ``shows-a-failure`` (or ``raises-exception``) and ``metadata.why_it_fails``: the reason, in words.
    """
    for index, cell in enumerate(cells(path)):
        if cell["cell_type"] != "code" or not (found := SHOWS_A_FAILURE.search(shown_text(cell))):
            continue
        where = f"cell {index} ({cell.get('id')}) shows {found.group(0).strip()!r}"
        assert {"shows-a-failure", "raises-exception"} & set(tags(cell)), (
            f"{where}, untagged: is it what the text says?"
        )
        assert cell["metadata"].get("why_it_fails", "").strip(), f"{where}: say why in metadata.why_it_fails"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_follows_the_house_style(path):
    all_cells = cells(path)
    first = "".join(all_cells[0]["source"])
    assert all_cells[0]["cell_type"] == "markdown" and first.startswith("# "), "starts with a title"
    assert re.search(r"\*\*\d+ minutes", first), "says how many minutes it takes"
    assert "you will" in first, "states its objectives"
    assert "Key points" in "".join(all_cells[-1]["source"]) or path.parent.name == "solutions"
    for index, cell in enumerate(all_cells):
        source = "".join(cell["source"])
        assert not any(t.startswith("nbval-skip") for t in tags(cell)), "no nbval-skip"
        assert not re.search(r"#\s*NBVAL_", source), "use cell tags, not comment markers"
        if cell["cell_type"] != "code":
            continue
        if source.startswith("%%writefile"):
            assert "nbval-ignore-output" in tags(cell), "%%writefile prints Writing/Overwriting"
        if "nbval-ignore-output" in tags(cell) or "raises-exception" in tags(cell):
            before = "".join(all_cells[index - 1]["source"]) if index else ""
            assert all_cells[index - 1]["cell_type"] == "markdown" and re.search(
                r"not checked|raises|error|fails", before, re.I
            ), f"the markdown before cell {index} must say why it is tagged {tags(cell)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebooks_use_the_kit_to_serve(path):
    """One helper for one job: servers start through workshop.serving, nowhere else.

    Except once, on purpose: lesson 02 starts uvicorn by hand (Config, Server, a thread) to
    show what serve_asgi does. That cell is tagged ``shows-the-machinery``, the markdown before
    it says so, and it stops its server itself. Every other cell keeps the rule.
    """
    all_cells = cells(path)
    for index, cell in enumerate(all_cells):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        if SHOWS_THE_MACHINERY in tags(cell):
            assert path.name == "02-asgi.ipynb", f"only lesson 02 may start a server by hand (cell {index})"
            before = "".join(all_cells[index - 1]["source"])
            assert SHOWS_THE_MACHINERY in before, f"the markdown before cell {index} must say why it is tagged"
            after = "".join(all_cells[index + 1]["source"]) if all_cells[index + 1]["cell_type"] == "code" else ""
            assert re.search(r"\.should_exit = True", source + after), (
                f"cell {index} starts uvicorn by hand: stop it in the same cell or the next one"
            )
            continue
        for reimplemented in (
            "uvicorn.Server(",
            "uvicorn.run(",
            "make_server(",
            "subprocess.Popen(",
            "threading.Thread(",
            "nest_asyncio.apply()",
        ):
            assert reimplemented not in source or "raises-exception" in tags(cell), reimplemented


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebooks_import_the_kit_from_its_public_api(path):
    """Lessons and exercises import the kit as ``from workshop import ...`` (its ``__all__``), checks from
    ``workshop.checks``: what a learner reads is the API, and a module can move without a notebook knowing."""
    import workshop

    for index, cell in enumerate(cells(path)):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        for module, names in re.findall(r"^from (workshop[\w.]*) import ([^#\n]+)", source, re.M):
            assert module in ("workshop", "workshop.checks"), f"cell {index}: import from workshop, not {module}"
            if module == "workshop":
                missing = {name.strip() for name in names.split(",")} - set(workshop.__all__)
                assert not missing, f"cell {index}: {missing} not in workshop.__all__"
        assert not re.search(r"^import workshop\.", source, re.M), f"cell {index}: import from workshop"


def kit_imports(module: str) -> set[str]:
    """The workshop modules ``module`` imports (at the top or inside a function), or runs as a script
    by its file's name (``"_watchdog.py"``), as dotted names."""
    path = REPO / (module.replace(".", "/") + ".py")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    if not path.exists():
        path, package = REPO / module.replace(".", "/") / "__init__.py", module
    source = path.read_text()
    found = {f"{package}.{script}" for script in re.findall(r"[\"'](\w+)\.py[\"']", source)}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            if base.split(".")[0] == "workshop":
                found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "workshop"}
    return found


def test_every_kit_module_serves_a_lesson_a_check_or_make_check():
    """workshop/ is what learners import: each module is reached from a name a notebook imports, from the
    checks, or from the preflight (`make check`). Test helpers live in tests/, the bench's in tools/."""
    exported_from = {  # each name of workshop.__all__ -> the module workshop/__init__.py imports it from
        alias.asname or alias.name: f"workshop.{node.module}"
        for node in ast.parse((REPO / "workshop" / "__init__.py").read_text()).body
        if isinstance(node, ast.ImportFrom) and node.level == 1
        for alias in node.names
    }
    modules = {
        ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for path in REPO.glob("workshop/**/*.py")
    }
    reached = {"workshop.checks", "workshop.preflight"}  # not "workshop": only the names notebooks use count
    for path in NOTEBOOKS:
        for cell in cells(path):
            for names in re.findall(r"^from workshop import ([^#\n]+)", "".join(cell["source"]), re.M):
                reached |= {exported_from[name.strip()] for name in names.strip("()").split(",") if name.strip()}
    todo = list(reached)
    while todo:
        for name in kit_imports(todo.pop()) & modules - reached:
            reached.add(name)
            todo.append(name)
    unused = sorted(modules - reached - {"workshop"})
    assert not unused, f"in workshop/ but used by no lesson, check or make check: {unused}"


def test_a_kit_module_over_400_lines_says_why_in_its_docstring():
    """A module a learner may open stays readable: over about 400 lines, its docstring gives the reason."""
    unexplained = [
        f"{path.relative_to(REPO)} ({lines} lines)"
        for path in sorted(REPO.glob("workshop/**/*.py"))
        if (lines := len(path.read_text().splitlines())) > 400
        and "Over 400 lines: " not in (ast.get_docstring(ast.parse(path.read_text())) or "")
    ]
    assert not unexplained, f"split them, or say why in the docstring ('Over 400 lines: ...'): {unexplained}"


def test_no_module_imports_another_modules_private_names():
    """A leading underscore means "this module's own": another module that needs it gets a public name.

    Private modules (``_common``, ``_watchdog``) are the exception: their names are for the package.
    """
    offenders = []
    for path in sorted(REPO.glob("workshop/**/*.py")) + sorted(REPO.glob("tools/*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and not node.module.split(".")[-1].startswith("_"):
                private = [alias.name for alias in node.names if alias.name.startswith("_")]
                if private and node.module != "__future__":
                    offenders.append(f"{path.relative_to(REPO)}: from {node.module} import {', '.join(private)}")
    assert not offenders, offenders


SHOWS_THE_MACHINERY = "shows-the-machinery"


def test_exactly_one_cell_shows_the_machinery():
    tagged = [
        (path.name, index)
        for path in NOTEBOOKS
        for index, cell in enumerate(cells(path))
        if SHOWS_THE_MACHINERY in tags(cell)
    ]
    assert [name for name, _ in tagged] == ["02-asgi.ipynb"], tagged


LESSONS = sorted((REPO / "notebooks").glob("*.ipynb"))
SECTIONS_WITHOUT_A_TURN = {"Key points", "Read more"}
NOT_YET: set[str] = set()  # lessons still without a "your turn" in every section (xfail, strict)


def sections(path):
    """{'## title': the markdown of that section} for every '## ' heading outside code fences."""
    found, title, fence = {}, None, False
    for cell in cells(path):
        if cell["cell_type"] != "markdown":
            continue
        for line in "".join(cell["source"]).split("\n"):
            if line.startswith("```"):
                fence = not fence
            if not fence and line.startswith("## "):
                title = line[3:].strip()
                found[title] = ""
            elif title is not None:
                found[title] += line + "\n"
    return found


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, marks=pytest.mark.xfail(strict=True, reason="reworked elsewhere")) if p.name in NOT_YET else p
        for p in LESSONS
    ],
    ids=lambda p: p.name,
)
def test_every_section_of_every_lesson_has_a_your_turn(path):
    """Learners do something in every section: change one thing, predict, then see (issue 17)."""
    missing = [
        title
        for title, text in sections(path).items()
        if title not in SECTIONS_WITHOUT_A_TURN and "your turn" not in text.lower()
    ]
    assert not missing, f"sections without a 'Your turn': {missing}"


GOING_FURTHER = "Going further"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_going_further_comes_after_every_core_section(path):
    """A lesson's core path fits an evening; its optional depth is one section at the end (issue 25).

    Only the key points (and their "Read more") may follow "## Going further", and the header, which gives
    the core path's minutes, says how many more it takes.
    """
    titles = list(sections(path))
    if GOING_FURTHER not in titles:
        return
    after = titles[titles.index(GOING_FURTHER) + 1 :]
    core_after = [title for title in after if title not in SECTIONS_WITHOUT_A_TURN]
    assert not core_after, f"core sections after '## {GOING_FURTHER}': {core_after}"
    header = "".join(cells(path)[0]["source"])
    assert re.search(rf"{GOING_FURTHER}: about \d+ more minutes", header), (
        f"the header gives the core path's minutes and says '{GOING_FURTHER}: about N more minutes.'"
    )


KERNEL_NAME, KERNEL_DISPLAY_NAME = "realtime-workshop", "Python (realtime workshop)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebooks_name_the_kernel_the_readme_tells_learners_to_pick(path):
    spec = json.loads(path.read_text())["metadata"]["kernelspec"]
    assert (spec["name"], spec["display_name"]) == (KERNEL_NAME, KERNEL_DISPLAY_NAME)
    assert KERNEL_DISPLAY_NAME in (REPO / "README.md").read_text()
    assert f"--name {KERNEL_NAME}" in (REPO / "postBuild").read_text()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_stored_outputs_are_in_the_stable_form_make_outputs_writes(path):
    """Adjacent chunks of one stream are one output (nbconvert's CoalesceStreamsPreprocessor, which
    `make outputs` runs): a re-run rewrites the notebook byte for byte."""
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            stored = nbformat.from_dict(cell.outputs)
            coalesced, _ = CoalesceStreamsPreprocessor().preprocess_cell(cell, {}, index)
            assert coalesced.outputs == stored, f"cell {index}: run make outputs"
