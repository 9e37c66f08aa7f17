"""`--format csv`: one row per finding, for a spreadsheet or a ticket import. Pure.

The columns are a public interface (README, "CSV columns"): they are only ever added to, at the end.
`details` is the finding's JSON details as text, so the row holds every fact the JSON report does.
Open findings come first; findings Security Hub holds as resolved follow (`record_state` ARCHIVED)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import TextIO

from chalicelib.report.view import AuditView, FindingRow

COLUMNS = (
    "id",
    "check",
    "severity",
    "status",
    "account",
    "region",
    "resource_id",
    "name",
    "owner",
    "environment",
    "title",
    "description",
    "remediation",
    "details",
    "first_observed_at",
    "updated_at",
    "record_state",
    "resolved_because",
    "securityhub_url",
    "console_url",
)


def csv_rows(view: AuditView) -> Iterator[dict[str, str]]:
    for row in (*view.findings, *view.resolved):
        yield _row(row)


def write_csv(view: AuditView, out: TextIO) -> None:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(view):
        writer.writerow({k: _defuse(v) for k, v in row.items()})


def _row(r: FindingRow) -> dict[str, str]:
    return {
        "id": r.id,
        "check": r.check,
        "severity": r.severity,
        "status": r.status,
        "account": r.account,
        "region": r.region,
        "resource_id": r.resource_id,
        "name": r.name,
        "owner": r.owner,
        "environment": r.environment,
        "title": r.title,
        "description": r.description,
        "remediation": r.remediation,
        "details": json.dumps(r.details, sort_keys=True, default=str),
        "first_observed_at": r.first_observed_at,
        "updated_at": r.updated_at,
        "record_state": r.record_state,
        "resolved_because": r.resolved_because,
        "securityhub_url": r.securityhub_url,
        "console_url": r.console_url,
    }


def _defuse(text: str) -> str:
    """A tag value like `=HYPERLINK(...)` must stay text in a spreadsheet (CSV injection): a cell
    starting with = + - @ or a tab/CR is prefixed with an apostrophe, as OWASP recommends."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
