"""Run metrics in EMF: one object per dimension set, built from the report."""

from __future__ import annotations

import io
import json

import pytest

from chalicelib.model import (
    ActionKind,
    ActionOutcome,
    CheckName,
    Finding,
    Mode,
    ReadError,
    Report,
    Severity,
)
from chalicelib.report.metrics import emit_run_metrics, run_metrics


def finding(iid: str, severity: Severity) -> Finding:
    return Finding(CheckName.PUBLIC_EXPOSURE, iid, "123456789012", "eu-west-1", severity, "t", "d", "r")


@pytest.fixture
def report() -> Report:
    r = Report(mode=Mode.NOTIFY, trigger="sweep", account="123456789012", region="eu-west-1")
    r.instance_ids = ("i-1", "i-2", "i-3")
    r.findings = [finding("i-1", Severity.CRITICAL), finding("i-2", Severity.CRITICAL), finding("i-3", Severity.HIGH)]
    r.actions = [
        ActionOutcome(ActionKind.IMPORT_FINDINGS, ("a", "b", "c"), done=True),
        ActionOutcome(ActionKind.NOTIFY_SLACK, ("digest",), done=False, error="Slack answered HTTP 500"),
    ]
    r.errors = [ReadError("action:notify-slack", "Slack answered HTTP 500")]
    r.api_calls = {"ec2:DescribeInstances": 1, "securityhub:GetFindings": 2}
    return r


def by_dimensions(blobs: list[dict]) -> dict[tuple[str, ...], dict]:
    out = {}
    for blob in blobs:
        [directive] = blob["_aws"]["CloudWatchMetrics"]
        [dims] = directive["Dimensions"]
        out[tuple(f"{d}={blob[d]}" for d in dims)] = blob
    return out


def test_run_metrics_cover_scan_findings_actions_errors_and_aws_calls(report: Report) -> None:
    blobs = by_dimensions(run_metrics(report, "ec2-warden-test"))
    main = blobs[("service=ec2-warden",)]
    assert main["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ec2-warden-test"
    assert (main["InstancesScanned"], main["Findings"], main["Errors"], main["AwsCalls"]) == (
        [3.0],
        [3.0],
        [1.0],
        [3.0],
    )
    crit = blobs[("check=public-exposure", "severity=CRITICAL", "service=ec2-warden")]
    assert crit["Findings"] == [2.0]
    assert blobs[("check=public-exposure", "severity=HIGH", "service=ec2-warden")]["Findings"] == [1.0]
    slack = blobs[("kind=notify-slack", "service=ec2-warden")]
    assert (slack["Actions"], slack["ActionErrors"]) == ([0.0], [1.0])
    assert blobs[("kind=import-findings", "service=ec2-warden")]["Actions"] == [1.0]
    assert blobs[("where=action:notify-slack", "service=ec2-warden")]["Errors"] == [1.0]


def test_emit_writes_one_json_line_per_dimension_set(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    out = io.StringIO()
    count = emit_run_metrics(report, "ec2-warden", out)
    lines = out.getvalue().splitlines()
    assert count == len(lines) == 6
    assert all("_aws" in json.loads(line) for line in lines)


def test_metrics_can_be_switched_off(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    out = io.StringIO()
    assert emit_run_metrics(report, "ec2-warden", out) == 0
    assert out.getvalue() == ""
