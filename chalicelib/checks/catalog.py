"""What each check finds, its severity range and the AWS reads it needs: for `ec2-warden --list-checks`.

Pure data next to the registry (CHECKS). A unit test holds the two equal (every registered check has
an entry here) and every read to a permission of chalicelib/rules/permissions.py READ_PERMISSIONS, so a
check cannot be listed with a read its deployment is not granted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from chalicelib.model import CheckName, Severity

# Every check judges the instances of its scope: the sweep lists them (and the account, when an
# event does not say it); an event finds those behind a group or an interface.
BASE_READS: tuple[str, ...] = ("ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces", "sts:GetCallerIdentity")


@dataclass(frozen=True)
class CheckInfo:
    name: CheckName
    finds: str
    lowest: Severity
    highest: Severity
    reads: tuple[str, ...]  # AWS operations as IAM actions, beyond BASE_READS

    @property
    def permissions(self) -> tuple[str, ...]:
        return tuple(sorted({*BASE_READS, *self.reads}))


CATALOG: Mapping[CheckName, CheckInfo] = MappingProxyType(
    {
        info.name: info
        for info in (
            CheckInfo(
                CheckName.PUBLIC_EXPOSURE,
                "a running instance with a public address whose security group admits the internet",
                Severity.LOW,
                Severity.CRITICAL,
                ("ec2:DescribeSecurityGroups", "ec2:GetManagedPrefixListEntries"),
            ),
            CheckInfo(
                CheckName.SSM_UNMANAGED,
                "a running instance past its grace period that SSM does not manage (or not Online)",
                Severity.MEDIUM,
                Severity.HIGH,
                ("ssm:DescribeInstanceInformation",),
            ),
            CheckInfo(
                CheckName.PATCH_NONCOMPLIANT,
                "a managed instance with missing or failed patches, a pending reboot, or a stale scan",
                Severity.LOW,
                Severity.CRITICAL,
                (
                    "ssm:DescribeInstanceInformation",
                    "ssm:DescribeInstancePatchStates",
                    "ssm:ListCommandInvocations",
                ),
            ),
            CheckInfo(
                CheckName.IDLE,
                "a running instance idle (CPU and network) on enough days of the lookback window",
                Severity.LOW,
                Severity.LOW,
                ("cloudwatch:GetMetricData",),
            ),
            CheckInfo(
                CheckName.STOPPED_LONG,
                "an instance stopped longer than STOPPED_MAX_DAYS",
                Severity.LOW,
                Severity.LOW,
                (),
            ),
            CheckInfo(
                CheckName.LAUNCH_HYGIENE,
                "missing required tags, IMDSv1 allowed, an unencrypted volume, an old or vanished AMI",
                Severity.LOW,
                Severity.HIGH,
                ("ec2:DescribeImages", "ec2:DescribeVolumes"),
            ),
            CheckInfo(
                CheckName.ENVIRONMENT_DRIFT,
                "a lab VM in production networks, a production instance below the baseline or open to labs",
                Severity.MEDIUM,
                Severity.HIGH,
                (
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeVolumes",
                    "ec2:DescribeVpcs",
                    "ssm:DescribeInstanceInformation",
                ),
            ),
        )
    }
)
