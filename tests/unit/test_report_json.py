"""The CLI's streamed JSON report (chalicelib/report/json_stream.py) is json.dump's text of Report.to_dict(),
byte for byte: the report's keys and layout are a public promise, streaming only saves memory."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from types import MappingProxyType

from chalicelib.cli import _print, main, render_table
from chalicelib.model import (
    ActionKind,
    ActionOutcome,
    CheckName,
    Finding,
    FindingStatus,
    Mode,
    ReadError,
    Report,
    Severity,
)
from chalicelib.report.json_stream import iter_report_json, write_report_json

ACCOUNT, REGION = "123456789012", "eu-west-1"


def finding(check: CheckName, resource_id: str, **details: object) -> Finding:
    return Finding(
        check=check,
        resource_id=resource_id,
        account=ACCOUNT,
        region=REGION,
        severity=Severity.HIGH,
        title=f'High: something on {resource_id} — «quoted» "text"',
        description="d",
        remediation="r",
        details=details,
    )


def old_text(report: Report) -> str:
    """What the CLI printed before streaming: json.dump of the whole dict."""
    out = io.StringIO()
    json.dump(report.to_dict(), out, indent=2, sort_keys=False)
    out.write("\n")
    return out.getvalue()


def streamed(report: Report) -> str:
    out = io.StringIO()
    write_report_json(report, out)
    return out.getvalue()


def full_report() -> Report:
    shared_gap = MappingProxyType({"rule": "imdsv1-allowed", "severity": "MEDIUM", "instance_profile": None})
    findings = [
        finding(
            CheckName.LAUNCH_HYGIENE,
            "i-1",
            gaps=[shared_gap, {"rule": "unencrypted-volume", "volumes": ["vol-1", "vol-2"]}],
            not_checked=[],
        ),
        finding(CheckName.LAUNCH_HYGIENE, "i-2", gaps=[shared_gap], not_checked=("AMI age not checked",)),
        finding(
            CheckName.IDLE,
            "i-3",
            max_cpu_percent=1.25,
            days=14,
            seen_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
            severity=Severity.LOW,
            nested={"empty": {}, "list": [], "set": frozenset({"x"})},
        ),
    ]
    report = Report(mode=Mode.AUDIT, trigger="sweep", account=ACCOUNT, region=REGION, instance_ids=("i-1", "i-2"))
    report.census = {"instances": 2, "running": 2}
    report.findings = findings
    report.statuses = {findings[0].id: FindingStatus.NEW}  # the others print "unknown"
    report.resolved = ["ec2-warden/x/y/idle/i-9"]
    report.actions = [
        ActionOutcome(ActionKind.IMPORT_FINDINGS, ("a", "b"), done=False, reason="audit mode: not applied"),
        ActionOutcome(ActionKind.STOP_IDLE, (), done=True, failed_ids=("i-4",), error="boom"),
    ]
    report.errors = [ReadError("ssm:DescribeInstanceInformation", "AccessDenied: no")]
    report.api_calls = {"ec2:DescribeInstances": 10, "cloudwatch:GetMetricData": 54}
    report.sprawl = {
        "instances": 2,
        "running": 2,
        "idle": 1,
        "idle_protected": 0,
        "marked": 0,
        "stopped_by_warden": 0,
        "stopped_long": 0,
        "stopped_max_days": 30,
        "by_environment": {"prod": {"idle": 1, "running": 2}},
    }
    return report


def test_a_full_report_streams_to_the_same_text_as_json_dump():
    # GIVEN a report with every key filled: shared read-only gap mappings, tuples, datetimes, enums, unicode
    report = full_report()
    # WHEN it is written as a stream
    text = streamed(report)
    # THEN the text is json.dump's, byte for byte, and parses back to to_dict()
    assert text == old_text(report)
    assert json.loads(text) == report.to_dict()


def test_an_empty_report_streams_to_the_same_text_as_json_dump():
    # GIVEN a report of an ignored event: no findings, actions, errors, calls or sprawl
    report = Report(mode=Mode.NOTIFY, trigger="cloudtrail:RunInstances", account=None, region=None, ignored="why")
    # THEN empty lists and dicts print as json.dump prints them
    assert streamed(report) == old_text(report)
    assert '"findings": []' in streamed(report)


def test_the_stream_builds_one_finding_dict_at_a_time():
    # GIVEN a report with three findings
    report = full_report()
    # WHEN the stream is read chunk by chunk
    chunks = list(iter_report_json(report))
    # THEN each finding is its own chunk (none waits for the whole list), in report order
    finding_chunks = [c for c in chunks if '"resource_id"' in c]
    assert [json.loads(c.lstrip("[,\n "))["resource_id"] for c in finding_chunks] == ["i-1", "i-2", "i-3"]


def test_to_dict_without_findings_keeps_every_key():
    report = full_report()
    assert list(report.to_dict(findings=False)) == list(report.to_dict())
    assert report.to_dict(findings=False)["findings"] == []


def test_the_cli_prints_the_streamed_report_for_an_ignored_event(tmp_path):
    # GIVEN an event ec2-warden ignores (a replay needs no AWS for it)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"source": "aws.s3", "detail-type": "Object Created", "detail": {}}))
    out, err = io.StringIO(), io.StringIO()
    # WHEN the CLI replays it as JSON
    code = main(["replay", str(event), "--format", "json", "--region", REGION], stdout=out, stderr=err)
    # THEN the output is one JSON document ending in a newline, as before
    assert code == 0, err.getvalue()
    assert out.getvalue().endswith("}\n")
    assert json.loads(out.getvalue())["trigger"]


def test_the_table_is_streamed_to_the_same_text_as_render_table():
    # GIVEN a full report and an empty one
    for report in (full_report(), Report(mode=Mode.AUDIT, trigger="sweep", account=ACCOUNT, region=REGION)):
        # WHEN the CLI prints them as a table (its default format)
        out = io.StringIO()
        _print(report, "table", out)
        # THEN the text is render_table's of the whole dict, finding lines included
        assert out.getvalue() == render_table(report.to_dict())
    assert "i-3" in render_table(full_report().to_dict())
