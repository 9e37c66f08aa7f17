"""public-exposure: a running instance with a public address behind a group open to the internet.

An address is exposed through the interface that carries it, by that interface's groups (traffic
to an Elastic IP on a second interface is filtered by the second interface's groups). IPv4
addresses are reached through IPv4 rules, IPv6 addresses through IPv6 rules."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.checks.verdicts import NOT_EVALUATED, PASSED, Skip, Verdict, judge_each
from chalicelib.model import (
    CheckName,
    CheckResult,
    Finding,
    IngressRule,
    Instance,
    NetworkInterface,
    SecurityGroup,
    Severity,
    Snapshot,
)
from chalicelib.settings import Settings

_PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
_PORT_NAMES = {
    22: "SSH",
    3389: "RDP",
    3306: "MySQL",
    5432: "PostgreSQL",
    1433: "SQL Server",
    1521: "Oracle",
    6379: "Redis",
    9200: "Elasticsearch",
    27017: "MongoDB",
    11211: "memcached",
}

REMEDIATION = (
    "Remove the rule that admits 0.0.0.0/0 or ::/0 (or narrow it to known CIDRs), or take the "
    "public address away (disassociate the Elastic IP, launch in a private subnet). Reach admin "
    "ports through SSM Session Manager instead of the internet."
)


@dataclass(frozen=True)
class ExposurePath:
    """One way in from the internet: address -> interface -> group -> rule -> CIDR."""

    address: str
    address_kind: str  # "public-ipv4", "elastic-ip" or "ipv6"
    interface_id: str
    group_id: str
    group_name: str
    rule: str
    cidr: str
    severity: Severity
    ports: str
    prefix_list_id: str | None = None  # the CIDR came from this managed prefix list

    def as_dict(self) -> dict[str, Any]:
        via = {"prefix_list_id": self.prefix_list_id} if self.prefix_list_id else {}
        return via | {
            "address": self.address,
            "address_kind": self.address_kind,
            "network_interface": self.interface_id,
            "group_id": self.group_id,
            "group_name": self.group_name,
            "rule": self.rule,
            "cidr": self.cidr,
            "ports": self.ports,
            "severity": self.severity.value,
        }


def detect_public_exposure(snapshot: Snapshot, settings: Settings, now: datetime) -> CheckResult:
    wide = _wide_networks(settings.open_cidrs)

    def judge(instance: Instance) -> Verdict:
        if instance.state != "running":
            # Counted, not flagged: a stopped instance has no reachable address, so it passes.
            return Skip(f"not running ({instance.state})", passed=True)
        needed = instance.all_group_ids
        if not snapshot.security_groups_complete or any(g not in snapshot.security_groups for g in needed):
            return NOT_EVALUATED
        paths = exposure_paths(instance, snapshot.security_groups, settings, wide, snapshot.prefix_lists)
        if paths:
            return _finding(instance, paths)
        # A referenced prefix list that was not read could hold 0.0.0.0/0: no verdict on it.
        return NOT_EVALUATED if _unread_prefix_lists(instance, snapshot) else PASSED

    # Instances that are gone pass trivially (judge_each): there is nothing left to expose.
    return judge_each(CheckName.PUBLIC_EXPOSURE, snapshot, judge)


def exposure_paths(
    instance: Instance,
    groups: Mapping[str, SecurityGroup],
    settings: Settings,
    wide: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None = None,
    prefix_lists: Mapping[str, tuple[str, ...]] | None = None,
) -> list[ExposurePath]:
    """Every way in. A rule's prefix lists count by their entries (`prefix_lists`: id -> CIDRs);
    a list not in that mapping adds nothing here (the caller decides what an unread list means)."""
    wide = wide if wide is not None else _wide_networks(settings.open_cidrs)
    paths: list[ExposurePath] = []
    for eni, address, kind in _public_addresses(instance):
        family = 6 if kind == "ipv6" else 4
        for group_id in eni.group_ids:
            group = groups[group_id]
            for rule in group.ingress:
                for cidr, list_id in _rule_cidrs(rule, family, prefix_lists or {}):
                    if _is_too_wide(cidr, wide):
                        severity, ports = rule_severity(rule, settings)
                        paths.append(
                            ExposurePath(
                                address,
                                kind,
                                eni.id,
                                group.id,
                                group.name,
                                _rule_text(rule),
                                cidr,
                                severity,
                                ports,
                                list_id,
                            )
                        )
    return paths


def _rule_cidrs(
    rule: IngressRule, family: int, prefix_lists: Mapping[str, tuple[str, ...]]
) -> Iterator[tuple[str, str | None]]:
    """The rule's CIDRs of one address family, its prefix lists' entries included (with their list)."""
    yield from ((c, None) for c in (rule.ipv6_ranges if family == 6 else rule.ipv4_ranges))
    for list_id in rule.prefix_list_ids:
        for cidr in prefix_lists.get(list_id, ()):
            if (":" in cidr) == (family == 6):
                yield cidr, list_id


def _unread_prefix_lists(instance: Instance, snapshot: Snapshot) -> bool:
    if not _public_addresses(instance):
        return False
    known = snapshot.prefix_lists or {}
    return any(not snapshot.security_groups[g].prefix_list_ids <= known.keys() for g in instance.all_group_ids)


def rule_severity(rule: IngressRule, settings: Settings) -> tuple[Severity, str]:
    """CRITICAL for all traffic or an admin port, HIGH for a database or cache port, else MEDIUM.

    ICMP carries no ports; world-open ICMP is LOW (reachability, not a service)."""
    protocol = _PROTOCOL_NAMES.get(rule.protocol, rule.protocol)
    if protocol == "-1":
        return Severity.CRITICAL, "all"
    if protocol in ("icmp", "icmpv6"):
        return Severity.LOW, protocol
    low, high = _port_range(rule)
    if protocol not in ("tcp", "udp"):
        return Severity.MEDIUM, f"protocol {protocol}"
    label = "all ports" if (low, high) == (0, 65535) else (f"{low}" if low == high else f"{low}-{high}")
    if _covers(low, high, settings.critical_ports):
        return Severity.CRITICAL, label
    if _covers(low, high, settings.high_ports):
        return Severity.HIGH, label
    return Severity.MEDIUM, label


def _finding(instance: Instance, paths: list[ExposurePath]) -> Finding:
    worst = max(paths, key=lambda p: p.severity.rank)
    services = _service_names(paths, worst.severity)
    name = f" ({instance.name})" if instance.name else ""
    title = f"{worst.severity.value.title()}: {services} open to the internet on {instance.id}{name}"
    lines = [
        f"{p.address} ({p.address_kind}, {p.interface_id}) admits {p.cidr} on {p.rule} through "
        f"{p.group_id} ({p.group_name})"
        for p in sorted(paths, key=lambda p: (-p.severity.rank, p.group_id, p.rule, p.cidr, p.address))
    ]
    return Finding(
        check=CheckName.PUBLIC_EXPOSURE,
        resource_id=instance.id,
        account=instance.account,
        region=instance.region,
        severity=worst.severity,
        title=title,
        description="Reachable from the internet: " + "; ".join(lines),
        remediation=REMEDIATION,
        details={
            "paths": [
                p.as_dict()
                for p in sorted(paths, key=lambda p: (-p.severity.rank, p.group_id, p.rule, p.cidr, p.address))
            ],
            "groups": sorted({p.group_id for p in paths}),
            "addresses": sorted({p.address for p in paths}),
        },
    )


def _service_names(paths: Iterable[ExposurePath], severity: Severity) -> str:
    names: list[str] = []
    for p in paths:
        if p.severity != severity:
            continue
        if p.ports == "all":
            label = "all traffic"
        elif p.ports.isdigit():
            port = int(p.ports)
            label = f"{_PORT_NAMES[port]} ({port})" if port in _PORT_NAMES else f"port {port}"
        else:
            label = f"ports {p.ports}"
        if label not in names:
            names.append(label)
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _public_addresses(instance: Instance) -> list[tuple[NetworkInterface, str, str]]:
    out: list[tuple[NetworkInterface, str, str]] = []
    for eni in instance.network_interfaces:
        if eni.public_ip:
            out.append((eni, eni.public_ip, "elastic-ip" if eni.public_ip_is_elastic else "public-ipv4"))
        for address in eni.ipv6_addresses:
            # IPv6 addresses in a VPC are globally unique and routable unless the subnet says otherwise.
            if _is_global_v6(address):
                out.append((eni, address, "ipv6"))
    if not instance.network_interfaces and instance.public_ip:
        legacy = NetworkInterface(id="(instance)", device_index=0, group_ids=instance.security_group_ids)
        out.append((legacy, instance.public_ip, "public-ipv4"))
    return out


def _is_global_v6(address: str) -> bool:
    try:
        ip = ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return not (ip.is_link_local or ip.is_loopback or (ip.is_private and not ip.is_global))


def _wide_networks(cidrs: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _is_too_wide(cidr: str, wide: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    """A rule CIDR is internet-open when it covers one of the declared wide ranges (0.0.0.0/0 by default)."""
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return any(
        network.version == w.version and network.prefixlen <= w.prefixlen and w.subnet_of(network)  # type: ignore[arg-type]
        for w in wide
    )


def _port_range(rule: IngressRule) -> tuple[int, int]:
    if rule.from_port is None or rule.from_port == -1:
        return 0, 65535
    to_port = rule.to_port if rule.to_port is not None and rule.to_port != -1 else rule.from_port
    return rule.from_port, to_port


def _covers(low: int, high: int, ports: Iterable[int]) -> bool:
    return any(low <= p <= high for p in ports)


def _rule_text(rule: IngressRule) -> str:
    protocol = _PROTOCOL_NAMES.get(rule.protocol, rule.protocol)
    if protocol == "-1":
        return "all traffic"
    if protocol in ("icmp", "icmpv6"):
        return protocol
    low, high = _port_range(rule)
    return f"{protocol} {low}" if low == high else f"{protocol} {low}-{high}"
