"""The AWS partition of a region, for ARNs and console links. Pure.

Security Hub refuses a finding whose ProductArn names another partition, so a hard-coded
`arn:aws:` would fail every import in GovCloud or China. A region's partition is fixed by its
name prefix (AWS's region naming); tests/unit/test_partitions.py holds this table equal to
botocore's own partition data for every region botocore knows."""

from __future__ import annotations

# Longest prefix first: "us-isob-" before "us-iso-", "us-gov-" before anything "us-".
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-iso-", "aws-iso"),
    ("us-gov-", "aws-us-gov"),
    ("cn-", "aws-cn"),
    ("eusc-", "aws-eusc"),
)

# Console host per partition; the ISO partitions have no public console.
_CONSOLE: dict[str, str] = {
    "aws": "console.aws.amazon.com",
    "aws-us-gov": "console.amazonaws-us-gov.com",
    "aws-cn": "console.amazonaws.cn",
}


def partition_of(region: str) -> str:
    for prefix, partition in _PREFIXES:
        if region.startswith(prefix):
            return partition
    return "aws"


def instance_arn(region: str, account: str, instance_id: str) -> str:
    return f"arn:{partition_of(region)}:ec2:{region}:{account}:instance/{instance_id}"


def console_host(region: str) -> str | None:
    """The AWS console's host for links into this region (`<region>.<host>`); None where there is
    no public console."""
    return _CONSOLE.get(partition_of(region))
