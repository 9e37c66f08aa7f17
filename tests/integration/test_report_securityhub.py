"""`report --from-securityhub` over a moto Security Hub that earlier notify runs filled: it lists
exactly ec2-warden's open findings and those resolved in the period, pages past 100, and asks
Security Hub for no more (the request's filters are read with a spy: moto ignores them)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.cli import main
from chalicelib.cli.report_command import ReportUsageError, securityhub_report
from chalicelib.model import CheckName, Finding, Mode, PriorFinding, Resolution, Severity
from chalicelib.rules.asff import finding_to_asff, resolution_to_asff
from devtools.fleet import seed_exposure_fleet
from tests.report_support import audit_sweep

pytestmark = pytest.mark.usefixtures("ssm_manages_every_instance")
REGION = "us-east-1"
ACCOUNT = "123456789012"
NOW = datetime.now(UTC).replace(microsecond=0)


def _spy(clients) -> list[dict]:
    seen: list[dict] = []
    clients.securityhub.meta.events.register(
        "provide-client-params.securityhub.GetFindings", lambda params, **_: seen.append(dict(params))
    )
    return seen


def _json_report(clients, since=30, now=None) -> dict:
    out = io.StringIO()
    securityhub_report(clients, REGION, since, "json", out, now or NOW + timedelta(minutes=5))
    return json.loads(out.getvalue())


def test_lists_exactly_the_open_and_resolved_findings_of_earlier_notify_runs(clients, ec2, securityhub):
    # GIVEN two notify sweeps: the second after an exposed instance was stopped (its finding resolved)
    fleet = seed_exposure_fleet(ec2)
    first = audit_sweep(clients, Mode.NOTIFY, NOW)
    ec2.stop_instances(InstanceIds=[fleet.instances["ipv4-ssh-open"]])
    second = audit_sweep(clients, Mode.NOTIFY, NOW + timedelta(minutes=1))
    assert second.resolved and first.findings
    # and a finding of another tool in the same hub
    other = finding_to_asff(
        Finding(CheckName.PUBLIC_EXPOSURE, "i-0000000000000000f", ACCOUNT, REGION, Severity.HIGH, "x", "d", "r"),
        NOW,
    )
    securityhub.batch_import_findings(
        Findings=[{**other, "Id": "another-tool/1", "GeneratorId": "another-tool/check", "ProductName": "Other"}]
    )
    seen = _spy(clients)
    # WHEN the audit report reads Security Hub back
    data = _json_report(clients)
    # THEN exactly ec2-warden's open findings and the resolved ones, nothing of the other tool
    assert {f["id"] for f in data["findings"]} == {f.id for f in second.findings}
    assert {f["id"] for f in data["resolved"]} == set(second.resolved)
    resolved = data["resolved"][0]
    assert resolved["record_state"] == "ARCHIVED" and resolved["status"] == "RESOLVED"
    assert "stopped" in resolved["resolved_because"]
    assert data["accounts"] == [ACCOUNT] and data["regions"] == [REGION]
    # and the requests asked Security Hub for ec2-warden's findings only: open, then archived in 30 days
    assert len(seen) == 2
    for params in seen:
        assert params["Filters"]["GeneratorId"] == [{"Value": "ec2-warden/", "Comparison": "PREFIX"}]
        assert params["Filters"]["ProductName"] == [{"Value": "ec2-warden", "Comparison": "EQUALS"}]
        assert params["MaxResults"] == 100
    assert seen[0]["Filters"]["RecordState"] == [{"Value": "ACTIVE", "Comparison": "EQUALS"}]
    assert seen[1]["Filters"]["RecordState"] == [{"Value": "ARCHIVED", "Comparison": "EQUALS"}]
    assert seen[1]["Filters"]["UpdatedAt"] == [{"DateRange": {"Value": 30, "Unit": "DAYS"}}]
    assert "UpdatedAt" not in seen[0]["Filters"]  # an open finding counts however old it is


def _finding(n: int) -> Finding:
    severity = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)[n % 4]
    return Finding(CheckName.PUBLIC_EXPOSURE, f"i-{n:017x}", ACCOUNT, REGION, severity, f"t{n}", "d", "r")


def _resolved(n: int, at: datetime) -> dict:
    f = _finding(n)
    prior = PriorFinding(f.id, f.check.value, f.resource_id, f.severity, f.title, "d", "2026-01-01T00:00:00.000Z", "")
    return resolution_to_asff(
        Resolution(f.id, f.check.value, f.resource_id, "the instance is stopped", prior), ACCOUNT, REGION, at
    )


def test_pages_past_100_and_keeps_only_findings_resolved_in_the_period(clients, securityhub):
    # GIVEN 230 open findings, 120 resolved yesterday and 5 resolved 40 days ago
    open_ = [finding_to_asff(_finding(n), NOW) for n in range(230)]
    recent = [_resolved(1000 + n, NOW - timedelta(days=1)) for n in range(120)]
    old = [_resolved(2000 + n, NOW - timedelta(days=40)) for n in range(5)]
    everything = open_ + recent + old
    for start in range(0, len(everything), 100):
        securityhub.batch_import_findings(Findings=everything[start : start + 100])
    seen = _spy(clients)
    # WHEN the report covers 30 days
    data = _json_report(clients)
    # THEN every open finding, the 120 recent resolutions, not the old ones; several pages each
    assert {f["id"] for f in data["findings"]} == {f["Id"] for f in open_}
    assert {f["id"] for f in data["resolved"]} == {f["Id"] for f in recent}
    assert len(seen) >= 2 * 4  # moto returns every finding (355) to each query: 4 pages of 100
    assert any("NextToken" in params for params in seen)


def test_the_cli_writes_the_report_as_csv_and_html(clients, securityhub, capsys):
    securityhub.batch_import_findings(Findings=[finding_to_asff(_finding(n), NOW) for n in range(3)])
    assert main(["report", "--from-securityhub", "--region", REGION, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["id"] for r in rows} == {_finding(n).id for n in range(3)}
    assert main(["report", "--from-securityhub", "--region", REGION, "--format", "html", "--since", "7"]) == 0
    page = capsys.readouterr().out
    assert page.count("data-finding-id=") == 3 and "findings from Security Hub" in page
    assert "not known" in page  # Security Hub does not hold the running fleet: said, not zero
    assert "does not keep the runs' errors" in page and "No errors" not in page


def test_a_bad_since_is_refused_before_any_call(clients, capsys):
    seen = _spy(clients)
    with pytest.raises(ReportUsageError, match="--since 0"):
        securityhub_report(clients, REGION, 0, "html", io.StringIO(), NOW)
    assert seen == []
    assert main(["report", "--from-securityhub", "--region", REGION, "--since", "91"]) == 2
    assert "--since 91" in capsys.readouterr().err
    assert main(["report", "--region", REGION]) == 2
    assert "--from-securityhub" in capsys.readouterr().err
