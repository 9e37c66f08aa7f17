"""Seed a moto EC2 backend with a fleet whose ground truth is known.

Each instance is one story with a twin that differs in one attribute, so precision and recall
can be measured. One instance per RunInstances call: moto pages DescribeInstances by reservation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

AMI = "ami-12c6146b"  # one of moto's built-in images
WORLD_V4 = "0.0.0.0/0"
WORLD_V6 = "::/0"


@dataclass
class SeededFleet:
    vpc_id: str
    public_subnet: str
    private_subnet: str
    instances: dict[str, str] = field(default_factory=dict)  # story -> instance id
    groups: dict[str, str] = field(default_factory=dict)  # name -> group id
    expected: dict[str, str | None] = field(default_factory=dict)  # story -> severity or None (not a finding)

    def exposed_ids(self) -> set[str]:
        return {self.instances[s] for s, sev in self.expected.items() if sev is not None}


def base_network(ec2: Any) -> SeededFleet:
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]
    vpc_id = vpc["VpcId"]
    public = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.1.0/24", Ipv6CidrBlock="2600:1f18:20:1::/64")
    public_id = public["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=public_id, MapPublicIpOnLaunch={"Value": True})
    private = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.2.0/24", Ipv6CidrBlock="2600:1f18:20:2::/64")
    return SeededFleet(vpc_id=vpc_id, public_subnet=public_id, private_subnet=private["Subnet"]["SubnetId"])


def make_group(ec2: Any, fleet: SeededFleet, name: str, permissions: list[dict[str, Any]]) -> str:
    group_id = ec2.create_security_group(GroupName=name, Description=name, VpcId=fleet.vpc_id)["GroupId"]
    if permissions:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=permissions)
    fleet.groups[name] = group_id
    return group_id


def tcp(
    port_from: int,
    port_to: int | None = None,
    *,
    v4: str | None = None,
    v6: str | None = None,
    group: str | None = None,
) -> dict[str, Any]:
    rule: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port_from, "ToPort": port_to or port_from}
    if v4:
        rule["IpRanges"] = [{"CidrIp": v4}]
    if v6:
        rule["Ipv6Ranges"] = [{"CidrIpv6": v6}]
    if group:
        rule["UserIdGroupPairs"] = [{"GroupId": group}]
    return rule


def launch(
    ec2: Any,
    fleet: SeededFleet,
    story: str,
    *,
    subnet: str,
    groups: list[str],
    tags: dict[str, str] | None = None,
    ipv6: bool = False,
    expected: str | None = None,
) -> str:
    all_tags = {"Name": story, **(tags or {})}
    kwargs: dict[str, Any] = {
        "ImageId": AMI,
        "MinCount": 1,
        "MaxCount": 1,
        "InstanceType": "t3.micro",
        "SubnetId": subnet,
        "SecurityGroupIds": groups,
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in all_tags.items()]}
        ],
    }
    if ipv6:
        kwargs["Ipv6AddressCount"] = 1
    instance_id = ec2.run_instances(**kwargs)["Instances"][0]["InstanceId"]
    fleet.instances[story] = instance_id
    fleet.expected[story] = expected
    return instance_id


def seed_exposure_fleet(ec2: Any) -> SeededFleet:
    """Every rule of public-exposure, each with a passing twin."""
    fleet = base_network(ec2)
    closed = make_group(ec2, fleet, "closed", [])
    ssh_world = make_group(ec2, fleet, "ssh-world", [tcp(22, v4=WORLD_V4)])
    https_v6 = make_group(ec2, fleet, "https-world-v6", [tcp(443, v6=WORLD_V6)])
    all_traffic = make_group(
        ec2, fleet, "all-traffic-world", [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": WORLD_V4}]}]
    )
    range_22 = make_group(ec2, fleet, "range-20-30-world", [tcp(20, 30, v4=WORLD_V4)])
    postgres = make_group(ec2, fleet, "postgres-world", [tcp(5432, v4=WORLD_V4)])
    app_tier = make_group(ec2, fleet, "app-tier", [])
    from_group = make_group(ec2, fleet, "ssh-from-app-tier", [tcp(22, group=app_tier)])
    private_cidr = make_group(ec2, fleet, "ssh-from-10-8", [tcp(22, v4="10.0.0.0/8")])
    rdp_world = make_group(ec2, fleet, "rdp-world", [tcp(3389, v4=WORLD_V4)])
    web_8080 = make_group(ec2, fleet, "web-8080-world", [tcp(8080, v4=WORLD_V4)])
    icmp = make_group(
        ec2,
        fleet,
        "icmp-world",
        [{"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": WORLD_V4}]}],
    )

    pub, priv = fleet.public_subnet, fleet.private_subnet
    launch(ec2, fleet, "ipv4-ssh-open", subnet=pub, groups=[ssh_world], expected="CRITICAL")
    launch(ec2, fleet, "ipv6-https-open", subnet=priv, groups=[https_v6], ipv6=True, expected="MEDIUM")
    launch(ec2, fleet, "ipv6-rule-but-no-ipv6-address", subnet=priv, groups=[https_v6])
    launch(ec2, fleet, "all-traffic-open", subnet=pub, groups=[all_traffic], expected="CRITICAL")
    launch(ec2, fleet, "port-range-spans-22", subnet=pub, groups=[range_22], expected="CRITICAL")
    launch(ec2, fleet, "postgres-open", subnet=pub, groups=[postgres], expected="HIGH")
    launch(ec2, fleet, "icmp-open", subnet=pub, groups=[icmp], expected="LOW")
    launch(ec2, fleet, "references-another-group", subnet=pub, groups=[from_group])
    launch(ec2, fleet, "private-cidr-only", subnet=pub, groups=[private_cidr])
    launch(ec2, fleet, "public-but-closed", subnet=pub, groups=[closed])
    launch(ec2, fleet, "private-with-open-group", subnet=priv, groups=[ssh_world])

    # An Elastic IP as the only public address.
    eip_box = launch(ec2, fleet, "elastic-ip-only", subnet=priv, groups=[rdp_world], expected="CRITICAL")
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=allocation, InstanceId=eip_box)
    launch(ec2, fleet, "rdp-open-no-address", subnet=priv, groups=[rdp_world])

    # A second interface with its own open group and its own Elastic IP.
    second = launch(ec2, fleet, "second-interface-open", subnet=priv, groups=[closed], expected="MEDIUM")
    eni = ec2.create_network_interface(SubnetId=priv, Groups=[web_8080])["NetworkInterface"]["NetworkInterfaceId"]
    ec2.attach_network_interface(NetworkInterfaceId=eni, InstanceId=second, DeviceIndex=1)
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=allocation, NetworkInterfaceId=eni)

    stopped = launch(ec2, fleet, "stopped-but-open", subnet=pub, groups=[ssh_world])
    ec2.stop_instances(InstanceIds=[stopped])
    return fleet
