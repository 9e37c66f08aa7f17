"""The ASFF mapper and the batching rules of BatchImportFindings."""

from __future__ import annotations

import json

from chalicelib.adapters.securityhub import MAX_BATCH_BYTES, batches
from chalicelib.model import CheckName, Finding, Resolution, Severity
from chalicelib.rules.asff import finding_to_asff, prior_from_asff, resolution_to_asff
from tests.builders import ACCOUNT, NOW, REGION, eni, instance, prior_finding

REQUIRED = {
    "AwsAccountId",
    "CreatedAt",
    "Description",
    "GeneratorId",
    "Id",
    "ProductArn",
    "Resources",
    "SchemaVersion",
    "Severity",
    "Title",
    "Types",
    "UpdatedAt",
}


def finding(description: str = "open") -> Finding:
    return Finding(
        CheckName.PUBLIC_EXPOSURE,
        "i-00000001",
        ACCOUNT,
        REGION,
        Severity.HIGH,
        "Title",
        description,
        "Close it",
        {"paths": []},
    )


def test_a_new_finding_has_every_required_field():
    inst = instance(enis=(eni(public_ip="203.0.113.5"),), tags={"Name": "db", "Owner": "team"})
    asff = finding_to_asff(finding(), NOW, instance=inst)
    assert set(asff) >= REQUIRED
    assert asff["ProductArn"] == f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
    assert asff["GeneratorId"] == "ec2-warden/public-exposure"
    assert asff["Id"] == f"ec2-warden/{ACCOUNT}/{REGION}/public-exposure/i-00000001"
    assert asff["Compliance"] == {"Status": "FAILED"} and asff["RecordState"] == "ACTIVE"
    assert asff["FirstObservedAt"] == asff["CreatedAt"] == asff["UpdatedAt"] == "2026-11-27T12:00:00.000Z"
    resource = asff["Resources"][0]
    assert resource["Type"] == "AwsEc2Instance"
    assert resource["Id"] == f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-00000001"
    assert resource["Details"]["AwsEc2Instance"]["IpV4Addresses"][0] == "203.0.113.5"
    assert resource["Tags"] == {"Name": "db", "Owner": "team"}
    assert asff["Remediation"]["Recommendation"]["Text"] == "Close it"


def test_first_observed_survives_an_update():
    prior = prior_finding("x", "i-00000001")
    asff = finding_to_asff(finding(), NOW, prior=prior)
    assert asff["FirstObservedAt"] == "2026-11-01T00:00:00.000Z"
    assert asff["UpdatedAt"] == "2026-11-27T12:00:00.000Z"


def test_a_resolution_is_passed_and_archived():
    prior = prior_finding("ec2-warden/x", "i-00000001", title="SSH open")
    asff = resolution_to_asff(
        Resolution("ec2-warden/x", "public-exposure", "i-00000001", "fixed", prior), ACCOUNT, REGION, NOW
    )
    assert set(asff) >= REQUIRED
    assert asff["Compliance"] == {"Status": "PASSED"} and asff["RecordState"] == "ARCHIVED"
    assert asff["Title"] == "Resolved: SSH open"
    assert asff["FirstObservedAt"] == prior.first_observed_at


def test_long_texts_are_clipped_to_asff_limits():
    asff = finding_to_asff(finding("x" * 5000), NOW)
    assert len(asff["Description"]) == 1024


def test_what_we_post_reads_back_as_the_same_prior():
    asff = finding_to_asff(finding(), NOW)
    prior = prior_from_asff(asff)
    assert prior is not None
    assert (prior.id, prior.check, prior.resource_id, prior.severity) == (
        asff["Id"],
        "public-exposure",
        "i-00000001",
        Severity.HIGH,
    )
    assert prior_from_asff({**asff, "GeneratorId": "aws-foundational"}) is None


def test_batches_hold_at_most_100_findings():
    items = [{"Id": str(i), "x": "y"} for i in range(250)]
    assert [len(b) for b in batches(items)] == [100, 100, 50]


def test_batches_stay_under_the_request_size():
    big = [{"Id": str(i), "blob": "z" * (1024 * 1024)} for i in range(12)]
    sizes = [sum(len(json.dumps(f)) for f in b) for b in batches(big)]
    assert all(s <= MAX_BATCH_BYTES for s in sizes)
    assert sum(len(b) for b in batches(big)) == 12
