"""The CIDR entries of the managed prefix lists that security-group rules reference.

A rule that admits a prefix list admits every CIDR in it, and a customer-managed list may hold
0.0.0.0/0: the exposure check reads the entries instead of trusting the reference. Only lists
referenced by groups of instances with a public address are read, one GetManagedPrefixListEntries
a list (the API reads one list a call; MaxResults 100, paginated for longer lists)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.adapters.clients import AWS_ERRORS, aws_error_message
from chalicelib.model import Instance, ReadError, SecurityGroup

PAGE_SIZE = 100  # GetManagedPrefixListEntries: MaxResults 1-100


def referenced_lists(instances: Iterable[Instance], groups: Mapping[str, SecurityGroup]) -> set[str]:
    """Prefix lists named by ingress rules of the groups of running instances with a public address."""
    wanted: set[str] = set()
    for instance in instances:
        if instance.state != "running" or not (instance.public_ipv4_addresses or instance.ipv6_addresses):
            continue
        for group_id in instance.all_group_ids:
            if group_id in groups:
                wanted |= groups[group_id].prefix_list_ids
    return wanted


def read_prefix_lists(ec2: Any, list_ids: Iterable[str], errors: list[ReadError]) -> dict[str, tuple[str, ...]]:
    """Prefix list id -> its CIDRs. A list that cannot be read is absent, and its error recorded:
    the check then leaves the instances behind it not evaluated."""
    entries: dict[str, tuple[str, ...]] = {}
    paginator = ec2.get_paginator("get_managed_prefix_list_entries")
    for list_id in sorted(set(list_ids)):
        try:
            cidrs = [
                e["Cidr"]
                for page in paginator.paginate(PrefixListId=list_id, PaginationConfig={"PageSize": PAGE_SIZE})
                for e in page.get("Entries", [])
                if e.get("Cidr")
            ]
        except AWS_ERRORS as exc:
            errors.append(ReadError("ec2:GetManagedPrefixListEntries", f"{list_id}: {aws_error_message(exc)}"))
            continue
        entries[list_id] = tuple(cidrs)
    return entries
