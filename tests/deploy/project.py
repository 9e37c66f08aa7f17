"""The project's deployment files, read as the tests need them, and `chalice package` run as a
user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHALICE_DIR = ROOT / ".chalice"
INFRA_DIR = ROOT / "infra"
# What `make package` merges into Chalice's template (partial batch responses for sweep_worker).
MERGE_TEMPLATE = CHALICE_DIR / "package-merge.json"
PACKAGE_TIMEOUT_S = 300


def chalice_config() -> dict[str, Any]:
    return json.loads((CHALICE_DIR / "config.json").read_text())


def stage_policy(stage: str) -> dict[str, Any]:
    name = chalice_config()["stages"][stage]["iam_policy_file"]
    return json.loads((CHALICE_DIR / name).read_text())


def package(stage: str, out_dir: Path) -> dict[str, Any]:
    """Run `chalice package` as `make package` does and return the SAM template it wrote.

    It needs a region only to name things; any will do, so the test does not depend on the
    caller's AWS configuration. It pip-downloads requirements.txt (cached in
    .chalice/deployments between runs)."""
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        env.pop(var, None)
    cmd = [
        *(sys.executable, "-c", "from chalice.cli import main; main()", "package", "--stage", stage),
        *("--merge-template", str(MERGE_TEMPLATE), str(out_dir)),
    ]
    done = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=PACKAGE_TIMEOUT_S, check=False
    )
    assert done.returncode == 0, f"chalice package --stage {stage} failed:\n{done.stdout}\n{done.stderr}"
    return json.loads((out_dir / "sam.json").read_text())


def cfn_lint_problems(template: Path) -> list[str]:
    """cfn-lint's errors (E) and warnings (W) for a template, as readable lines."""
    from cfnlint.api import lint_file  # imported here: it loads its whole rule set

    return [
        f"{m.rule.id} {template.name}:{m.linenumber} {m.message}" for m in lint_file(template) if m.rule.id[0] in "EW"
    ]


# Real published events (see their PROVENANCE.md), beside the checkout as in CI.
FIXTURE_EVENTS = ROOT / "tests" / "fixtures" / "published"
