"""Hand-built snapshots for pure tests: instances, groups and rules with sensible defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.model import (
    IngressRule,
    Instance,
    NetworkInterface,
    PriorFinding,
    SecurityGroup,
    Severity,
    Snapshot,
)

ACCOUNT = "111122223333"
REGION = "eu-west-1"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def rule(
    protocol: str = "tcp",
    ports: tuple[int, int] | None = (22, 22),
    *,
    v4: tuple[str, ...] = (),
    v6: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
) -> IngressRule:
    low, high = ports if ports else (None, None)
    return IngressRule(
        protocol=protocol, from_port=low, to_port=high, ipv4_ranges=v4, ipv6_ranges=v6, referenced_group_ids=groups
    )


def group(group_id: str, *rules: IngressRule, name: str | None = None) -> SecurityGroup:
    return SecurityGroup(id=group_id, name=name or group_id, vpc_id="vpc-1", ingress=tuple(rules))


def eni(
    eni_id: str = "eni-00000001",
    *,
    groups: tuple[str, ...] = ("sg-00000001",),
    public_ip: str | None = None,
    elastic: bool = False,
    ipv6: tuple[str, ...] = (),
    index: int = 0,
) -> NetworkInterface:
    return NetworkInterface(
        id=eni_id,
        device_index=index,
        group_ids=groups,
        private_ip="10.0.0.10",
        public_ip=public_ip,
        public_ip_is_elastic=elastic,
        ipv6_addresses=ipv6,
    )


def instance(
    instance_id: str = "i-00000001",
    *,
    state: str = "running",
    enis: tuple[NetworkInterface, ...] = (),
    tags: dict[str, str] | None = None,
    **kw: Any,
) -> Instance:
    return Instance(
        id=instance_id,
        state=state,
        account=ACCOUNT,
        region=REGION,
        instance_type="t3.micro",
        image_id="ami-00000001",
        vpc_id="vpc-1",
        subnet_id="subnet-1",
        tags=tags or {},
        network_interfaces=enis,
        **kw,
    )


def snapshot(
    instances: list[Instance],
    groups: list[SecurityGroup],
    *,
    is_sweep: bool = True,
    prior: dict[str, PriorFinding] | None = None,
    complete: bool = True,
    missing: tuple[str, ...] = (),
) -> Snapshot:
    return Snapshot(
        account=ACCOUNT,
        region=REGION,
        taken_at=NOW,
        is_sweep=is_sweep,
        instances=tuple(instances),
        security_groups={g.id: g for g in groups},
        security_groups_complete=complete,
        missing_instance_ids=missing,
        prior_findings=prior,
    )


def prior_finding(
    finding_id: str,
    resource_id: str,
    *,
    check: str = "public-exposure",
    severity: Severity = Severity.CRITICAL,
    title: str = "t",
    description: str = "d",
    updated_at: str = "2026-11-27T11:00:00.000Z",
) -> PriorFinding:
    return PriorFinding(
        id=finding_id,
        check=check,
        resource_id=resource_id,
        severity=severity,
        title=title,
        description=description,
        first_observed_at="2026-11-01T00:00:00.000Z",
        updated_at=updated_at,
    )
