"""Seed a moto EC2 backend with the lab-to-production fleet: every launch-hygiene and
environment-drift rule, each with a passing twin that differs in one attribute.

The environment map the fleet is judged with is `DriftFleet.settings_env()`. AMI age needs AMIs
with real creation dates, which moto only takes from MOTO_AMIS_PATH (read once, when moto's EC2
models are imported): `write_ami_catalog()` writes one; without it the old-AMI story is left out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.rules.tags import PUBLIC_OK

HYGIENE = "launch-hygiene"
DRIFT = "environment-drift"
SSM = "ssm-unmanaged"

FRESH_AMI = "ami-0fe5ca7a1b2c3d4e5"
OLD_AMI = "ami-0a1d0e5c0ffee0001"
# Dates fixed against the judging time the tests pass (--now 2026-06-01T00:00:00Z).
JUDGED_AT = "2026-06-01T00:00:00Z"
AMI_CATALOG: list[dict[str, Any]] = [
    {
        "ami_id": FRESH_AMI,
        "name": "golden-al2023-2026.05",
        "description": "golden image, May 2026",
        "owner_id": "123456789012",
        "public": False,
        "state": "available",
        "architecture": "x86_64",
        "virtualization_type": "hvm",
        "hypervisor": "xen",
        "root_device_type": "ebs",
        "root_device_name": "/dev/xvda",
        "image_type": "machine",
        "creation_date": "2026-05-10T08:00:00.000Z",
    },
    {
        "ami_id": OLD_AMI,
        "name": "golden-al2-2024.01",
        "description": "golden image, January 2024",
        "owner_id": "123456789012",
        "public": False,
        "state": "available",
        "architecture": "x86_64",
        "virtualization_type": "hvm",
        "hypervisor": "xen",
        "root_device_type": "ebs",
        "root_device_name": "/dev/xvda",
        "image_type": "machine",
        "creation_date": "2024-01-15T08:00:00.000Z",
    },
]

PROD_CIDR = "10.10.0.0/16"
LAB_CIDR = "10.30.0.0/16"
OFFICE_LAB_CIDR = "192.168.50.0/24"  # a lab network outside AWS, declared in NON_PRODUCTION_CIDRS


def write_ami_catalog(path: Path) -> Path:
    """The AMIs moto should know, with creation dates (set MOTO_AMIS_PATH to it before moto starts)."""
    path.write_text(json.dumps(AMI_CATALOG, indent=2), encoding="utf-8")
    return path


@dataclass
class DriftFleet:
    prod_vpc: str
    prod_private: str
    prod_public: str
    lab_vpc: str
    lab_subnet: str
    instances: dict[str, str] = field(default_factory=dict)  # story -> instance id
    groups: dict[str, str] = field(default_factory=dict)
    # (check, story) -> expected severity; a story absent for a check must pass it.
    expected: dict[tuple[str, str], str] = field(default_factory=dict)
    # Instances SSM must report as ConnectionLost (register them with devtools/moto_ssm.py); every
    # other instance is expected to be SSM managed and Online.
    ssm_lost: list[str] = field(default_factory=list)

    def settings_env(self) -> dict[str, str]:
        return {
            "PRODUCTION_VPCS": self.prod_vpc,
            "NON_PRODUCTION_VPCS": self.lab_vpc,
            "NON_PRODUCTION_CIDRS": OFFICE_LAB_CIDR,
            "AMI_MAX_AGE_DAYS": "90",
            # moto cannot backdate LaunchTime: judge SSM at once rather than after the registration grace.
            "SSM_REGISTRATION_GRACE_MINUTES": "0",
        }

    def truth(self) -> dict[tuple[str, str], str]:
        """(check, instance id) -> severity, for every finding the fleet should produce."""
        return {(check, self.instances[story]): sev for (check, story), sev in self.expected.items()}


def seed_drift_fleet(
    ec2: Any, iam: Any, *, fresh_ami: str, old_ami: str | None = None, ssm_story: bool = True
) -> DriftFleet:
    """The fleet; `old_ami` adds the AMI-age story, `ssm_story` the SSM-agent-lost one (whose state
    the caller registers in moto_ssm, with every other instance managed)."""
    fleet = _network(ec2)
    none = _group(ec2, fleet, "prod-no-ingress", fleet.prod_vpc, [])
    lab_none = _group(ec2, fleet, "lab-no-ingress", fleet.lab_vpc, [])
    lab_app = _group(ec2, fleet, "lab-app", fleet.lab_vpc, [])
    prod_app = _group(ec2, fleet, "prod-app", fleet.prod_vpc, [])
    from_lab_cidr = _group(ec2, fleet, "ssh-from-lab-vpc", fleet.prod_vpc, [_tcp(22, cidr="10.30.4.0/24")])
    from_prod_cidr = _group(ec2, fleet, "ssh-from-prod-vpc", fleet.prod_vpc, [_tcp(22, cidr=PROD_CIDR)])
    from_lab_group = _group(ec2, fleet, "db-from-lab-app", fleet.prod_vpc, [_tcp(5432, group=lab_app)])
    from_prod_group = _group(ec2, fleet, "db-from-prod-app", fleet.prod_vpc, [_tcp(5432, group=prod_app)])
    from_office_lab = _group(ec2, fleet, "rdp-from-office-lab", fleet.prod_vpc, [_tcp(3389, cidr="192.168.50.10/32")])
    from_office = _group(ec2, fleet, "rdp-from-office", fleet.prod_vpc, [_tcp(3389, cidr="192.168.60.0/24")])
    profile = iam.create_instance_profile(InstanceProfileName="drift-fleet-app")["InstanceProfile"]["Arn"]

    def prod(story: str, **kw: Any) -> str:
        kw.setdefault("subnet", fleet.prod_private)
        kw.setdefault("groups", [none])
        kw.setdefault("env", "production")
        return _launch(ec2, fleet, story, ami=fresh_ami, **kw)

    def lab(story: str, **kw: Any) -> str:
        kw.setdefault("subnet", fleet.lab_subnet)
        kw.setdefault("groups", [lab_none])
        kw.setdefault("env", "lab")
        return _launch(ec2, fleet, story, ami=fresh_ami, **kw)

    # --- clean baselines (also the twins of the stories below) ---
    prod("prod-clean")
    lab("lab-clean")

    # --- launch-hygiene ---
    lab("hyg-missing-owner", owner=None, expect={HYGIENE: "LOW"})
    lab("hyg-owner-present")
    lab("hyg-imdsv1", tokens="optional", expect={HYGIENE: "MEDIUM"})
    lab("hyg-imdsv2")
    lab("hyg-imdsv1-with-role", tokens="optional", profile=profile, expect={HYGIENE: "HIGH"})
    lab("hyg-imdsv2-with-role", profile=profile)
    lab("hyg-unencrypted-root", encrypted=False, expect={HYGIENE: "MEDIUM"})
    lab("hyg-encrypted-root")
    plain = lab("hyg-unencrypted-data-volume", expect={HYGIENE: "MEDIUM"})
    _attach(ec2, fleet, plain, encrypted=False)
    sealed = lab("hyg-encrypted-data-volume")
    _attach(ec2, fleet, sealed, encrypted=True)
    if old_ami is not None:
        _launch(ec2, fleet, "hyg-old-ami", env="lab", ami=old_ami, subnet=fleet.lab_subnet, groups=[lab_none],
                expect={HYGIENE: "LOW"})  # fmt: skip
    gone_ami = ec2.create_image(InstanceId=fleet.instances["lab-clean"], Name="short-lived")["ImageId"]
    _launch(ec2, fleet, "hyg-ami-gone", env="lab", ami=gone_ami, subnet=fleet.lab_subnet, groups=[lab_none],
            expect={HYGIENE: "MEDIUM"})  # fmt: skip
    ec2.deregister_image(ImageId=gone_ami)
    lab("hyg-unknown-environment", env="uat", expect={HYGIENE: "LOW"})
    stopped_v1 = lab("hyg-stopped-imdsv1", tokens="optional", expect={HYGIENE: "MEDIUM"})
    stopped_v2 = lab("hyg-stopped-imdsv2")
    ec2.stop_instances(InstanceIds=[stopped_v1, stopped_v2])

    # --- environment-drift: where an instance runs ---
    lab("drift-lab-in-prod-vpc", subnet=fleet.prod_private, groups=[none], expect={DRIFT: "HIGH"})
    lab("drift-lab-in-lab-vpc")
    # No Environment tag inside production: environment-drift's "unclassified" story, not a hygiene gap too.
    _launch(ec2, fleet, "drift-untagged-in-prod", env=None, ami=fresh_ami, subnet=fleet.prod_private, groups=[none],
            expect={DRIFT: "MEDIUM"})  # fmt: skip
    prod("drift-prod-in-lab-vpc", subnet=fleet.lab_subnet, groups=[lab_none], expect={DRIFT: "MEDIUM"})
    prod("drift-prod-in-prod-vpc")

    # --- the production baseline: launch-hygiene's gaps raised in production, SSM ssm-unmanaged's; no drift ---
    prod("drift-prod-imdsv1", tokens="optional", expect={HYGIENE: "HIGH"})
    prod("drift-prod-unencrypted", encrypted=False, expect={HYGIENE: "HIGH"})
    prod("drift-prod-public-ip", subnet=fleet.prod_public, expect={HYGIENE: "HIGH"})
    prod("drift-prod-public-ip-ok", subnet=fleet.prod_public, extra_tags={PUBLIC_OK: "true"})
    if ssm_story:
        lost = prod("drift-prod-ssm-lost", expect={SSM: "HIGH"})
        fleet.ssm_lost.append(lost)
    prod("drift-prod-many-gaps", subnet=fleet.prod_public, tokens="optional", encrypted=False,
         expect={HYGIENE: "HIGH"})  # fmt: skip

    # --- environment-drift: ingress from non-production ---
    prod("drift-ingress-lab-cidr", groups=[from_lab_cidr], expect={DRIFT: "HIGH"})
    prod("drift-ingress-prod-cidr", groups=[from_prod_cidr])
    prod("drift-ingress-lab-group", groups=[from_lab_group], expect={DRIFT: "HIGH"})
    prod("drift-ingress-prod-group", groups=[from_prod_group])
    prod("drift-ingress-office-lab", groups=[from_office_lab], expect={DRIFT: "HIGH"})
    prod("drift-ingress-office", groups=[from_office])
    lab("lab-app-box", groups=[lab_app])  # makes lab-app a group "used by non-production instances"
    prod("prod-app-box", groups=[prod_app])
    return fleet


def _network(ec2: Any) -> DriftFleet:
    prod_vpc = ec2.create_vpc(CidrBlock=PROD_CIDR)["Vpc"]["VpcId"]
    private = ec2.create_subnet(VpcId=prod_vpc, CidrBlock="10.10.1.0/24")["Subnet"]["SubnetId"]
    public = ec2.create_subnet(VpcId=prod_vpc, CidrBlock="10.10.2.0/24")["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=public, MapPublicIpOnLaunch={"Value": True})
    lab_vpc = ec2.create_vpc(CidrBlock=LAB_CIDR)["Vpc"]["VpcId"]
    lab_subnet = ec2.create_subnet(VpcId=lab_vpc, CidrBlock="10.30.4.0/24")["Subnet"]["SubnetId"]
    return DriftFleet(prod_vpc, private, public, lab_vpc, lab_subnet)


def _group(ec2: Any, fleet: DriftFleet, name: str, vpc: str, permissions: list[dict[str, Any]]) -> str:
    group_id = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
    if permissions:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=permissions)
    fleet.groups[name] = group_id
    return group_id


def _tcp(port: int, *, cidr: str | None = None, group: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
    if cidr:
        rule["IpRanges"] = [{"CidrIp": cidr}]
    if group:
        rule["UserIdGroupPairs"] = [{"GroupId": group}]
    return rule


def _launch(
    ec2: Any,
    fleet: DriftFleet,
    story: str,
    *,
    env: str | None,
    ami: str,
    subnet: str,
    groups: list[str],
    owner: str | None = "platform-team",
    tokens: str = "required",
    encrypted: bool = True,
    profile: str | None = None,
    extra_tags: dict[str, str] | None = None,
    expect: dict[str, str] | None = None,
) -> str:
    tags = {"Name": story, **({"Owner": owner} if owner else {}), **({"Environment": env} if env else {})}
    tags.update(extra_tags or {})
    kwargs: dict[str, Any] = {
        "ImageId": ami,
        "MinCount": 1,
        "MaxCount": 1,
        "InstanceType": "t3.micro",
        "SubnetId": subnet,
        "SecurityGroupIds": groups,
        "MetadataOptions": {"HttpTokens": tokens, "HttpEndpoint": "enabled"},
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8, "Encrypted": encrypted}}],
        "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
    }
    if profile:
        kwargs["IamInstanceProfile"] = {"Arn": profile}
    instance_id = ec2.run_instances(**kwargs)["Instances"][0]["InstanceId"]
    fleet.instances[story] = instance_id
    for check, severity in (expect or {}).items():
        fleet.expected[(check, story)] = severity
    return instance_id


def _attach(ec2: Any, fleet: DriftFleet, instance_id: str, *, encrypted: bool) -> str:
    zone = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["Placement"][
        "AvailabilityZone"
    ]
    volume = ec2.create_volume(Size=20, AvailabilityZone=zone, Encrypted=encrypted)["VolumeId"]
    ec2.attach_volume(VolumeId=volume, InstanceId=instance_id, Device="/dev/sdf")
    return volume
