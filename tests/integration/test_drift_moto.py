"""launch-hygiene and environment-drift against moto: the seeded fleet, AWS call counts, events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from chalicelib.adapters.clients import AwsClients
from chalicelib.events.scope import sweep_scope
from chalicelib.model import CheckName
from chalicelib.pipeline import run, run_event
from chalicelib.settings import load_settings
from devtools.drift_fleet import DRIFT, HYGIENE, SSM, seed_drift_fleet

REGION = "eu-west-1"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MOTO_AMI = "ami-12c6146b"  # one of moto's built-in images, created "now"
CHECKS = {HYGIENE, DRIFT, SSM}


@pytest.fixture(scope="module")
def _fake_credentials():
    with pytest.MonkeyPatch.context() as patch:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            patch.setenv(key, "testing")
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        yield


@pytest.fixture(autouse=True)
def _ssm_fleet(ssm_manages_every_instance, request):
    """SSM manages every instance (tests/conftest.py resets it after each test), but the fleet's
    SSM story, whose agent lost its connection."""
    if "seeded" in request.fixturenames:
        _, fleet = request.getfixturevalue("seeded")
        for instance_id in fleet.ssm_lost:
            ssm_manages_every_instance.register(instance_id, region=REGION, ping_status="ConnectionLost")


@pytest.fixture(scope="module")
def seeded(_fake_credentials):
    """One drift fleet for the tests that only read it (seeding costs seconds). A test that changes
    AWS launches its own instance and judges only that one."""
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        yield ec2, seed_drift_fleet(ec2, boto3.client("iam", region_name=REGION), fresh_ami=MOTO_AMI)


def sweep(settings_env: dict[str, str]):
    settings = load_settings(settings_env)
    return run(sweep_scope(region=REGION), settings, AwsClients(REGION), datetime.now(UTC))


def found(report) -> dict[tuple[str, str], str]:
    return {(f.check.value, f.resource_id): f.severity.value for f in report.findings if f.check.value in CHECKS}


def test_seeded_fleet_precision_and_recall_are_one(seeded):
    # GIVEN the drift fleet: every rule (but AMI age, which needs MOTO_AMIS_PATH: see tests/e2e) with a twin
    _, fleet = seeded
    # WHEN a sweep judges it with the fleet's environment map
    report = sweep(fleet.settings_env())
    # THEN every expected finding, at its severity, and nothing else
    ours = set(fleet.instances.values())
    got, truth = {k: v for k, v in found(report).items() if k[1] in ours}, fleet.truth()
    true_positives = set(got) & set(truth)
    assert len(true_positives) / len(got) == 1.0  # precision
    assert len(true_positives) / len(truth) == 1.0  # recall
    assert got == truth
    assert report.errors == []
    # Every rule has a twin that passes: the clean stories produce no finding of either check.
    clean = {i for story, i in fleet.instances.items() if not any(s == story for _, s in fleet.expected)}
    assert clean and not {i for _, i in got} & clean


def test_the_lab_vm_in_production_says_so(seeded):
    _, fleet = seeded
    report = sweep(fleet.settings_env())
    lab_in_prod = fleet.instances["drift-lab-in-prod-vpc"]
    (finding,) = [f for f in report.findings if f.resource_id == lab_in_prod and f.check is CheckName.ENVIRONMENT_DRIFT]
    assert finding.title == f"High: lab VM in production on {lab_in_prod} (drift-lab-in-prod-vpc)"
    assert fleet.prod_vpc in finding.description


def _event(name: str, instance_id: str) -> dict:
    event = json.loads((FIXTURES / name).read_text())
    text = json.dumps(event).replace("i-0a1b2c3d4e5f60718", instance_id)
    # The fleet lives in moto's account: the event must name it (the resource's account decides).
    return json.loads(text.replace("111122223333", "123456789012"))


def test_a_test_box_retagged_to_production_is_judged_at_once(seeded):
    # GIVEN a test box without IMDSv2 in the lab VPC...
    ec2, fleet = seeded
    box = ec2.run_instances(
        ImageId=MOTO_AMI, MinCount=1, MaxCount=1, SubnetId=fleet.lab_subnet,
        SecurityGroupIds=[fleet.groups["lab-no-ingress"]], MetadataOptions={"HttpTokens": "optional"},
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8, "Encrypted": True}}],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Environment", "Value": "test"}]}],
    )["Instances"][0]["InstanceId"]  # fmt: skip
    settings = load_settings(fleet.settings_env())
    # ...that someone re-tags Environment=production ("rolled into production")
    ec2.create_tags(Resources=[box], Tags=[{"Key": "Environment", "Value": "production"}])
    # WHEN the CreateTags event arrives
    report = run_event(_event("cloudtrail-create-tags-environment-production.json", box), settings,
                       AwsClients(REGION), datetime.now(UTC))  # fmt: skip
    # THEN that instance alone is judged: outside production (drift) and below the production baseline (hygiene)
    assert report.trigger == "CreateTags"
    assert report.instance_ids == (box,)
    by_check = {f.check: f for f in report.findings}
    drift, hygiene = by_check[CheckName.ENVIRONMENT_DRIFT], by_check[CheckName.LAUNCH_HYGIENE]
    assert (drift.severity.value, hygiene.severity.value) == ("MEDIUM", "HIGH")
    assert [g["rule"] for g in drift.details["gaps"]] == ["production-in-non-production"]
    assert [g["rule"] for g in hygiene.details["gaps"]] == ["imdsv1-allowed", "required-tags-missing"]
    assert "production baseline" in hygiene.title
    assert report.api_calls["ec2:DescribeInstances"] == 1


@pytest.mark.parametrize(
    "fixture",
    [
        "cloudtrail-modify-instance-metadata-options-optional.json",
        "cloudtrail-attach-volume.json",
        "cloudtrail-modify-instance-attribute-instance-type.json",
        "cloudtrail-delete-tags-environment.json",
    ],
)
def test_instance_changes_recheck_the_instance(seeded, fixture):
    _, fleet = seeded
    box = fleet.instances["drift-prod-imdsv1"]
    report = run_event(_event(fixture, box), load_settings(fleet.settings_env()), AwsClients(REGION),
                       datetime.now(UTC))  # fmt: skip
    assert report.ignored is None
    assert report.instance_ids == (box,)
    assert {f.check.value for f in report.findings} == {HYGIENE}  # its IMDSv1 is one fact, one finding


def test_an_event_reads_who_else_is_behind_a_trusted_group(seeded):
    # GIVEN a production database that admits the lab-app group, which a lab box uses
    _, fleet = seeded
    db = fleet.instances["drift-ingress-lab-group"]
    # WHEN only the database is in scope (an event about it)
    report = run_event(_event("cloudtrail-modify-instance-attribute-instance-type.json", db),
                       load_settings(fleet.settings_env()), AwsClients(REGION), datetime.now(UTC))  # fmt: skip
    # THEN the lab box is found through the group, and the finding names it
    (finding,) = [f for f in report.findings if f.check is CheckName.ENVIRONMENT_DRIFT]
    assert fleet.instances["lab-app-box"] in finding.description
    assert report.api_calls["ec2:DescribeNetworkInterfaces"] == 1
    assert report.api_calls["ec2:DescribeInstances"] == 2  # the scope, then the neighbours


def test_tags_on_other_resources_are_ignored_without_aws_calls(_fake_credentials):
    event = json.loads((FIXTURES / "cloudtrail-create-tags-snapshot-and-volume.json").read_text())
    report = run_event(event, load_settings({}), AwsClients(REGION), datetime.now(UTC))
    assert report.ignored == "the tags changed on no instance"
    assert report.api_calls == {}


def test_a_failed_image_read_is_reported_and_judges_nothing_on_it(seeded):
    # GIVEN the fleet and a DescribeImages that fails (a policy without ec2:DescribeImages)
    _, fleet = seeded
    clients = AwsClients(REGION)

    def deny(**_):
        raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "no"}}, "DescribeImages")

    clients.ec2.meta.events.register("before-call.ec2.DescribeImages", deny)
    # WHEN a sweep runs
    report = run(sweep_scope(region=REGION), load_settings(fleet.settings_env()), clients, datetime.now(UTC))
    # THEN the error is in the report; hygiene findings still come from the other facts, but no instance
    # without one passes launch-hygiene (it is "not evaluated", so no finding of it could be resolved)
    assert any(e.where == "ec2:DescribeImages" for e in report.errors)
    ours = set(fleet.instances.values())
    got = {k: v for k, v in found(report).items() if k[1] in ours}
    expected = {k: v for k, v in fleet.truth().items() if k != (HYGIENE, fleet.instances["hyg-ami-gone"])}
    assert got == expected
    flagged = {i for check, i in found(report) if check == HYGIENE}
    (unjudged,) = [e.message for e in report.errors if e.where == HYGIENE]
    assert unjudged.startswith(f"{len(set(report.instance_ids) - flagged)} instance(s) not evaluated")


def test_with_the_drift_checks_off_no_image_or_volume_is_read(seeded):
    _, fleet = seeded
    report = sweep({**fleet.settings_env(), "WARDEN_CHECKS": "public-exposure"})
    assert not {"ec2:DescribeImages", "ec2:DescribeVolumes", "ec2:DescribeVpcs"} & set(report.api_calls)
    assert {f.check.value for f in report.findings} <= {"public-exposure"}


def test_drift_alone_reads_vpcs_but_not_images_volumes_or_ssm(seeded):
    # Placement and separation only: encryption and SSM are other checks' facts.
    _, fleet = seeded
    report = sweep({**fleet.settings_env(), "WARDEN_CHECKS": "environment-drift"})
    assert not {"ec2:DescribeImages", "ec2:DescribeVolumes", "ssm:DescribeInstanceInformation"} & set(report.api_calls)
    assert report.api_calls["ec2:DescribeVpcs"] == 1


def test_every_call_a_drift_run_makes_is_a_declared_permission(seeded):
    from chalicelib.rules.permissions import READ_PERMISSIONS

    _, fleet = seeded
    settings = load_settings(fleet.settings_env())
    calls = set(sweep(fleet.settings_env()).api_calls)
    db = fleet.instances["drift-ingress-lab-group"]
    event = _event("cloudtrail-modify-instance-attribute-instance-type.json", db)
    calls |= set(run_event(event, settings, AwsClients(REGION), datetime.now(UTC)).api_calls)
    assert calls - set(READ_PERMISSIONS) == set()
