"""The audit view's pure parts: facts from a hand-built snapshot, the view of a report, the matrix,
the charts' geometry, the Security Hub mapping, and the version the header shows."""

from __future__ import annotations

import tomllib
from datetime import timedelta

from chalicelib import __version__
from chalicelib.model import CheckName, CheckResult, Finding, Mode, PriorFinding, Report, Resolution, Severity
from chalicelib.report.charts import bar_chart, sprawl_chart
from chalicelib.report.facts import audit_facts
from chalicelib.report.from_securityhub import view_from_securityhub
from chalicelib.report.html import html_context
from chalicelib.report.view import severity_matrix, view_from_report
from chalicelib.rules.asff import finding_to_asff, resolution_to_asff
from chalicelib.settings import Settings
from tests.builders import ACCOUNT, NOW, REGION, instance, snapshot
from tests.conftest import PROJECT_DIR


def _finding(check: CheckName, resource: str, severity: Severity = Severity.HIGH, **details) -> Finding:
    return Finding(check, resource, ACCOUNT, REGION, severity, f"{check} on {resource}", "why", "fix", details)


def test_the_version_shown_is_the_projects():
    """The package's version is the one place it is written: pyproject.toml reads it from there."""
    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "chalicelib.__version__"}
    assert __version__ == "0.1.0"


def test_facts_name_owners_of_flagged_instances_deadlines_patch_and_not_evaluated():
    lab = instance("i-1", tags={"Owner": "alice", "Environment": "lab", "warden:stop-after": "2026-11-28T10:00:00Z"})
    guarded = instance("i-2", tags={"warden:stop-after": "2026-11-28T09:00:00Z", "warden:protect": "yes"})
    quiet = instance("i-3", tags={"owner": "bob"})
    snap = snapshot([lab, guarded, quiet], [])
    results = [
        CheckResult(CheckName.IDLE, findings=(_finding(CheckName.IDLE, "i-1", Severity.LOW),)),
        CheckResult(CheckName.PUBLIC_EXPOSURE, passed=frozenset({"i-1"}), not_evaluated=frozenset({"i-2", "i-3"})),
    ]
    facts = audit_facts(snap, results, Settings())
    assert facts["instances"]["i-1"] == {"name": "", "owner": "alice", "environment": "lab", "state": "running"}
    assert "i-3" not in facts["instances"]  # neither flagged nor marked
    assert facts["deadlines"] == [{"instance_id": "i-1", "stop_after": "2026-11-28T10:00:00Z"}]  # protected: none
    assert facts["not_evaluated"] == {"public-exposure": 2}
    assert facts["patch"] is None  # SSM not read


def test_view_of_a_report_sorts_worst_first_and_counts_the_matrix():
    report = Report(mode=Mode.AUDIT, trigger="sweep", account=ACCOUNT, region=REGION)
    report.findings = [
        _finding(CheckName.IDLE, "i-1", Severity.LOW),
        _finding(CheckName.PUBLIC_EXPOSURE, "i-2", Severity.CRITICAL),
        _finding(CheckName.PUBLIC_EXPOSURE, "i-3", Severity.HIGH),
    ]
    report.resolved = [f"ec2-warden/{ACCOUNT}/{REGION}/idle/i-9"]
    report.facts = {"instances": {"i-2": {"owner": "db", "name": "orders"}}, "deadlines": []}
    view = view_from_report(report, "sweep", NOW)
    assert [r.resource_id for r in view.findings] == ["i-2", "i-3", "i-1"]
    assert view.findings[0].owner == "db" and view.findings[0].status == "unknown"
    assert view.resolved[0].check == "idle" and view.resolved[0].resource_id == "i-9"
    checks, matrix = severity_matrix(view.findings)
    assert checks == ["idle", "public-exposure"]
    assert matrix["public-exposure"]["CRITICAL"] == 1 and matrix["public-exposure"]["HIGH"] == 1
    assert html_context(view)["by_severity"]["LOW"] == 1


def test_bars_scale_to_the_largest_count_and_unknown_counts_draw_nothing():
    chart = sprawl_chart("s", {"lab": {"running": 4, "idle": 2}, "prod": {"running": 2, "idle": 0}})
    lab, prod = chart.rows
    assert [b.value for b in lab.bars][:2] == [4, 2]
    assert lab.bars[0].width == 2 * lab.bars[1].width == 2 * prod.bars[0].width
    assert [b.value for b in prod.bars] == [2]  # zero counts draw no bar in the sprawl charts
    unknown = bar_chart("u", [("a", {"n": None}), ("b", {"n": 3})], [("n", "n", "c")])
    assert [len(r.bars) for r in unknown.rows] == [0, 1]


def test_securityhub_findings_give_owners_deadlines_idle_sprawl_and_time_to_fix():
    tags = {"Owner": "alice", "Environment": "lab", "warden:stop-after": "2026-11-28T10:00:00Z"}
    idle = _finding(CheckName.IDLE, "i-1", Severity.LOW)
    raw = finding_to_asff(idle, NOW, instance=instance("i-1", tags=tags))
    raw["Workflow"] = {"Status": "NEW"}
    fixed = _finding(CheckName.PUBLIC_EXPOSURE, "i-2")
    prior = PriorFinding(fixed.id, "public-exposure", "i-2", Severity.HIGH, "t", "d", "2026-11-25T12:00:00.000Z", "")
    done = resolution_to_asff(
        Resolution(fixed.id, "public-exposure", "i-2", "the instance is stopped", prior), ACCOUNT, REGION, NOW
    )
    view = view_from_securityhub([raw], [done], now=NOW, since=NOW - timedelta(days=30), hub_region=REGION)
    assert view.findings[0].owner == "alice" and view.findings[0].status == "NEW"
    assert view.sprawl["by_owner"]["alice"]["idle"] == 1 and view.sprawl["by_owner"]["alice"]["marked"] == 1
    assert view.sprawl["running"] is None  # Security Hub does not know the fleet
    assert [d.instance_id for d in view.deadlines] == ["i-1"]
    fixed_rows = html_context(view)["fixed"]
    assert fixed_rows == [{"check": "public-exposure", "count": 1, "median": "2.0 days", "longest": "2.0 days"}]


def test_stop_deadlines_are_counted_by_calendar_day_and_past_ones_are_due_now():
    from chalicelib.report.view import AuditView, Deadline

    late_evening = NOW.replace(hour=23)  # 2026-11-27 23:00 UTC
    deadlines = (
        Deadline("i-1", "", "", late_evening - timedelta(hours=1)),  # past: due now
        Deadline("i-2", "", "", late_evening + timedelta(hours=2)),  # 28 Nov, 01:00: tomorrow
        Deadline("i-3", "", "", late_evening + timedelta(days=5, hours=2)),  # 3 Dec 01:00: the last day shown
        Deadline("i-4", "", "", late_evening + timedelta(days=6, hours=2)),  # 4 Dec: beyond
    )
    view = AuditView("sweep", "audit", late_evening, (ACCOUNT,), (REGION,), (), deadlines=deadlines)
    context = html_context(view)
    counts = {row.label: (row.bars[0].value if row.bars else 0) for row in context["deadline_chart"].rows}
    assert counts == {
        "due now": 1,
        "Fri 27 Nov": 0,
        "Sat 28 Nov": 1,
        "Sun 29 Nov": 0,
        "Mon 30 Nov": 0,
        "Tue 01 Dec": 0,
        "Wed 02 Dec": 0,
        "Thu 03 Dec": 1,
    }
    assert [d["d"].instance_id for d in context["deadlines"]] == ["i-1", "i-2", "i-3"]
