"""What an audit report shows beyond the JSON report's findings: who owns each flagged instance,
the patch compliance of the fleet, the stop deadlines ec2-warden set, and how many instances each
check could not judge. Pure: built from the snapshot and the check results, like the sprawl census.

Kept on `Report.facts`, which the JSON report and the Lambda's answer leave out (their keys are a
promise and their size is bounded); the HTML and CSV renderers read it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.model import CheckName, CheckResult, Snapshot

STOP_AFTER_TAG = "warden:stop-after"
PROTECT_TAG = "warden:protect"
_OWNER_KEYS = ("owner",)
_ENVIRONMENT_KEYS = ("environment", "env")


def audit_facts(snapshot: Snapshot, results: Iterable[CheckResult]) -> dict[str, Any]:
    results = list(results)
    flagged = {f.resource_id for r in results for f in r.findings}
    instances = {
        i.id: {
            "name": i.tags.get("Name") or "",
            "owner": tag_value(i.tags, _OWNER_KEYS),
            "environment": tag_value(i.tags, _ENVIRONMENT_KEYS),
            "state": i.state,
        }
        for i in snapshot.instances
        if i.id in flagged or (i.state == "running" and i.tags.get(STOP_AFTER_TAG))
    }
    deadlines = sorted(
        (
            {"instance_id": i.id, "stop_after": i.tags[STOP_AFTER_TAG]}
            for i in snapshot.instances
            if i.state == "running" and i.tags.get(STOP_AFTER_TAG) and PROTECT_TAG not in i.tags
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


def tag_value(tags: Mapping[str, str], keys: tuple[str, ...]) -> str:
    for key, value in tags.items():
        if key.lower() in keys and value.strip():
            return value.strip()
    return ""


def _number(details: Mapping[str, Any], key: str) -> int:
    value = details.get(key)
    return value if isinstance(value, int) else 0
