"""EC2 reads for the snapshot: instances, the interfaces behind a scope, and security groups.

Raw EC2 dicts are turned into model objects page by page and never leave this module, so a
10,000-instance sweep holds one raw page at a time."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any

from botocore.exceptions import PaginationError

from chalicelib.model import IngressRule, Instance, NetworkInterface, SecurityGroup

PAGE_SIZE = 1000  # the most DescribeInstances / DescribeSecurityGroups return in one call
FILTER_VALUES = 200  # EC2 accepts at most 200 values in one filter


def iter_all_instances(ec2: Any, region: str, account: str | None) -> Iterator[Instance]:
    yield from _iter_pages_of_instances(ec2, {}, region, account)


def _iter_pages_of_instances(ec2: Any, request: dict[str, Any], region: str, account: str | None) -> Iterator[Instance]:
    """DescribeInstances page by page (the calls a paginator makes), one raw page alive at a time.

    botocore's paginator keeps the last page while it requests and parses the next, so two
    1,000-instance pages (~15 MB of dicts) would be alive at once; here a page is dropped once its
    instances are built (bench/: the sweep must fit a 128 MB Lambda)."""
    request = {**request, "MaxResults": PAGE_SIZE}
    seen: set[str] = set()
    while True:
        page = ec2.describe_instances(**request)
        token = page.get("NextToken")
        instances = list(_instances_of_page(page, region, account))
        del page
        yield from instances
        if not token:
            return
        if token in seen:  # as botocore's paginator does: a service answering in a loop is an error
            raise PaginationError(message=f"DescribeInstances returned the same NextToken twice: {token[:20]}")
        seen.add(token)
        request["NextToken"] = token


def iter_instances_by_id(ec2: Any, ids: Iterable[str], region: str, account: str | None) -> Iterator[Instance]:
    # A filter, not InstanceIds: one unknown id would fail the whole InstanceIds call.
    for chunk in _chunks(sorted(ids), FILTER_VALUES):
        request = {"Filters": [{"Name": "instance-id", "Values": chunk}]}
        yield from _iter_pages_of_instances(ec2, request, region, account)


def instance_ids_behind(ec2: Any, *, group_ids: Iterable[str] = (), eni_ids: Iterable[str] = ()) -> set[str]:
    """Instances attached to interfaces that use these groups or are these interfaces.

    Through DescribeNetworkInterfaces because it sees every interface of an instance (a group on a
    second interface counts), where DescribeInstances' instance.group-id sees the primary only."""
    found: set[str] = set()
    paginator = ec2.get_paginator("describe_network_interfaces")
    for name, values in (("group-id", group_ids), ("network-interface-id", eni_ids)):
        for chunk in _chunks(sorted(set(values)), FILTER_VALUES):
            for page in paginator.paginate(
                Filters=[{"Name": name, "Values": chunk}], PaginationConfig={"PageSize": PAGE_SIZE}
            ):
                for eni in page.get("NetworkInterfaces", []):
                    instance_id = (eni.get("Attachment") or {}).get("InstanceId")
                    if instance_id:
                        found.add(instance_id)
    return found


def group_ids_named(ec2: Any, names: Iterable[str]) -> set[str]:
    """Ids of the groups with these names. A call may name a default-VPC group by name alone; a
    same-named group of another VPC comes too, which only widens the look (one call per 200 names)."""
    paginator = ec2.get_paginator("describe_security_groups")
    found: set[str] = set()
    for chunk in _chunks(sorted(set(names)), FILTER_VALUES):
        for page in paginator.paginate(
            Filters=[{"Name": "group-name", "Values": chunk}], PaginationConfig={"PageSize": PAGE_SIZE}
        ):
            found.update(g["GroupId"] for g in page.get("SecurityGroups", []) if "GroupId" in g)
    return found


def read_all_security_groups(ec2: Any) -> dict[str, SecurityGroup]:
    paginator = ec2.get_paginator("describe_security_groups")
    groups: dict[str, SecurityGroup] = {}
    for page in paginator.paginate(PaginationConfig={"PageSize": PAGE_SIZE}):
        for raw in page.get("SecurityGroups", []):
            group = _security_group(raw)
            groups[group.id] = group
    return groups


def read_security_groups(ec2: Any, group_ids: Iterable[str]) -> dict[str, SecurityGroup]:
    # A filter rather than GroupIds: a group deleted meanwhile must not fail the others.
    paginator = ec2.get_paginator("describe_security_groups")
    groups: dict[str, SecurityGroup] = {}
    for chunk in _chunks(sorted(set(group_ids)), FILTER_VALUES):
        for page in paginator.paginate(
            Filters=[{"Name": "group-id", "Values": chunk}], PaginationConfig={"PageSize": PAGE_SIZE}
        ):
            for raw in page.get("SecurityGroups", []):
                group = _security_group(raw)
                groups[group.id] = group
    return groups


