"""Meta-tests: each domain fact has one definition (chalicelib/rules/). A second one fails here.

Grep-style scans of the deployed code (chalicelib/ and app.py): warden:* tag keys as string
literals, ISO-8601 parsing and formatting, account/region/resource-id patterns, the environment
settings, the lease kinds. Each scanner is first shown to catch a planted second definition, so
that a scan that can no longer see anything fails too."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from chalicelib.apply import lease
from chalicelib.rules import leases, permissions, tags
from tests.conftest import PROJECT_DIR

CHALICELIB = PROJECT_DIR / "chalicelib"
RULES = CHALICELIB / "rules"
DEPLOYED = sorted([*CHALICELIB.rglob("*.py"), PROJECT_DIR / "app.py"])

TAG_KEY = re.compile(r"^warden:[a-z][a-z-]*$")
TIME_CALLS = ("fromisoformat(", "strptime(", "strftime(")
ID_PATTERNS = (
    r"\d{12}",  # an account id
    r"[a-z]{2}(",  # a region name
    "isdigit() and len(",  # an account id, by hand
    "len(account) == 12",
    "-[0-9a-f]{8}",  # an EC2 resource id (i-, sg-, eni-, vpc-, subnet-)
)
ENVIRONMENT_SETTINGS = (".environment_tag", ".production_environments", ".non_production_environments")


def _tag_key_literals(source: str) -> list[str]:
    """String constants that are exactly a warden:* key (docstrings and sentences are not)."""
    return [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and TAG_KEY.match(node.value)
    ]


def _offenders(needles: tuple[str, ...], allowed: set[Path]) -> list[str]:
    found = []
    for path in DEPLOYED:
        if path in allowed:
            continue
        text = path.read_text()
        found += [f"{path.relative_to(PROJECT_DIR)}: {n}" for n in needles if n in text]
    return found


# --- the scanners see a planted second definition ---------------------------------------------


def test_the_scanners_catch_a_second_definition():
    assert _tag_key_literals('PROTECT = "warden:protect"\nx = tags["warden:stop-after"]') == [
        "warden:protect",
        "warden:stop-after",
    ]
    assert _tag_key_literals('"""Give it the warden:protect tag."""\nx = f"{a} warden:protect"') == []
    planted = 'datetime.fromisoformat(text)\nre.compile(r"^\\d{12}$")\nsettings.production_environments'
    assert [n for n in TIME_CALLS if n in planted] == ["fromisoformat("]
    assert [n for n in ID_PATTERNS if n in planted] == [r"\d{12}"]
    assert [n for n in ENVIRONMENT_SETTINGS if n in planted] == [".production_environments"]


# --- one definition each -----------------------------------------------------------------------


def test_warden_tag_keys_are_written_only_in_rules_tags():
    offenders = [
        f"{path.relative_to(PROJECT_DIR)}: {key}"
        for path in DEPLOYED
        if path != RULES / "tags.py"
        for key in _tag_key_literals(path.read_text())
    ]
    assert offenders == []
    assert set(tags.ALL_KEYS) == {
        v for k, v in vars(tags).items() if k.isupper() and isinstance(v, str) and v != "warden:" and TAG_KEY.match(v)
    }


def test_iso_time_is_parsed_and_formatted_only_in_rules_timefmt():
    assert _offenders(TIME_CALLS, {RULES / "timefmt.py"}) == []


def test_account_region_and_resource_id_patterns_live_only_in_rules_ids():
    assert _offenders(ID_PATTERNS, {RULES / "ids.py"}) == []


def test_what_production_means_is_read_only_in_rules_environments():
    """The environment settings are read by the one definition (settings.py parses them)."""
    assert _offenders(ENVIRONMENT_SETTINGS, {RULES / "environments.py", CHALICELIB / "settings.py"}) == []


def test_environments_are_defined_in_rules_only():
    assert not (CHALICELIB / "environments.py").exists()
    tree = ast.parse((CHALICELIB / "rules" / "environments.py").read_text())
    assert [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "is_production"]


def test_the_lease_kinds_are_defined_once():
    assert lease.LEASED_KINDS is leases.LEASED_KINDS
    assert {k.value for k in leases.LEASED_KINDS} == permissions.LEASED_KINDS
    # Nobody else spells out a set of kinds to lease.
    for path in DEPLOYED:
        if path == RULES / "leases.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                if names & {"LEASED_KINDS", "_LEASED", "LEASE_TERMS"}:
                    assert not isinstance(node.value, ast.Set | ast.Dict | ast.Call), path


@pytest.mark.parametrize("module", ["tags.py", "timefmt.py", "ids.py", "environments.py", "leases.py"])
def test_rules_are_pure(module: str):
    tree = ast.parse((RULES / module).read_text())
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m.split(".")[0] in {"boto3", "botocore", "os", "time"}}
    assert "datetime.now(" not in (RULES / module).read_text()
