"""A sweep of a seeded fleet with every check: the CLI's streamed JSON report is the text json.dump
made of Report.to_dict(), and the memory savings behind it (issue 8) change no finding."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.clients import AwsClients
from chalicelib.events.scope import sweep_scope
from chalicelib.model import CheckName
from chalicelib.pipeline import run
from chalicelib.report.json_stream import write_report_json
from chalicelib.settings import load_settings
from devtools.drift_fleet import seed_drift_fleet
from devtools.fleet import seed_exposure_fleet

REGION = "eu-west-1"
MOTO_AMI = "ami-12c6146b"


@pytest.fixture
def report(ssm_manages_every_instance):
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        fleet = seed_drift_fleet(ec2, boto3.client("iam", region_name=REGION), fresh_ami=MOTO_AMI)
        seed_exposure_fleet(ec2)
        settings = load_settings({**fleet.settings_env(), "WARDEN_CHECKS": "all"})
        yield run(sweep_scope(region=REGION), settings, AwsClients(REGION), datetime.now(UTC))


def test_the_streamed_report_of_a_fleet_is_json_dump_of_to_dict(report):
    # GIVEN a sweep with findings of several checks (exposure, launch hygiene, drift ...)
    checks = {f.check for f in report.findings}
    assert {CheckName.PUBLIC_EXPOSURE, CheckName.LAUNCH_HYGIENE, CheckName.ENVIRONMENT_DRIFT} <= checks
    # WHEN the CLI writes it
    streamed = io.StringIO()
    write_report_json(report, streamed)
    # THEN the text is what json.dump wrote before, byte for byte
    whole = io.StringIO()
    json.dump(report.to_dict(), whole, indent=2, sort_keys=False)
    whole.write("\n")
    assert streamed.getvalue() == whole.getvalue()


def test_findings_with_the_same_gap_share_one_read_only_mapping(report):
    # GIVEN moto's instances all allow IMDSv1 without an instance profile
    imds = [
        g
        for f in report.findings
        if f.check is CheckName.LAUNCH_HYGIENE
        for g in f.details["gaps"]
        if g["rule"] == "imdsv1-allowed" and g["instance_profile"] is None and g["severity"] == "MEDIUM"
    ]
    # THEN their gap is one object, equal to the dict it stands for, and nobody can change it for all
    # (outside production: a production instance's gap is raised to HIGH, a shared object of its own)
    assert len(imds) > 1 and all(g is imds[0] for g in imds)
    raised = [
        g
        for f in report.findings
        if f.check is CheckName.LAUNCH_HYGIENE
        for g in f.details["gaps"]
        if g["rule"] == "imdsv1-allowed" and g["instance_profile"] is None and g["severity"] == "HIGH"
    ]
    assert all(g is raised[0] for g in raised)
    assert imds[0] == {
        "rule": "imdsv1-allowed",
        "severity": "MEDIUM",
        "text": "IMDSv1 is allowed (HttpTokens optional)",
        "http_tokens": "optional",
        "instance_profile": None,
    }
    with pytest.raises(TypeError):
        imds[0]["rule"] = "changed"  # type: ignore[index]
