"""Meta-tests: the project's own promises about itself."""

from __future__ import annotations

import ast
from pathlib import Path

from chalicelib.checks import CHECKS
from tests.conftest import PROJECT_DIR

UNIT = PROJECT_DIR / "tests" / "unit"


def _imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            names.update(alias.name for alias in node.names)
    return names


def test_every_check_has_unit_cases():
    tested = set().union(*(_imported_names(p) for p in UNIT.glob("test_*.py")))
    for name, check in CHECKS.items():
        assert check.__name__ in tested, f"no unit test imports {check.__name__} ({name})"


def test_every_test_the_readme_names_as_proof_exists():
    import re

    readme = (PROJECT_DIR / "README.md").read_text()
    named = set(re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", readme))
    assert len(named) >= 10
    for path, name in sorted(named):
        source = (PROJECT_DIR / path).read_text()
        assert f"def {name}(" in source, f"README names {path}::{name}, which does not exist"


def test_nothing_in_the_repository_reads_a_path_outside_it():
    """A newcomer's clone has no sibling shared/ folder: fixtures live under tests/fixtures/."""
    outside = ("shared/fixtures", '"shared"', "'shared'", "parents[3]", "parent.parent.parent")
    offenders = []
    for path in PROJECT_DIR.rglob("*.py"):
        if any(part.startswith(".") for part in path.relative_to(PROJECT_DIR).parts):
            continue
        if path.resolve() == Path(__file__).resolve():
            continue
        text = path.read_text()
        offenders += [f"{path.relative_to(PROJECT_DIR)}: {needle}" for needle in outside if needle in text]
    assert offenders == []


def test_every_published_fixture_has_its_provenance():
    published = PROJECT_DIR / "tests" / "fixtures" / "published"
    provenance = (published / "PROVENANCE.md").read_text()
    names = sorted(p.name for p in published.glob("*.json"))
    assert len(names) >= 15
    assert [n for n in names if f"### {n}" not in provenance] == []
