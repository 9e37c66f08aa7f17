"""`--format html|csv|ocsf` over a swept moto fleet: CSV and OCSF hold the JSON report's findings one
to one (OCSF validated by py-ocsf-models), and the HTML holds every finding, every chart, and shows a
hostile tag value as text."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser

import boto3
import pytest
from py_ocsf_models.events.findings.detection_finding import DetectionFinding

from chalicelib.model import Mode
from chalicelib.report.csv_export import COLUMNS
from chalicelib.report.json_stream import write_report_json
from chalicelib.report.render import write_report
from devtools.fleet import seed_exposure_fleet
from tests.report_support import HOSTILE, NOW, audit_sweep, swept_fleet

CHARTS = ("findings-by-severity", "sprawl-by-environment", "sprawl-by-owner", "stop-deadlines", "patch-compliance")


@pytest.fixture(scope="module")
def report():
    # The report is plain data: the fleet's mock_aws ends here, so the tests that seed their own see
    # only theirs.
    with swept_fleet() as (swept, _):
        return swept


def _render(report, fmt: str) -> str:
    out = io.StringIO()
    write_report(report, fmt, out, NOW)
    return out.getvalue()


def _json_findings(report) -> dict[str, dict]:
    out = io.StringIO()
    write_report_json(report, out)
    return {f["id"]: f for f in json.loads(out.getvalue())["findings"]}


def test_the_seeded_fleet_has_findings_of_every_kind_the_report_shows(report):
    checks = {f.check.value for f in report.findings}
    assert {"public-exposure", "idle", "patch-noncompliant", "launch-hygiene"} <= checks
    assert report.facts["deadlines"] and report.facts["patch"]["missing_critical_or_security"] == 1


def test_csv_parses_back_to_the_json_reports_findings_one_to_one(report):
    # GIVEN the JSON report of a sweep WHEN the same run is written as CSV
    expected = _json_findings(report)
    rows = list(csv.DictReader(io.StringIO(_render(report, "csv"))))
    # THEN the header is the documented columns and each row is one finding of the JSON report
    assert tuple(rows[0].keys()) == COLUMNS
    assert len(rows) == len(expected) == len(report.findings)
    assert {r["id"] for r in rows} == set(expected)
    for row in rows:
        finding = expected[row["id"]]
        for key in ("check", "resource_id", "severity", "title", "status"):
            assert row[key] == finding[key], (key, row["id"])
        assert json.loads(row["details"]) == finding["details"]
        assert row["securityhub_url"].startswith("https://us-east-1.console.aws.amazon.com/securityhub/")
    hostile = [r for r in rows if r["owner"] == HOSTILE]
    assert hostile and all(r["check"] == "idle" or r["owner"] == HOSTILE for r in hostile)


def test_every_ocsf_line_validates_with_py_ocsf_models_and_matches_a_finding(report):
    expected = _json_findings(report)
    lines = _render(report, "ocsf").splitlines()
    assert len(lines) == len(expected)
    seen = set()
    for line in lines:
        event = DetectionFinding.model_validate_json(line)  # raises on any schema violation
        assert event.class_uid == 2004 and event.type_uid == 200401
        finding = expected[event.finding_info.uid]
        assert event.severity_id.name.upper() == finding["severity"]
        assert event.metadata.event_code == finding["check"]
        assert event.resources[0].uid.endswith(f":instance/{finding['resource_id']}")
        assert event.cloud.account.uid == report.account
        seen.add(event.finding_info.uid)
    assert seen == set(expected)


def test_an_invalid_ocsf_event_is_refused_by_the_models():
    # the validation above can fail: a severity_id outside the enumeration is refused
    from pydantic import ValidationError

    good = {
        "metadata": {"product": {"vendor_name": "x"}},
        "activity_id": 1,
        "type_uid": 200401,
        "severity_id": 4,
        "time": 0,
        "finding_info": {"uid": "u", "title": "t"},
    }
    DetectionFinding.model_validate(good)
    with pytest.raises(ValidationError):
        DetectionFinding.model_validate({**good, "severity_id": 42})


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.scripts = 0
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        for name, value in attrs:
            if name in ("src",) or (tag == "link" and name == "href"):
                self.external.append(value or "")

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_holds_every_finding_and_shows_a_script_tag_as_text(report):
    page = _render(report, "html")
    parser = _Text()
    parser.feed(page)
    # THEN no script, no external resource, no URL fetched by the page (links are <a href> only)
    assert parser.scripts == 0 and parser.external == []
    assert not re.search(r"url\(|@import|@font-face", page)
    # every finding id is in the page, and the hostile Owner tag is text, escaped
    ids = set(re.findall(r'data-finding-id="([^"]+)"', page))
    assert ids == {f.id for f in report.findings}
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert HOSTILE in "".join(parser.text)
    for chart in (
        "findings-by-severity",
        "sprawl-by-environment",
        "sprawl-by-owner",
        "stop-deadlines",
        "patch-compliance",
    ):
        assert f'data-chart="{chart}"' in page
    assert "ec2-warden 0.1.0" in page and report.account in page


def test_a_run_that_did_not_read_ssm_says_patch_compliance_was_not_read(report):
    from dataclasses import replace as copy

    unread = copy(report, facts={**report.facts, "patch": None})
    assert "Patch compliance was not read in this run" in _render(unread, "html")
    assert "Patch compliance was not read" not in _render(report, "html")


def test_audit_mode_shows_statuses_unknown_and_notify_mode_new(report, clients, securityhub):
    assert {r["status"] for r in csv.DictReader(io.StringIO(_render(report, "csv")))} == {"unknown"}
    # a notify run of a small fleet: the same renderer shows Security Hub's view (new)
    seed_exposure_fleet(boto3.client("ec2", region_name="us-east-1"))
    notify = audit_sweep(clients, Mode.NOTIFY)
    rows = list(csv.DictReader(io.StringIO(_render(notify, "csv"))))
    assert rows and {r["status"] for r in rows} == {"new"}


def test_errors_and_instances_not_evaluated_are_stated_plainly(report):
    from dataclasses import replace as copy

    from chalicelib.model import ReadError

    failing = copy(
        report,
        errors=[ReadError("ssm:DescribeInstancePatchStates", "AccessDenied: not authorized")],
        facts={**report.facts, "not_evaluated": {"patch-noncompliant": 3}},
    )
    page = _render(failing, "html")
    assert "This run met 1 error: the counts below may be incomplete" in page
    assert "3 instance checks could not be judged" in page
    assert "AccessDenied: not authorized" in page and 'data-table="not-evaluated"' in page
    clean = _render(report, "html")
    assert "No errors: every AWS call this report depends on succeeded." in clean
    assert "Not evaluated: 0." in clean and "Errors: 0." in clean


def test_the_cli_sweep_writes_each_audit_format(ec2, capsys):
    from chalicelib.cli import main

    fleet = seed_exposure_fleet(ec2)
    args = ["sweep", "--region", "us-east-1", "--now", NOW.isoformat()]
    assert main([*args, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    exposed = {r["resource_id"] for r in rows if r["check"] == "public-exposure"}
    assert exposed == fleet.exposed_ids()
    assert main([*args, "--format", "html"]) == 0
    assert capsys.readouterr().out.count("<article") == len(rows)
    assert main([*args, "--format", "ocsf"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(rows)


def test_without_jinja2_html_stops_with_a_message_naming_the_extra(ec2, capsys, monkeypatch):
    import sys

    from chalicelib.cli import main

    seed_exposure_fleet(ec2)
    monkeypatch.setitem(sys.modules, "jinja2", None)  # what `import jinja2` meets when it is not installed
    assert main(["sweep", "--region", "us-east-1", "--format", "html"]) == 2
    captured = capsys.readouterr()
    assert "ec2-warden[report]" in captured.err and captured.out == ""


def test_the_cli_replay_writes_the_event_runs_report_as_html(ec2, capsys, tmp_path):
    from chalicelib.cli import main
    from devtools import events
    from devtools.fleet import tcp

    fleet = seed_exposure_fleet(ec2)
    (closed,) = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["closed"]}])["SecurityGroups"]
    ec2.authorize_security_group_ingress(GroupId=closed["GroupId"], IpPermissions=[tcp(22, v4="0.0.0.0/0")])
    event = tmp_path / "event.json"
    event.write_text(json.dumps(events.authorize_ingress(closed["GroupId"], 22)))
    assert main(["replay", str(event), "--format", "html", "--now", NOW.isoformat()]) == 0
    page = capsys.readouterr().out
    assert "<dt>Source</dt><dd>replay (AuthorizeSecurityGroupIngress)</dd>" in page
    exposed = set(re.findall(r'data-finding-id="[^"]+/public-exposure/([^"]+)"', page))
    assert fleet.instances["public-but-closed"] in exposed
