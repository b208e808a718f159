"""The documents hold together: every relative link resolves, and echo_project's README names every setting.

Each document has one audience: the README a learner, CONTRIBUTING.md and docs/lesson-map.md a
maintainer, docs/instructor-guide.md an instructor, echo_project/README.md whoever runs or copies the
echo chamber, benchmarks/ the measurements. Moving text between them must not leave a link behind.
"""

import re

import pytest

from workshop import REPO

DOCUMENTS = sorted(
    [
        REPO / "README.md",
        REPO / "CONTRIBUTING.md",
        REPO / "echo_project" / "README.md",
        *(REPO / "docs").glob("*.md"),
        *(REPO / "benchmarks").glob("*.md"),
    ]
)
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives a document's headings: lower case, punctuation dropped, spaces as hyphens."""
    found = set()
    for heading in re.findall(r"^#+\s+(.+?)\s*$", FENCE.sub("", text), re.M):
        found.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    return found


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_relative_links_resolve(document):
    broken = []
    for target in LINK.findall(FENCE.sub("", document.read_text())):
        if re.match(r"[a-z]+:", target):  # https:, mailto:: not checked offline
            continue
        path, _, anchor = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text()):
            broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    assert not broken, broken


def test_echo_projects_readme_names_every_setting_it_reads_from_the_environment():
    settings = (REPO / "echo_project" / "echo_project" / "settings.py").read_text()
    variables = set(re.findall(r"os\.environ\.get\(\s*\"([A-Z_]+)\"", settings))
    if "dj_database_url.config(" in settings:
        variables.add("DATABASE_URL")  # what dj_database_url.config() reads by default
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "ECHO_CONSUMERS"} <= variables, "the pattern finds them"
    readme = (REPO / "echo_project" / "README.md").read_text()
    table = {name for name in re.findall(r"^\| `([A-Z_]+)` \|", readme, re.M)}
    assert sorted(variables - table) == [], "add a row to echo_project/README.md's Settings table"
    assert sorted(table - variables) == [], "echo_project/README.md names a setting settings.py does not read"
