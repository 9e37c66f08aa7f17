"""`--format ocsf`: each finding as an OCSF 1.5 Detection Finding (class 2004), one JSON object a line.

Built with py-ocsf-models (Prowler's maintained OCSF models, pydantic), so every line is what the
models accept (tests/unit/test_report_formats.py parses each line back with them). A CLI extra,
like Jinja2: imported only when OCSF is asked for.

Mapping: finding_info.uid = the Security Hub finding id; status New (open) or Resolved (archived);
activity Create (open) or Close (resolved); severity_id from the severity; the instance as the
resource (uid = its ARN, labels = its Name/Owner/Environment); cloud.account = the AWS account;
evidences[0].data = the finding's details (the exposure paths, the patch counts, ...)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from chalicelib.report.html import RendererUnavailable
from chalicelib.report.view import AuditView, FindingRow, parse_time
from chalicelib.rules.partitions import instance_arn, partition_of

_SEVERITY_IDS = {"INFORMATIONAL": 1, "LOW": 2, "MEDIUM": 3, "HIGH": 4, "CRITICAL": 5}


def ocsf_findings(view: AuditView) -> Iterator[Any]:
    """DetectionFinding models, open findings first, then resolved ones."""
    try:
        from py_ocsf_models.events.findings.detection_finding import DetectionFinding
    except ImportError:
        raise RendererUnavailable(
            "--format ocsf needs py-ocsf-models: pip install 'ec2-warden[report]' (or -r requirements-dev.txt)"
        ) from None
    for row in (*view.findings, *view.resolved):
        yield DetectionFinding.model_validate(_event(row, view))


def write_ocsf(view: AuditView, out: TextIO) -> None:
    for finding in ocsf_findings(view):
        out.write(finding.model_dump_json(exclude_none=True) + "\n")


def _event(row: FindingRow, view: AuditView) -> dict[str, Any]:
    resolved = row.record_state == "ARCHIVED"
    first = parse_time(row.first_observed_at)
    updated = parse_time(row.updated_at) or view.generated_at
    activity = 3 if resolved else 1
    labels = [f"{k}:{v}" for k, v in (("Name", row.name), ("Owner", row.owner), ("Environment", row.environment)) if v]
    event: dict[str, Any] = {
        "metadata": {
            "product": {"name": "ec2-warden", "vendor_name": "ec2-warden", "version": view.version},
            "event_code": row.check,
            "uid": row.id,
            "profiles": ["cloud"],
        },
        "activity_id": activity,
        "activity_name": "Close" if resolved else "Create",
        "type_uid": 200400 + activity,
        "type_name": f"Detection Finding: {'Close' if resolved else 'Create'}",
        "severity_id": _SEVERITY_IDS.get(row.severity, 0),
        "severity": row.severity.title(),
        "status_id": 4 if resolved else 1,
        "status": "Resolved" if resolved else "New",
        "status_code": row.status,
        "status_detail": row.resolved_because or None,
        "message": row.title,
        "time": _epoch_ms(updated),
        "time_dt": updated,
        "finding_info": {
            "uid": row.id,
            "title": row.title[:256] or row.check,
            "desc": row.description or None,
            "types": [row.check],
            "first_seen_time": _epoch_ms(first) if first else None,
            "first_seen_time_dt": first,
            "last_seen_time": _epoch_ms(updated),
            "last_seen_time_dt": updated,
            "src_url": row.securityhub_url or None,
        },
        "resources": [
            {
                "uid": instance_arn(row.region, row.account, row.resource_id),
                "name": row.resource_id,
                "type": "AwsEc2Instance",
                "region": row.region,
                "cloud_partition": partition_of(row.region),
                "labels": labels or None,
            }
        ],
        "cloud": {
            "provider": "AWS",
            "region": row.region,
            "account": {"uid": row.account, "type_id": 10, "type": "AWS Account", "name": row.account},
        },
        "remediation": {"desc": row.remediation} if row.remediation else None,
        "evidences": [{"name": row.check, "data": dict(row.details)}] if row.details else None,
        "unmapped": {"ec2_warden": {"console_url": row.console_url, "owner": row.owner}},
    }
    cleaned: dict[str, Any] = _drop_none(event)
    return cleaned


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def _epoch_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
