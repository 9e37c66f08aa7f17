"""Network reads for environment-drift: the CIDRs of the declared non-production VPCs, and the
instances outside an event's scope that sit behind groups a production group admits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalicelib.model import Instance, VpcInfo
from chalicelib.snapshot import ec2 as ec2_reads
from chalicelib.snapshot.ec2 import FILTER_VALUES, PAGE_SIZE, _chunks


def read_vpcs(ec2: Any, vpc_ids: Iterable[str]) -> dict[str, VpcInfo]:
    """VPCs of this account and region; one in another region or account is simply not returned."""
    vpcs: dict[str, VpcInfo] = {}
    paginator = ec2.get_paginator("describe_vpcs")
    for chunk in _chunks(sorted(set(vpc_ids)), FILTER_VALUES):
        for page in paginator.paginate(
            Filters=[{"Name": "vpc-id", "Values": chunk}], PaginationConfig={"PageSize": PAGE_SIZE}
        ):
            for raw in page.get("Vpcs", []):
                cidrs = [
                    a["CidrBlock"]
                    for a in raw.get("CidrBlockAssociationSet", [])
                    if a.get("CidrBlock") and (a.get("CidrBlockState") or {}).get("State", "associated") == "associated"
                ]
                if not cidrs and raw.get("CidrBlock"):
                    cidrs.append(raw["CidrBlock"])
                cidrs += [
                    a["Ipv6CidrBlock"]
                    for a in raw.get("Ipv6CidrBlockAssociationSet", [])
                    if a.get("Ipv6CidrBlock")
                    and (a.get("Ipv6CidrBlockState") or {}).get("State", "associated") == "associated"
                ]
                vpcs[raw["VpcId"]] = VpcInfo(id=raw["VpcId"], cidrs=tuple(dict.fromkeys(cidrs)))
    return vpcs


def read_group_neighbours(
    ec2: Any, group_ids: Iterable[str], known: Iterable[str], region: str, account: str | None
) -> dict[str, Instance]:
    """Instances (other than `known`) with an interface in one of these groups."""
    behind = ec2_reads.instance_ids_behind(ec2, group_ids=group_ids) - set(known)
    if not behind:
        return {}
    return {i.id: i for i in ec2_reads.iter_instances_by_id(ec2, behind, region, account)}
