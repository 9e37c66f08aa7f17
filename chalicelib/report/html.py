"""`--format html`: one self-contained page a manager or an auditor can open, keep and print.

No script, no external stylesheet, font or image: inline CSS and SVG only, so the file works
offline, from a mail attachment or an archive years later. Jinja2 autoescapes everything: tag
values are user input (an Owner tag may well say `<script>`).

Jinja2 is a CLI extra (`pip install 'ec2-warden[report]'`, in requirements-dev.txt), not a Lambda
requirement: the functions answer JSON and write Security Hub; this module is imported only when a
person asks for HTML."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from chalicelib.report.charts import Chart, bar_chart, sprawl_chart
from chalicelib.report.view import SEVERITIES, AuditView, FindingRow, parse_time, severity_matrix
from chalicelib.rules import timefmt

TEMPLATES = Path(__file__).with_name("templates")
DEADLINE_DAYS = 7


class RendererUnavailable(Exception):
    """A library the format needs is not installed (a CLI extra)."""


def render_html(view: AuditView) -> str:
    return "".join(_template().generate(**html_context(view)))


def write_html(view: AuditView, out: TextIO) -> None:
    """Written as Jinja2 produces it: a 10,000-finding page is never one string."""
    for chunk in _template().generate(**html_context(view)):
        out.write(chunk)


def _template() -> Any:
    try:
        import jinja2
    except ImportError:
        raise RendererUnavailable(
            "--format html needs Jinja2: pip install 'ec2-warden[report]' (or -r requirements-dev.txt)"
        ) from None
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_or_select_template("report.html.j2")  # one name: the same as get_template


def html_context(view: AuditView) -> dict[str, Any]:
    checks, matrix = severity_matrix(view.findings)
    by_severity = Counter(r.severity for r in view.findings)
    sprawl = view.sprawl or {}
    return {
        "v": view,
        "severities": SEVERITIES,
        "checks": checks,
        "matrix": matrix,
        "by_severity": by_severity,
        "severity_chart": bar_chart(
            "findings-by-severity",
            [(s, {"findings": by_severity.get(s, 0)}) for s in SEVERITIES],
            [("findings", "findings", "s-findings")],
        ),
        "sprawl_charts": _sprawl_charts(sprawl),
        "deadlines": _deadlines(view),
        "deadline_chart": _deadline_chart(view),
        "patch_chart": _patch_chart(view.patch),
        "paths": list(_exposure_paths(view.findings)),
        "fixed": _fixed(view.resolved),
        "evidence": _evidence,
        "when": _when,
        "n": _number_text,
        "total_not_evaluated": sum(view.not_evaluated.values()),
        "deadline_days": DEADLINE_DAYS,
    }


def _sprawl_charts(sprawl: Mapping[str, Any]) -> list[tuple[str, Chart]]:
    charts = []
    for key, title in (("by_environment", "by Environment tag"), ("by_owner", "by Owner tag")):
        groups = sprawl.get(key) or {}
        if groups:
            charts.append((title, sprawl_chart(f"sprawl-{key.replace('_', '-')}", groups)))
    return charts


def _deadlines(view: AuditView) -> list[dict[str, Any]]:
    today = view.generated_at.astimezone(UTC).date()
    horizon = datetime.combine(today + timedelta(days=DEADLINE_DAYS), datetime.min.time(), tzinfo=UTC)
    return [
        {"d": d, "overdue": d.stop_after <= view.generated_at, "in": _duration(d.stop_after - view.generated_at)}
        for d in sorted(view.deadlines, key=lambda d: (d.stop_after, d.instance_id))
        if d.stop_after <= horizon
    ]


def _deadline_chart(view: AuditView) -> Chart:
    """Stops due per calendar day (UTC), today first; deadlines already past are "due now"."""
    now = view.generated_at.astimezone(UTC)
    today = now.date()
    days: list[tuple[str, dict[str, int]]] = [("due now", {"stops": 0})]
    days += [(timefmt.format_day(today + timedelta(days=n)), {"stops": 0}) for n in range(DEADLINE_DAYS)]
    for d in view.deadlines:
        if d.stop_after <= now:
            days[0][1]["stops"] += 1
            continue
        offset = (d.stop_after.astimezone(UTC).date() - today).days
        if offset < DEADLINE_DAYS:
            days[offset + 1][1]["stops"] += 1
    return bar_chart("stop-deadlines", days, [("stops", "stops due", "s-marked")])


def _patch_chart(patch: Mapping[str, int] | None) -> Chart | None:
    if not patch:
        return None
    rows = [
        ("managed by SSM", {"n": patch.get("managed")}),
        ("not managed", {"n": patch.get("unmanaged")}),
        ("compliant", {"n": patch.get("compliant")}),
        ("missing critical/security", {"n": patch.get("missing_critical_or_security")}),
        ("other missing / stale", {"n": patch.get("other_noncompliant")}),
    ]
    return bar_chart("patch-compliance", rows, [("n", "instances", "s-patch")])


def _exposure_paths(rows: tuple[FindingRow, ...]) -> Iterator[tuple[FindingRow, Mapping[str, Any]]]:
    for row in rows:
        if row.check != "public-exposure":
            continue
        for path in row.details.get("paths") or []:
            if isinstance(path, Mapping):
                yield row, path


def _fixed(resolved: tuple[FindingRow, ...]) -> list[dict[str, Any]]:
    """Per check: how many were fixed and how long they had been open (first seen to resolution)."""
    by_check: dict[str, list[float]] = {}
    for row in resolved:
        first, done = parse_time(row.first_observed_at), parse_time(row.updated_at)
        hours = by_check.setdefault(row.check, [])
        if first and done and done >= first:
            hours.append((done - first).total_seconds() / 3600)
    return [
        {
            "check": check,
            "count": sum(1 for r in resolved if r.check == check),
            "median": _hours_text(statistics.median(hours)) if hours else "not known",
            "longest": _hours_text(max(hours)) if hours else "not known",
        }
        for check, hours in sorted(by_check.items())
    ]


def _evidence(details: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A finding's details as label/value lines; nested values as compact JSON text."""
    lines = []
    for key, value in details.items():
        if key == "paths":
            continue  # shown in the exposure table
        if isinstance(value, dict | list):
            text = json.dumps(value, sort_keys=True, default=str)
        else:
            text = "" if value is None else str(value)
        lines.append((key.replace("_", " "), text))
    return lines


def _number_text(value: Any) -> str:
    return "not known" if value is None else str(value)


def _when(moment: datetime | None) -> str:
    return timefmt.format_display(moment) if moment else ""


def _duration(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours <= 0:
        return "due"
    return _hours_text(hours)


def _hours_text(hours: float) -> str:
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} days"
