"""The audit view of ec2-warden's findings as Security Hub holds them: every account and region the
hub (or a finding aggregator's region) holds, open findings and those resolved in the period. Pure.

Security Hub keeps findings, not the fleet: counts of running instances and of instances that pass
are not there, and the report says so rather than show a zero. What the findings do hold is used:
the instance's tags (Name, Owner, Environment, the warden:* lifecycle tags) on Resources[0].Tags
give owners, the idle sprawl by owner and environment, and the stop deadlines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from chalicelib.report.view import AuditView, Deadline, FindingRow, parse_time, sort_rows
from chalicelib.rules import tags as warden_tags
from chalicelib.rules.environments import environment_label_of_tags
from chalicelib.settings import Settings

# Security Hub keeps the resource's tags, not the deployment's settings: the default ENVIRONMENT_TAG.
_DEFAULTS = Settings()
_CHECK_FIELD = "ec2-warden/Check"
_RESOURCE_FIELD = "ec2-warden/ResourceId"
_ACCOUNT_FIELD = "ec2-warden/ResourceAccount"
_RESOLVED_FIELD = "ec2-warden/ResolvedBecause"
UNTAGGED = "(untagged)"

NOTES = (
    "Read from Security Hub: it holds ec2-warden's findings, not the fleet. Running instances, instances "
    "that pass every check, patch-compliant instances and instances not evaluated are not kept there and "
    "are shown as 'not known'; a sweep's own report (sweep --format html) counts them for one account "
    "and region.",
    "Errors and instances not evaluated belong to each run and are not kept in Security Hub: each "
    "run's report (the Lambda's answer, its log and the metrics Errors and ActionErrors) states them.",
    "Missing critical/security patches counts open patch-noncompliant findings of HIGH severity or worse "
    "(critical or security patches missing, or a failed patch run).",
)


def row_from_asff(raw: Mapping[str, Any]) -> FindingRow:
    fields = raw.get("ProductFields") or {}
    resources = raw.get("Resources") or [{}]
    resource = resources[0] if resources else {}
    tags = resource.get("Tags") or {}
    generator = str(raw.get("GeneratorId", ""))
    check = fields.get(_CHECK_FIELD) or generator.split("/", 1)[-1]
    resource_id = fields.get(_RESOURCE_FIELD) or str(resource.get("Id", "")).rsplit("/", 1)[-1]
    instance = ((resource.get("Details") or {}).get("AwsEc2Instance")) or {}
    return FindingRow(
        id=str(raw.get("Id", "")),
        check=str(check),
        severity=str((raw.get("Severity") or {}).get("Label", "INFORMATIONAL")),
        status=str((raw.get("Workflow") or {}).get("Status") or ""),
        account=str(fields.get(_ACCOUNT_FIELD) or raw.get("AwsAccountId", "")),
        region=str(raw.get("Region") or resource.get("Region") or ""),
        resource_id=resource_id,
        title=str(raw.get("Title", "")),
        description=str(raw.get("Description", "")),
        remediation=str(((raw.get("Remediation") or {}).get("Recommendation") or {}).get("Text", "")),
        name=str(tags.get("Name", "")),
        owner=warden_tags.owner_of(tags) or "",
        environment=_environment(tags),
        details={"instance": dict(instance)} if instance else {},
        first_observed_at=str(raw.get("FirstObservedAt") or raw.get("CreatedAt") or ""),
        updated_at=str(raw.get("UpdatedAt", "")),
        record_state=str(raw.get("RecordState", "ACTIVE")),
        resolved_because=str(fields.get(_RESOLVED_FIELD, "")),
    )


def view_from_securityhub(
    open_findings: Sequence[Mapping[str, Any]],
    resolved_findings: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
    since: datetime,
    hub_region: str,
) -> AuditView:
    rows = sort_rows([row_from_asff(r) for r in open_findings])
    resolved = sorted((row_from_asff(r) for r in resolved_findings), key=lambda r: (r.updated_at, r.id), reverse=True)
    tags_of = {row_from_asff(r).resource_id: _tags(r) for r in open_findings}
    accounts = sorted({r.account for r in (*rows, *resolved) if r.account})
    regions = sorted({r.region for r in (*rows, *resolved) if r.region} or {hub_region})
    return AuditView(
        source="securityhub",
        mode="read-only",
        generated_at=now,
        since=since,
        accounts=tuple(accounts),
        regions=tuple(regions),
        trigger=f"Security Hub in {hub_region}",
        findings=tuple(rows),
        resolved=tuple(resolved),
        sprawl=_sprawl(rows, tags_of),
        deadlines=_deadlines(rows, tags_of),
        patch=_patch(rows),
        notes=NOTES,
        errors_known=False,
    )


def _environment(tags: Mapping[str, str]) -> str:
    return environment_label_of_tags(tags, _DEFAULTS) or ""


def _tags(raw: Mapping[str, Any]) -> Mapping[str, str]:
    resources = raw.get("Resources") or [{}]
    return (resources[0] if resources else {}).get("Tags") or {}


def _sprawl(rows: Sequence[FindingRow], tags_of: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    flags: dict[str, dict[str, bool]] = {}
    for r in rows:
        seen = flags.setdefault(r.resource_id, {"idle": False, "marked": False, "stopped_by_warden": False})
        tags = tags_of.get(r.resource_id, {})
        if r.check == "idle":
            seen["idle"] = True
            seen["marked"] = seen["marked"] or bool(tags.get(warden_tags.STOP_AFTER))
        seen["stopped_by_warden"] = seen["stopped_by_warden"] or bool(tags.get(warden_tags.STOPPED_BY))
        if r.check == "stopped-long":
            seen["stopped_long"] = True
    by_env: dict[str, dict[str, Any]] = {}
    by_owner: dict[str, dict[str, Any]] = {}
    first = {r.resource_id: r for r in reversed(rows)}
    for instance_id, seen in flags.items():
        row = first[instance_id]
        for groups, key in ((by_env, row.environment), (by_owner, row.owner)):
            group = groups.setdefault(key or UNTAGGED, _empty())
            for name in ("idle", "marked", "stopped_by_warden", "stopped_long"):
                group[name] += bool(seen.get(name))
    totals = _empty()
    for seen in flags.values():
        for name in ("idle", "marked", "stopped_by_warden", "stopped_long"):
            totals[name] += bool(seen.get(name))
    return {**totals, "by_environment": _busiest_first(by_env), "by_owner": _busiest_first(by_owner)}


def _busiest_first(groups: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return dict(sorted(groups.items(), key=lambda kv: (-kv[1]["idle"], kv[0])))


def _empty() -> dict[str, Any]:
    return {"running": None, "idle": 0, "marked": 0, "stopped_by_warden": 0, "stopped_long": 0}


def _deadlines(rows: Sequence[FindingRow], tags_of: Mapping[str, Mapping[str, str]]) -> tuple[Deadline, ...]:
    out = {}
    for r in rows:
        tags = tags_of.get(r.resource_id, {})
        when = parse_time(tags.get(warden_tags.STOP_AFTER))
        if r.check == "idle" and when is not None and not warden_tags.is_protected(tags):
            out[r.resource_id] = Deadline(r.resource_id, r.name, r.owner, when)
    return tuple(sorted(out.values(), key=lambda d: (d.stop_after, d.instance_id)))


def _patch(rows: Sequence[FindingRow]) -> dict[str, Any]:
    patch = [r for r in rows if r.check == "patch-noncompliant"]
    serious = sum(1 for r in patch if r.severity in ("HIGH", "CRITICAL"))
    return {
        "running": None,
        "managed": None,
        "unmanaged": len({r.resource_id for r in rows if r.check == "ssm-unmanaged"}),
        "compliant": None,
        "missing_critical_or_security": serious,
        "other_noncompliant": len(patch) - serious,
    }
