"""`python -m chalicelib report --from-securityhub`: the monthly audit, across every account and
region the Security Hub in one region holds (an administrator's hub, or a finding aggregator's
region), with what was fixed in the period and how fast."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any, TextIO

from chalicelib.adapters.clients import AwsClients
from chalicelib.adapters.securityhub_findings import read_warden_findings
from chalicelib.report.from_securityhub import view_from_securityhub
from chalicelib.report.render import write_view
from chalicelib.report.view import AuditView

REPORT_FORMATS = ("html", "csv", "ocsf", "json")
MAX_SINCE_DAYS = 90  # Security Hub deletes findings not updated for 90 days


class ReportUsageError(ValueError):
    """A bad --since or --format: exit 2."""


def securityhub_report(
    clients: AwsClients, region: str, since_days: int, fmt: str, out: TextIO, now: datetime
) -> AuditView:
    if not 1 <= since_days <= MAX_SINCE_DAYS:
        raise ReportUsageError(f"--since {since_days}: give a number of days from 1 to {MAX_SINCE_DAYS}")
    if fmt not in REPORT_FORMATS:
        raise ReportUsageError(f"--format {fmt!r}: one of {', '.join(REPORT_FORMATS)}")
    found = read_warden_findings(clients.securityhub, since_days, now)
    view = view_from_securityhub(
        found.open, found.resolved, now=now, since=now - timedelta(days=since_days), hub_region=region
    )
    if fmt == "json":
        json.dump(view_to_dict(view), out, indent=2, default=str)
        out.write("\n")
    else:
        write_view(view, fmt, out)
    return view


def view_to_dict(view: AuditView) -> dict[str, Any]:
    """The report's JSON: the view's fields; each finding with its links."""
    data = asdict(view)
    data["findings"] = [_row(r) for r in view.findings]
    data["resolved"] = [_row(r) for r in view.resolved]
    return data


def _row(row: Any) -> dict[str, Any]:
    return {**asdict(row), "securityhub_url": row.securityhub_url, "console_url": row.console_url}
