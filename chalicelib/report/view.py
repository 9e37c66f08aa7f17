"""One view of an audit, whatever its source: a run of the pipeline (sweep, replay) or ec2-warden's
findings read back from Security Hub. The HTML, CSV and OCSF renderers read only this. Pure.

A source that cannot know something says so in `notes` (Security Hub does not hold the count of
running instances, for one): the report states it instead of showing a zero."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib import __version__
from chalicelib.model import Report
from chalicelib.notify.facts import ec2_console_url, securityhub_finding_url
from chalicelib.rules import timefmt

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")


@dataclass(frozen=True)
class FindingRow:
    id: str
    check: str
    severity: str
    status: str  # a run: new/changed/refreshed/unchanged/unknown; Security Hub: its Workflow.Status
    account: str
    region: str
    resource_id: str
    title: str
    description: str = ""
    remediation: str = ""
    name: str = ""
    owner: str = ""
    environment: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    first_observed_at: str = ""
    updated_at: str = ""
    record_state: str = "ACTIVE"  # ARCHIVED once resolved
    resolved_because: str = ""

    @property
    def securityhub_url(self) -> str:
        return securityhub_finding_url(self.region, self.id) or ""

    @property
    def console_url(self) -> str:
        return ec2_console_url(self.region, self.resource_id) or ""


@dataclass(frozen=True)
class Deadline:
    instance_id: str
    name: str
    owner: str
    stop_after: datetime


@dataclass(frozen=True)
class AuditView:
    source: str  # "sweep", "replay" or "securityhub"
    mode: str
    generated_at: datetime
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    findings: tuple[FindingRow, ...]
    trigger: str = ""
    version: str = __version__
    resolved: tuple[FindingRow, ...] = ()
    census: Mapping[str, int] = field(default_factory=dict)
    # running / idle / marked / stopped_by_warden / stopped_long, with by_environment and by_owner;
    # a count the source cannot know is None.
    sprawl: Mapping[str, Any] | None = None
    deadlines: tuple[Deadline, ...] = ()
    patch: Mapping[str, int] | None = None
    not_evaluated: Mapping[str, int] = field(default_factory=dict)
    errors: tuple[tuple[str, str], ...] = ()
    actions: tuple[Mapping[str, Any], ...] = ()
    since: datetime | None = None
    notes: tuple[str, ...] = ()
    # False when the source does not record the runs' errors and unjudged instances (Security Hub).
    errors_known: bool = True


def view_from_report(report: Report, source: str, now: datetime) -> AuditView:
    facts = report.facts or {}
    owners: Mapping[str, Mapping[str, str]] = facts.get("instances", {})
    rows = []
    for f in report.findings:
        who = owners.get(f.resource_id, {})
        rows.append(
            FindingRow(
                id=f.id,
                check=f.check.value,
                severity=f.severity.value,
                status=report.statuses[f.id].value if f.id in report.statuses else "unknown",
                account=f.account,
                region=f.region,
                resource_id=f.resource_id,
                title=f.title,
                description=f.description,
                remediation=f.remediation,
                name=who.get("name", ""),
                owner=who.get("owner", ""),
                environment=who.get("environment", ""),
                details=_plain(f.details),
            )
        )
    resolved = tuple(_resolved_row(fid) for fid in report.resolved)
    deadlines = []
    for d in facts.get("deadlines", []):
        when = parse_time(d["stop_after"])
        if when is None:
            continue
        who = owners.get(d["instance_id"], {})
        deadlines.append(Deadline(d["instance_id"], who.get("name", ""), who.get("owner", ""), when))
    return AuditView(
        source=source,
        mode=report.mode.value,
        generated_at=now,
        accounts=tuple(a for a in (report.account,) if a),
        regions=tuple(r for r in (report.region,) if r),
        trigger=report.trigger,
        findings=tuple(sort_rows(rows)),
        resolved=resolved,
        census=dict(report.census),
        sprawl=report.sprawl or None,
        deadlines=tuple(deadlines),
        patch=facts.get("patch"),
        not_evaluated=dict(facts.get("not_evaluated", {})),
        errors=tuple((e.where, e.message) for e in report.errors),
        actions=tuple(report.to_dict(findings=False)["actions"]),
        notes=(f"Event ignored: {report.ignored}",) if report.ignored else (),
    )


def sort_rows(rows: Sequence[FindingRow]) -> list[FindingRow]:
    """Worst first, then by check and instance, so two renders of one run list the same order."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(rows, key=lambda r: (rank.get(r.severity, len(SEVERITIES)), r.check, r.account, r.resource_id))


def severity_matrix(rows: Sequence[FindingRow]) -> tuple[list[str], dict[str, dict[str, int]]]:
    """Checks (rows of the matrix) and {check: {severity: count}}."""
    matrix: dict[str, dict[str, int]] = {}
    for r in rows:
        matrix.setdefault(r.check, dict.fromkeys(SEVERITIES, 0))
        matrix[r.check][r.severity] = matrix[r.check].get(r.severity, 0) + 1
    return sorted(matrix), matrix


def parse_time(text: str | None) -> datetime | None:
    return timefmt.parse_iso(str(text)) if text else None


def _resolved_row(finding_id: str) -> FindingRow:
    # ec2-warden/<account>/<region>/<check>/<instance> (chalicelib.model.finding_id)
    parts = finding_id.split("/")
    account, region, check, resource = (parts + [""] * 5)[1:5] if len(parts) >= 5 else ("", "", "", finding_id)
    return FindingRow(
        id=finding_id,
        check=check,
        severity="INFORMATIONAL",
        status="RESOLVED",
        account=account,
        region=region,
        resource_id=resource,
        title=f"Resolved: {check} on {resource}",
        record_state="ARCHIVED",
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, int | float | str | bool):
        return value.value
    return value
