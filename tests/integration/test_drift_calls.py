"""AWS call counts of the launch-hygiene and environment-drift reads: they grow with distinct image
and volume ids, 200 to a call, never with the number of instances. Each test has a fresh moto."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.clients import AwsClients
from chalicelib.events.scope import sweep_scope
from chalicelib.model import CheckName
from chalicelib.pipeline import run
from chalicelib.settings import load_settings

REGION = "us-east-1"
MOTO_AMI = "ami-12c6146b"


def sweep():
    return run(sweep_scope(region=REGION), load_settings({}), AwsClients(REGION), datetime.now(UTC))


def _fleet_of(ec2, count: int, *, distinct_images: bool) -> None:
    subnet = ec2.create_subnet(
        VpcId=ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"], CidrBlock="10.40.0.0/20"
    )["Subnet"]["SubnetId"]
    for n in range(count):
        image = MOTO_AMI
        if distinct_images:
            image = ec2.register_image(Name=f"img-{n}", RootDeviceName="/dev/xvda")["ImageId"]
        ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet)


@pytest.mark.parametrize(("instances", "distinct_images"), [(1, False), (60, False), (201, True)])
def test_image_and_volume_reads_grow_with_distinct_ids_in_chunks_of_200(ec2, instances, distinct_images):
    # GIVEN instances that share one AMI, or each have their own; one root volume each
    _fleet_of(ec2, instances, distinct_images=distinct_images)
    # WHEN a sweep runs
    report = sweep()
    # THEN DescribeImages is one call per 200 distinct ids, not one per instance, and a sweep lists
    # every volume at 500 a call (fewer calls than 200 ids a filter)
    images = instances if distinct_images else 1
    assert report.api_calls["ec2:DescribeImages"] == math.ceil(images / 200)
    assert report.api_calls["ec2:DescribeVolumes"] == math.ceil(instances / 500)


@pytest.mark.slow
def test_many_volumes_on_one_instance_are_all_read(ec2):
    instance = ec2.run_instances(ImageId=MOTO_AMI, MinCount=1, MaxCount=1)["Instances"][0]
    zone = instance["Placement"]["AvailabilityZone"]
    for n in range(200):  # 201 with the root volume
        volume = ec2.create_volume(Size=1, AvailabilityZone=zone, Encrypted=n != 150)["VolumeId"]
        ec2.attach_volume(VolumeId=volume, InstanceId=instance["InstanceId"], Device=f"/dev/sd{n}")
    report = sweep()
    assert report.api_calls["ec2:DescribeVolumes"] == 1  # a sweep lists them all, 500 a call
    (finding,) = [f for f in report.findings if f.check is CheckName.LAUNCH_HYGIENE]
    (gap,) = [g for g in finding.details["gaps"] if g["rule"] == "unencrypted-volume"]
    assert len(gap["volumes"]) == 2  # the unencrypted root and the 151st
