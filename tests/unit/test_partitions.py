"""A region's partition, in ARNs, ASFF and console links: GovCloud and China work as AWS does."""

from __future__ import annotations

import botocore.session
import pytest

from chalicelib.model import CheckName, Finding, Resolution, Severity
from chalicelib.notify.facts import ec2_console_url, securityhub_finding_url
from chalicelib.notify.messages import finding_links
from chalicelib.rules.asff import finding_to_asff, resolution_to_asff
from chalicelib.rules.partitions import console_host, instance_arn, partition_of
from tests.builders import ACCOUNT, NOW, prior_finding


def _regions_botocore_knows() -> list[tuple[str, str]]:
    session = botocore.session.get_session()
    found = set()
    for partition in session.get_available_partitions():
        for service in ("ec2", "securityhub", "ssm", "sts", "cloudwatch", "sqs"):
            found.update((r, partition) for r in session.get_available_regions(service, partition_name=partition))
    return sorted(found)


def test_the_prefix_table_agrees_with_botocore_for_every_region_it_knows():
    regions = _regions_botocore_knows()
    assert {p for _, p in regions} >= {"aws", "aws-cn", "aws-us-gov"}
    assert [(r, partition_of(r)) for r, _ in regions] == regions


@pytest.mark.parametrize(
    ("region", "partition", "host"),
    [
        ("eu-west-1", "aws", "console.aws.amazon.com"),
        ("us-gov-west-1", "aws-us-gov", "console.amazonaws-us-gov.com"),
        ("cn-north-1", "aws-cn", "console.amazonaws.cn"),
        ("us-iso-east-1", "aws-iso", None),
        ("us-isob-east-1", "aws-iso-b", None),
    ],
)
def test_arns_and_console_links_follow_the_partition(region, partition, host):
    assert instance_arn(region, ACCOUNT, "i-0abc") == f"arn:{partition}:ec2:{region}:{ACCOUNT}:instance/i-0abc"
    assert console_host(region) == host
    url = ec2_console_url(region, "i-0abc")
    assert url == (
        None if host is None else f"https://{region}.{host}/ec2/home?region={region}#InstanceDetails:instanceId=i-0abc"
    )
    assert (securityhub_finding_url(region, "x") is None) is (host is None)


def _finding(region: str) -> Finding:
    return Finding(CheckName.PUBLIC_EXPOSURE, "i-0abc", ACCOUNT, region, Severity.HIGH, "T", "D", "R", {})


def test_a_govcloud_finding_names_its_partition_everywhere_security_hub_checks():
    asff = finding_to_asff(_finding("us-gov-west-1"), NOW)
    assert asff["ProductArn"] == f"arn:aws-us-gov:securityhub:us-gov-west-1:{ACCOUNT}:product/{ACCOUNT}/default"
    assert asff["Resources"][0]["Partition"] == "aws-us-gov"
    assert asff["Resources"][0]["Id"] == f"arn:aws-us-gov:ec2:us-gov-west-1:{ACCOUNT}:instance/i-0abc"
    prior = prior_finding("ec2-warden/x", "i-0abc")
    resolved = resolution_to_asff(
        Resolution("ec2-warden/x", "public-exposure", "i-0abc", "fixed", prior), ACCOUNT, "cn-north-1", NOW
    )
    assert resolved["ProductArn"].startswith("arn:aws-cn:securityhub:cn-north-1:")
    assert resolved["Resources"][0]["Partition"] == "aws-cn"


def test_a_slack_message_without_a_public_console_names_the_finding_instead_of_a_broken_link():
    assert finding_links(_finding("us-iso-east-1")).startswith("Security Hub finding ec2-warden/")
    assert "console.aws.amazon.com" in finding_links(_finding("eu-west-1"))
