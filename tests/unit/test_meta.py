"""Meta-tests: the project's own promises about itself."""

from __future__ import annotations

import ast
from pathlib import Path

from chalicelib.checks import CHECKS
from tests.conftest import PROJECT_DIR

UNIT = PROJECT_DIR / "tests" / "unit"
CHALICELIB = PROJECT_DIR / "chalicelib"


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


def test_checks_and_plan_import_no_aws_and_read_no_environment():
    pure = [
        *sorted((CHALICELIB / "checks").glob("*.py")),
        CHALICELIB / "plan" / "__init__.py",
        CHALICELIB / "rules" / "asff.py",
    ]
    pure += sorted(CHALICELIB.glob("plan_*.py"))
    for path in pure:
        source = path.read_text()
        tree = ast.parse(source)
        modules = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in modules if m.split(".")[0] in {"boto3", "botocore", "os", "time"}}, path
        assert "datetime.now(" not in source and "utcnow(" not in source, path


def test_nothing_deployed_imports_moto_or_devtools():
    for path in [*CHALICELIB.rglob("*.py"), PROJECT_DIR / "app.py"]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                for name in names:
                    if name.split(".")[0] == "moto":
                        raise AssertionError(f"{path} imports moto")
                    if name.split(".")[0] == "devtools":
                        # Only the CLI's demo and lab commands may, lazily, inside the function.
                        in_cli = path.parent.name == "cli" and path.name in {"main.py", "lab.py"}
                        assert in_cli and node.col_offset > 0, f"{path} imports devtools"


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
