"""Judge IAM requests with a maintained evaluator: @cloud-copilot/iam-simulate (npm, pinned in
tests/deploy/iamsim/package-lock.json; `make iamsim` installs it into
tests/deploy/iamsim/node_modules). All cases of a test module go to one Node process as JSON.

It evaluates identity and resource policies (trust policies included, cross-account rules
included) with every condition operator. Request context keys that AWS fills in itself (the
tag keys of a CreateTags, the resource's tags, aws:PrincipalArn) are given by the case, as AWS
would give them."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IAMSIM_DIR = Path(__file__).resolve().parent / "iamsim"
DRIVER = IAMSIM_DIR / "simulate.mjs"
ALLOWED = "Allowed"
IMPLICIT = "ImplicitlyDenied"
EXPLICIT = "ExplicitlyDenied"
TIMEOUT_S = 120


class SimulatorMissingError(RuntimeError):
    pass


@dataclass(frozen=True)
class Request:
    """One signed request: who (a principal ARN and its identity policies), what, on which
    resource of which account, with which context, and the resource's own policy if it has one."""

    name: str
    principal: str
    identity: Sequence[Mapping[str, Any]]
    action: str
    resource: str
    account: str
    context: Mapping[str, Any] = field(default_factory=dict)
    resource_policy: Mapping[str, Any] | None = None

    def simulation(self) -> dict[str, Any]:
        role_arn = _role_arn(self.principal)
        sim: dict[str, Any] = {
            "identityPolicies": [{"name": f"p{i}", "policy": p} for i, p in enumerate(self.identity)],
            "serviceControlPolicies": [],
            "resourceControlPolicies": [],
            "request": {
                "principal": self.principal,
                "action": self.action,
                "resource": {"resource": self.resource, "accountId": self.account},
                # AWS sets aws:PrincipalArn on every request by a role session: the role's ARN.
                "contextVariables": {"aws:PrincipalArn": role_arn, **self.context},
            },
        }
        if self.resource_policy is not None:
            sim["resourcePolicy"] = self.resource_policy
        return sim


def _role_arn(principal: str) -> str:
    # arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION -> arn:aws:iam::ACCOUNT:role/NAME
    parts = principal.split(":")
    if parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        return f"arn:{parts[1]}:iam::{parts[4]}:role/{parts[5].split('/')[1]}"
    return principal


def node_modules_ready() -> bool:
    return (IAMSIM_DIR / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir()


def judge(requests: Sequence[Request]) -> dict[str, str]:
    """Each request's overall result (Allowed / ImplicitlyDenied / ExplicitlyDenied), by name.
    A request the simulator refuses as invalid (an unknown action, a malformed policy), or one
    with a context key it does not know for the action (it would drop it silently), fails
    loudly: it proves nothing."""
    node = shutil.which("node")
    if node is None or not node_modules_ready():
        raise SimulatorMissingError(
            "the IAM simulator is not installed: run `make iamsim` (npm ci --prefix tests/deploy/iamsim)"
        )
    names = [r.name for r in requests]
    assert len(set(names)) == len(names), "request names must be unique"
    cases = [{"id": r.name, "simulation": r.simulation()} for r in requests]
    done = subprocess.run(
        [node, str(DRIVER)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        cwd=IAMSIM_DIR,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    invalid = {
        k: v["errors"] or f"context keys the simulator ignores: {v['ignored']}"
        for k, v in out.items()
        if v["errors"] or v["ignored"]
    }
    assert not invalid, json.dumps(invalid, indent=1)[:4000]
    return {k: v["result"] for k, v in out.items()}
