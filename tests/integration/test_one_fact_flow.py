"""One fact, one finding, over the JSON report of a moto sweep, and the upgrade from the releases that
reported a production instance's baseline twice (environment-drift and launch-hygiene)."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.clients import AwsClients
from chalicelib.events.scope import sweep_scope
from chalicelib.model import Mode
from chalicelib.pipeline import run
from chalicelib.plan.supersede import REPORTED_BY_LAUNCH_HYGIENE
from chalicelib.report.json_stream import write_report_json
from chalicelib.rules.asff import finding_to_asff
from chalicelib.settings import load_settings
from devtools.baseline_fleet import BaselineFleet, legacy_double_findings, seed_baseline_fleet

REGION = "us-east-1"
ACCOUNT = "123456789012"


# Judged a little after launch: moto stamps LaunchTime "now" and SSM is judged once it has run a while.
# Taken when a test runs, not at import: in a long suite the module is imported many minutes earlier.
def judged_at() -> datetime:
    return datetime.now(UTC) + timedelta(minutes=5)


# The facts each instance of the fleet has, by the name the owning check gives them.
EVERY_GAP = {"imdsv1-allowed", "unencrypted-volume", "ssm-unmanaged"}
TEXT_MARKERS = ("IMDS", "unencrypted", "SSM", "without the warden:public-ok tag", "0.0.0.0/0")


def facts_of(finding: dict[str, Any]) -> set[str]:
    """launch-hygiene and environment-drift list their facts as gaps; the others are one fact each."""
    if finding["check"] in ("launch-hygiene", "environment-drift"):
        return {g["rule"] for g in finding["details"]["gaps"]}
    return {finding["check"]}


def sweep_json(fleet: BaselineFleet, mode: Mode = Mode.AUDIT) -> dict[str, Any]:
    settings = load_settings(fleet.settings_env(), mode=mode)
    report = run(sweep_scope(region=REGION), settings, AwsClients(REGION), judged_at())
    out = io.StringIO()
    write_report_json(report, out)
    return json.loads(out.getvalue())


def by_instance(report: dict[str, Any], fleet: BaselineFleet) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {i: [] for i in fleet.instances.values()}
    for f in report["findings"]:
        if f["resource_id"] in out:
            out[f["resource_id"]].append(f)
    return out


def test_each_fact_of_a_production_instance_is_in_exactly_one_finding():
    # GIVEN production instances, each with IMDSv1, an unencrypted volume, no SSM and a public address
    with mock_aws():
        fleet = seed_baseline_fleet(boto3.client("ec2", region_name=REGION), environment="production")
        # WHEN a sweep writes its JSON report
        report = sweep_json(fleet)
    assert report["errors"] == []
    for instance_id, findings in by_instance(report, fleet).items():
        # THEN every fact is in one finding, and only one
        counted = Counter(fact for f in findings for fact in facts_of(f))
        expected = EVERY_GAP | {"public-address"} | ({"public-exposure"} if instance_id == fleet.reachable else set())
        assert counted == dict.fromkeys(expected, 1), instance_id
        # ...the words too: no two findings tell the same fact
        for marker in TEXT_MARKERS:
            telling = [f["check"] for f in findings if marker in f["title"] + json.dumps(f["details"])]
            assert len(telling) <= 1, (instance_id, marker, telling)
        # AND the environment raises severity, it does not repeat: no environment-drift at all
        checks = Counter(f["check"] for f in findings)
        assert checks["environment-drift"] == 0
        assert (checks["launch-hygiene"], checks["ssm-unmanaged"]) == (1, 1)
        (hygiene,) = [f for f in findings if f["check"] == "launch-hygiene"]
        (ssm,) = [f for f in findings if f["check"] == "ssm-unmanaged"]
        gaps = {g["rule"]: g["severity"] for g in hygiene["details"]["gaps"]}
        assert gaps == {"imdsv1-allowed": "HIGH", "unencrypted-volume": "HIGH", "public-address": "HIGH"}
        assert (hygiene["severity"], ssm["severity"]) == ("HIGH", "HIGH")
        assert "production baseline" in hygiene["title"]
        assert hygiene["details"]["baseline"] == "production baseline"
    # Three instances: three findings on the reachable one (public-exposure too), two on the others.
    assert sorted(len(f) for f in by_instance(report, fleet).values()) == [2, 2, 3]


def test_the_same_fleet_in_a_lab_gives_medium_and_low_hygiene_and_no_drift():
    with mock_aws():
        fleet = seed_baseline_fleet(boto3.client("ec2", region_name=REGION), environment="lab")
        report = sweep_json(fleet)
    for findings in by_instance(report, fleet).values():
        checks = {f["check"]: f for f in findings}
        assert "environment-drift" not in checks
        hygiene = checks["launch-hygiene"]
        assert hygiene["severity"] in ("MEDIUM", "LOW")
        assert {g["rule"] for g in hygiene["details"]["gaps"]} == {"imdsv1-allowed", "unencrypted-volume"}
        assert {g["severity"] for g in hygiene["details"]["gaps"]} <= {"MEDIUM", "LOW"}
        assert "production" not in hygiene["title"]
        assert checks["ssm-unmanaged"]["severity"] == "MEDIUM"
        counted = Counter(fact for f in findings for fact in facts_of(f))
        assert set(counted.values()) == {1}


@pytest.fixture
def hub_with_old_double_findings():
    """A Security Hub as the previous release left it: each production instance's baseline reported by
    environment-drift (HIGH) and again by launch-hygiene (MEDIUM), SSM by ssm-unmanaged too."""
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        fleet = seed_baseline_fleet(ec2, environment="production")
        hub = boto3.client("securityhub", region_name=REGION)
        earlier = judged_at() - timedelta(days=2)
        old: list[dict[str, Any]] = []
        for name, instance_id in fleet.instances.items():
            raw = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
            volume = raw["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
            findings = legacy_double_findings(instance_id, name, ACCOUNT, REGION, volume, raw["PublicIpAddress"])
            old += [finding_to_asff(f, earlier) for f in findings]
        assert hub.batch_import_findings(Findings=old)["FailedCount"] == 0
        yield fleet, hub


def latest(hub: Any) -> dict[str, dict[str, Any]]:
    """Every finding in the hub by id (moto's GetFindings ignores filters: all of them come back)."""
    found: dict[str, dict[str, Any]] = {}
    for page in hub.get_paginator("get_findings").paginate():
        for raw in page["Findings"]:
            found[raw["Id"]] = raw
    return found


def test_one_notify_run_leaves_one_open_finding_per_fact_and_resolves_the_superseded(hub_with_old_double_findings):
    # GIVEN the old double findings in Security Hub
    fleet, hub = hub_with_old_double_findings
    before = latest(hub)
    assert Counter(r["ProductFields"]["ec2-warden/Check"] for r in before.values())["environment-drift"] == 3
    # WHEN the upgraded ec2-warden runs one notify sweep
    report = sweep_json(fleet, Mode.NOTIFY)
    assert report["errors"] == []
    after = latest(hub)
    for instance_id in fleet.instances.values():
        mine = [r for r in after.values() if r["ProductFields"]["ec2-warden/ResourceId"] == instance_id]
        open_ = [r for r in mine if r["RecordState"] == "ACTIVE" and r["Compliance"]["Status"] == "FAILED"]
        # THEN one open finding per fact...
        checks = Counter(r["ProductFields"]["ec2-warden/Check"] for r in open_)
        expected = {"launch-hygiene": 1, "ssm-unmanaged": 1}
        if instance_id == fleet.reachable:
            expected["public-exposure"] = 1
        assert checks == expected
        hygiene = next(r for r in open_ if r["ProductFields"]["ec2-warden/Check"] == "launch-hygiene")
        assert hygiene["Severity"]["Label"] == "HIGH" and "production baseline" in hygiene["Title"]
        # ...and the superseded environment-drift finding resolved, saying why
        (drift,) = [r for r in mine if r["ProductFields"]["ec2-warden/Check"] == "environment-drift"]
        assert (drift["RecordState"], drift["Compliance"]["Status"]) == ("ARCHIVED", "PASSED")
        assert drift["ProductFields"]["ec2-warden/ResolvedBecause"] == REPORTED_BY_LAUNCH_HYGIENE
        assert drift["Workflow"]["Status"] == "RESOLVED"
        assert drift["Note"]["Text"] == f"Resolved by ec2-warden: {REPORTED_BY_LAUNCH_HYGIENE}."
        assert drift["Severity"]["Label"] == "INFORMATIONAL"
    drift_ids = sorted(r["Id"] for r in after.values() if r["ProductFields"]["ec2-warden/Check"] == "environment-drift")
    assert sorted(report["resolved"]) == drift_ids
    # AND a second run changes nothing: the resolved findings stay resolved, no new drift appears
    again = sweep_json(fleet, Mode.NOTIFY)
    assert again["resolved"] == []
    assert not [f for f in again["findings"] if f["check"] == "environment-drift"]
