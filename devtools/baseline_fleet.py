"""Seed a moto EC2 backend with instances that each carry every baseline gap at once: IMDSv1
allowed, an unencrypted root volume, no SSM (never registered) and a public address. One of them
also sits behind a group open to the internet on 443 (reachability, public-exposure's fact).

Seeded as production (inside PRODUCTION_VPCS) or as a lab (Environment=lab, NON_PRODUCTION_VPCS):
the same gaps, judged with and without the production baseline. No instance profile is attached,
so in a lab IMDSv1 is MEDIUM. Also `legacy_double_findings()`: the findings a release before
"one fact, one finding" left open in Security Hub for such an instance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.model import CheckName, Finding, Severity
from chalicelib.rules.tags import PUBLIC_OK

AMI = "ami-12c6146b"  # one of moto's built-in images, created "now"
CIDR = "10.40.0.0/16"


@dataclass
class BaselineFleet:
    vpc_id: str
    subnet_id: str
    environment: str
    instances: dict[str, str] = field(default_factory=dict)  # name -> instance id
    open_group: str = ""
    reachable: str = ""  # the instance behind the open group

    def settings_env(self) -> dict[str, str]:
        where = "PRODUCTION_VPCS" if self.environment == "production" else "NON_PRODUCTION_VPCS"
        # moto cannot backdate LaunchTime: judge SSM at once rather than after the registration grace.
        return {where: self.vpc_id, "SSM_REGISTRATION_GRACE_MINUTES": "0"}


def seed_baseline_fleet(ec2: Any, *, environment: str = "production", count: int = 3) -> BaselineFleet:
    vpc_id = ec2.create_vpc(CidrBlock=CIDR)["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
    closed = ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc_id)["GroupId"]
    web = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc_id)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    fleet = BaselineFleet(vpc_id, subnet_id, environment, open_group=web)
    for n in range(count):
        name = f"{environment}-app-{n}"
        group = web if n == 0 else closed
        instance_id = ec2.run_instances(
            ImageId=AMI,
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.micro",
            SubnetId=subnet_id,
            SecurityGroupIds=[group],
            MetadataOptions={"HttpTokens": "optional", "HttpEndpoint": "enabled"},
            BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8, "Encrypted": False}}],
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [
                        {"Key": "Name", "Value": name},
                        {"Key": "Owner", "Value": "payments-team"},
                        {"Key": "Environment", "Value": environment},
                    ],
                }
            ],
        )["Instances"][0]["InstanceId"]
        fleet.instances[name] = instance_id
        if n == 0:
            fleet.reachable = instance_id
    return fleet


def legacy_double_findings(
    instance_id: str, name: str, account: str, region: str, volume_id: str, address: str
) -> list[Finding]:
    """What the previous release reported, word for word, for one production instance with every gap:
    the production baseline under environment-drift (HIGH), the same IMDSv1 and volume under
    launch-hygiene (MEDIUM), and SSM under ssm-unmanaged (HIGH)."""
    drift_gaps = (
        "not managed by SSM; IMDSv2 not required (HttpTokens optional); unencrypted EBS volume(s) attached: "
        f"{volume_id}; public address {address} without the {PUBLIC_OK} tag"
    )
    return [
        Finding(
            check=CheckName.ENVIRONMENT_DRIFT,
            resource_id=instance_id,
            account=account,
            region=region,
            severity=Severity.HIGH,
            title=(
                "High: below the production baseline (not SSM managed, IMDSv2 not required, unencrypted volume, "
                f"public address) on {instance_id} ({name})"
            ),
            description=f"Below the production baseline: {drift_gaps}.",
            remediation="Bring it to the production baseline.",
        ),
        Finding(
            check=CheckName.LAUNCH_HYGIENE,
            resource_id=instance_id,
            account=account,
            region=region,
            severity=Severity.MEDIUM,
            title=f"Medium: launch hygiene gaps on {instance_id} ({name}): IMDSv1 allowed, unencrypted EBS volume",
            description=(f"IMDSv1 is allowed (HttpTokens optional); unencrypted EBS volume(s) attached: {volume_id}."),
            remediation="Require IMDSv2.",
        ),
        Finding(
            check=CheckName.SSM_UNMANAGED,
            resource_id=instance_id,
            account=account,
            region=region,
            severity=Severity.HIGH,
            title=f"High: {instance_id} ({name}) is not managed by SSM",
            description=f"SSM does not know {instance_id}.",
            remediation="Install SSM Agent.",
        ),
    ]