# --- raw -> model ----------------------------------------------------------------------------


def _instances_of_page(page: dict[str, Any], region: str, account: str | None) -> Iterator[Instance]:
    for reservation in page.get("Reservations", []):
        # The reservation's owner is the instance's account, whatever the scope said.
        owner = reservation.get("OwnerId") or account or ""
        for raw in reservation.get("Instances", []):
            yield _instance(raw, region, owner)


def _instance(raw: dict[str, Any], region: str, account: str) -> Instance:
    enis = tuple(
        sorted(
            (_network_interface(e) for e in raw.get("NetworkInterfaces", [])),
            key=lambda e: (e.device_index, e.id),
        )
    )
    return Instance(
        id=raw["InstanceId"],
        state=shared_text((raw.get("State") or {}).get("Name", "unknown")),
        account=account,
        region=region,
        instance_type=shared_text(raw.get("InstanceType", "")),
        image_id=shared_text(raw.get("ImageId", "")),
        vpc_id=shared_text(raw.get("VpcId")),
        subnet_id=shared_text(raw.get("SubnetId")),
        launch_time=raw.get("LaunchTime"),
        tags={shared_text(t["Key"]): shared_text(t.get("Value", "")) for t in raw.get("Tags", []) if "Key" in t},
        network_interfaces=enis,
        public_ip=_same_as_eni(raw.get("PublicIpAddress"), enis),
        security_group_ids=tuple(shared_text(g["GroupId"]) for g in raw.get("SecurityGroups", []) if "GroupId" in g),
        platform=shared_text(raw.get("Platform")),
        metadata_http_tokens=shared_text((raw.get("MetadataOptions") or {}).get("HttpTokens")),
        iam_instance_profile_arn=(raw.get("IamInstanceProfile") or {}).get("Arn"),
        volume_ids=tuple(
            m["Ebs"]["VolumeId"] for m in raw.get("BlockDeviceMappings", []) if "VolumeId" in (m.get("Ebs") or {})
        ),
        state_transition_reason=raw.get("StateTransitionReason") or "",
        tenancy=shared_text((raw.get("Placement") or {}).get("Tenancy", "")),
    )


def shared_text(value: Any) -> Any:
    """One string object for a value that many instances repeat (type, image, subnet, group, tag).

    The XML parser makes a new string for every occurrence; shared, 10,000 instances hold ~6 MB
    less (bench/: the sweep must fit a 128 MB Lambda)."""
    return sys.intern(value) if isinstance(value, str) else value


def _same_as_eni(public_ip: str | None, enis: tuple[NetworkInterface, ...]) -> str | None:
    """The instance's public address is its primary interface's: one string, not two."""
    return next((e.public_ip for e in enis if e.public_ip == public_ip), public_ip) if public_ip else public_ip


def _network_interface(raw: dict[str, Any]) -> NetworkInterface:
    association = raw.get("Association") or {}
    public_ip = association.get("PublicIp")
    # EC2 marks an auto-assigned public IPv4 with IpOwnerId "amazon"; any other owner is an Elastic IP.
    is_elastic = bool(public_ip) and association.get("IpOwnerId") not in (None, "amazon")
    return NetworkInterface(
        id=raw.get("NetworkInterfaceId", ""),
        device_index=int((raw.get("Attachment") or {}).get("DeviceIndex", 0)),
        group_ids=tuple(shared_text(g["GroupId"]) for g in raw.get("Groups", []) if "GroupId" in g),
        private_ip=raw.get("PrivateIpAddress"),
        public_ip=public_ip,
        public_ip_is_elastic=is_elastic,
        ipv6_addresses=tuple(a["Ipv6Address"] for a in raw.get("Ipv6Addresses", []) if "Ipv6Address" in a),
    )


def _security_group(raw: dict[str, Any]) -> SecurityGroup:
    return SecurityGroup(
        id=raw["GroupId"],
        name=raw.get("GroupName", ""),
        vpc_id=raw.get("VpcId"),
        ingress=tuple(_ingress_rule(p) for p in raw.get("IpPermissions", [])),
    )


def _ingress_rule(raw: dict[str, Any]) -> IngressRule:
    return IngressRule(
        protocol=str(raw.get("IpProtocol", "-1")),
        from_port=raw.get("FromPort"),
        to_port=raw.get("ToPort"),
        ipv4_ranges=tuple(r["CidrIp"] for r in raw.get("IpRanges", []) if "CidrIp" in r),
        ipv6_ranges=tuple(r["CidrIpv6"] for r in raw.get("Ipv6Ranges", []) if "CidrIpv6" in r),
        referenced_group_ids=tuple(p["GroupId"] for p in raw.get("UserIdGroupPairs", []) if "GroupId" in p),
        prefix_list_ids=tuple(p["PrefixListId"] for p in raw.get("PrefixListIds", []) if "PrefixListId" in p),
    )


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
