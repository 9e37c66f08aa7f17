"""What an audit report shows beyond the JSON report's findings: who owns each flagged instance,
the patch compliance of the fleet, the stop deadlines ec2-warden set, and how many instances each
check could not judge. Pure: built from the snapshot and the check results, like the sprawl census.

Kept on `Report.facts`, which the JSON report and the Lambda's answer leave out (their keys are a
promise and their size is bounded); the HTML and CSV renderers read it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.model import CheckName, CheckResult, Snapshot
from chalicelib.rules import tags as warden_tags
from chalicelib.rules.environments import environment_label
from chalicelib.settings import Settings


def audit_facts(snapshot: Snapshot, results: Iterable[CheckResult], settings: Settings) -> dict[str, Any]:
    results = list(results)
    flagged = {f.resource_id for r in results for f in r.findings}
    instances = {
        i.id: {
            "name": i.tags.get("Name") or "",
            "owner": warden_tags.owner_of(i.tags) or "",
            "environment": environment_label(i, settings) or "",
            "state": i.state,
        }
        for i in snapshot.instances
        if i.id in flagged or (i.state == "running" and i.tags.get(warden_tags.STOP_AFTER))
    }
    deadlines = sorted(
        (
            {"instance_id": i.id, "stop_after": i.tags[warden_tags.STOP_AFTER]}
            for i in snapshot.instances
            if i.state == "running" and i.tags.get(warden_tags.STOP_AFTER) and not warden_tags.is_protected(i.tags)
        ),
        key=lambda d: (d["stop_after"], d["instance_id"]),
    )
    return {
        "instances": instances,
        "deadlines": deadlines,
        "patch": patch_compliance(snapshot, results),
        "not_evaluated": {r.check.value: len(r.not_evaluated) for r in results if r.not_evaluated},
        "checks_run": [r.check.value for r in results],
    }


def patch_compliance(snapshot: Snapshot, results: list[CheckResult]) -> dict[str, Any] | None:
    """Running instances: managed by SSM or not, and of the managed, compliant or missing what.
    None when SSM was not read (the patch checks did not run)."""
    if snapshot.ssm_info is None:
        return None
    running = [i for i in snapshot.instances if i.state == "running"]
    managed = {i.id for i in running if i.id in snapshot.ssm_info}
    patch = next((r for r in results if r.check is CheckName.PATCH_NONCOMPLIANT), None)
    counts = {
        "running": len(running),
        "managed": len(managed),
        "unmanaged": len(running) - len(managed),
        "compliant": 0,
        "missing_critical_or_security": 0,
        "other_noncompliant": 0,
        "not_evaluated": 0,
    }
    if patch is None:
        counts["not_evaluated"] = len(managed)
        return counts
    failing = {f.resource_id: f.details for f in patch.findings}
    for instance_id in managed:
        if instance_id in failing:
            details = failing[instance_id]
            serious = _number(details, "critical_non_compliant") + _number(details, "security_non_compliant")
            key = "missing_critical_or_security" if serious else "other_noncompliant"
            counts[key] += 1
        elif instance_id in patch.passed:
            counts["compliant"] += 1
        else:
            counts["not_evaluated"] += 1
    return counts


def _number(details: Mapping[str, Any], key: str) -> int:
    value = details.get(key)
    return value if isinstance(value, int) else 0
