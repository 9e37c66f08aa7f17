"""The EC2 API-call handler with real and fixture events: a lab VM launched into production, and a
production box whose IMDSv1 is turned back on, are judged the moment the call is recorded."""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.settings import SettingsError
from tests.conftest import LOCAL_EVENTS as OURS
from tests.conftest import SHARED_EVENTS as SHARED

HOME = "123456789012"  # moto's account: the function's own credentials


@pytest.fixture
def invoke(lambda_client, ssm_manages_every_instance):
    """The dev stage's handlers, with the stage's timeout (tests/handlers/conftest.py), on a fleet
    SSM manages (ssm-unmanaged is told in tests/integration)."""
    return lambda event: lambda_client.lambda_.invoke("on_ec2_api_call", event).payload


def _network(region: str):
    ec2 = boto3.client("ec2", region_name=region)
    prod_vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=prod_vpc, CidrBlock="10.10.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="app", Description="app", VpcId=prod_vpc)["GroupId"]
    return ec2, prod_vpc, subnet, group


def _launch(ec2, subnet: str, group: str, env: str, tokens: str = "required") -> str:
    return ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[group],
        MetadataOptions={"HttpTokens": tokens},
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8, "Encrypted": True}}],
        TagSpecifications=[{"ResourceType": "instance",
                            "Tags": [{"Key": "Environment", "Value": env}, {"Key": "Owner", "Value": "team"}]}],
    )["Instances"][0]["InstanceId"]  # fmt: skip


def test_a_lab_vm_launched_into_the_production_vpc_is_flagged_on_run_instances(invoke, monkeypatch):
    # GIVEN a production VPC, and a RunInstances that started a lab VM and a production VM in it
    ec2, prod_vpc, subnet, group = _network("us-west-1")
    lab = _launch(ec2, subnet, group, "lab")
    prod = _launch(ec2, subnet, group, "production")
    monkeypatch.setenv("PRODUCTION_VPCS", prod_vpc)
    # The published sample's region; its account made the function's own (moto's): an event of
    # another account listed in ALLOWED_ACCOUNTS is judged in that account (tests/integration/test_member_events.py).
    monkeypatch.setenv("ALLOWED_ACCOUNTS", HOME)
    monkeypatch.setenv("SWEEP_REGIONS", "us-west-1")
    text = (SHARED / "cloudtrail-run-instances-wrapped.json").read_text().replace("619193117841", HOME)
    event = json.loads(text.replace("i-784cdacd", lab).replace("i-7b4cdace", prod))
    # WHEN the CloudTrail event reaches the handler
    report = invoke(event)
    # THEN both new instances are judged at once, and only the lab VM is drift
    assert report["trigger"] == "RunInstances"
    assert sorted(report["scope"]["instances"]) == sorted([lab, prod])
    drift = [f for f in report["findings"] if f["check"] == "environment-drift"]
    assert [(f["resource_id"], f["severity"]) for f in drift] == [(lab, "HIGH")]
    assert drift[0]["title"].startswith("High: lab VM in production")
    assert not [f for f in report["findings"] if f["check"] == "launch-hygiene"]
    assert report["api_calls"]["ec2:DescribeImages"] == 1
    assert report["api_calls"]["ec2:DescribeVolumes"] == 1


def test_imdsv1_turned_back_on_for_a_production_box_is_flagged(invoke, monkeypatch):
    # GIVEN a production box whose IMDSv1 was just allowed again, in the fixtures' account (the
    # resource's account decides: an event for another account than the credentials' is refused)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111122223333")
    ec2, prod_vpc, subnet, group = _network("eu-west-1")
    box = _launch(ec2, subnet, group, "production", tokens="optional")
    monkeypatch.setenv("PRODUCTION_VPCS", prod_vpc)
    monkeypatch.setenv("ALLOWED_ACCOUNTS", "111122223333")  # the fixture's account, the function's own here
    monkeypatch.setenv("SWEEP_REGIONS", "eu-west-1")
    text = (OURS / "cloudtrail-modify-instance-metadata-options-optional.json").read_text()
    # WHEN the ModifyInstanceMetadataOptions event arrives
    report = invoke(json.loads(text.replace("i-0a1b2c3d4e5f60718", box)))
    # THEN one finding says it: launch-hygiene, at the production baseline's HIGH (it sits where it should,
    # so environment-drift has nothing to say)
    by_check = {f["check"]: f for f in report["findings"]}
    assert set(by_check) == {"launch-hygiene"}
    assert by_check["launch-hygiene"]["severity"] == "HIGH"
    assert by_check["launch-hygiene"]["title"].startswith("High: below the production baseline")
    assert [g["rule"] for g in by_check["launch-hygiene"]["details"]["gaps"]] == ["imdsv1-allowed"]


def test_a_bad_environment_map_fails_the_invocation_naming_the_variable(invoke, monkeypatch):
    monkeypatch.setenv("PRODUCTION_VPCS", "subnet-0123456789abcdef0")
    event = json.loads((OURS / "cloudtrail-attach-volume.json").read_text())
    with pytest.raises(SettingsError, match="PRODUCTION_VPCS"):
        invoke(event)


def test_the_eventbridge_rule_listens_for_the_new_calls():
    import app
    from chalicelib.events.scope import EC2_CALLS

    for call in (
        "CreateTags",
        "DeleteTags",
        "ModifyInstanceMetadataOptions",
        "ModifyInstanceAttribute",
        "AttachVolume",
    ):
        assert call in EC2_CALLS
    pattern = _pattern_of(app, "on_ec2_api_call")
    assert set(pattern["detail"]["eventName"]) == set(EC2_CALLS)


def _pattern_of(app_module, name: str) -> dict:
    handler = app_module.app.event_sources
    (source,) = [s for s in handler if s.name == name]
    return source.event_pattern
