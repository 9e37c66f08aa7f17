"""environment-drift: lab and production kept apart. Placement and separation only: how a
production instance is configured (IMDSv2, encryption, a public address) is launch-hygiene's
finding, SSM management ssm-unmanaged's, reachability public-exposure's.

An instance claims an environment by its Environment tag and sits in a network the environment
map places (environments.py). Problems, each a gap of the instance's one finding:
- non-production-in-production (HIGH): a lab/dev/test... instance inside a production account,
  VPC or subnet ("lab VM in production").
- unclassified-in-production (MEDIUM): no Environment tag, or a value neither list knows, inside
  production: nobody can tell whether it meets the production bar (and removing the tag must not
  be a way to clear the finding above).
- production-in-non-production (MEDIUM): a production workload outside the production networks.
- ingress-from-non-production (HIGH): a production instance whose groups admit a non-production
  network: a CIDR overlapping NON_PRODUCTION_CIDRS or a NON_PRODUCTION_VPCS block, or a group that
  a non-production instance uses. Internet-wide rules (prefix /0) are left to public-exposure."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from datetime import datetime

from chalicelib.checks.gaps import Gap, gaps_finding
from chalicelib.checks.launch import GONE_STATES
from chalicelib.checks.verdicts import NOT_EVALUATED, PASSED, Skip, Verdict, judge_each
from chalicelib.model import CheckName, CheckResult, Instance, Severity, Snapshot
from chalicelib.rules.environments import Claim, Environment, Placement, Zone, claim_of, placement_of
from chalicelib.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def detect_environment_drift(snapshot: Snapshot, settings: Settings, now: datetime) -> CheckResult:
    non_production_networks = _non_production_networks(snapshot, settings)
    group_users = _non_production_group_users(snapshot, settings)

    def judge(instance: Instance) -> Verdict:
        if instance.state in GONE_STATES:
            return Skip(f"gone ({instance.state})", passed=True)
        claim = claim_of(instance, settings)
        placement = placement_of(instance, settings)
        gaps, not_checked = drift_gaps(instance, claim, placement, snapshot, non_production_networks, group_users)
        if gaps:
            return gaps_finding(
                CheckName.ENVIRONMENT_DRIFT,
                instance,
                gaps,
                headline=_headline(gaps),
                not_checked=not_checked,
                extra={
                    "environment": claim.value,
                    "environment_class": claim.environment.value,
                    "network": placement.zone.value,
                    "network_reason": placement.reason,
                },
            )
        return NOT_EVALUATED if not_checked else PASSED

    return judge_each(CheckName.ENVIRONMENT_DRIFT, snapshot, judge)


def drift_gaps(
    instance: Instance,
    claim: Claim,
    placement: Placement,
    snapshot: Snapshot,
    non_production_networks: list[tuple[Network, str]] | None,
    group_users: Mapping[str, list[str]] | None,
) -> tuple[list[Gap], list[str]]:
    gaps: list[Gap] = []
    not_checked: list[str] = []
    env = claim.environment
    tag = f"{claim.key}={claim.value}" if claim.key else "no Environment tag"
    if placement.zone is Zone.PRODUCTION and env is Environment.NON_PRODUCTION:
        gaps.append(
            Gap(
                "non-production-in-production",
                Severity.HIGH,
                "lab VM in production" if (claim.value or "").lower() == "lab" else f"{claim.value} VM in production",
                f"{tag} but it runs in production: {placement.reason}",
                "Move the workload to a non-production network, or promote it properly: re-tag it as "
                "production and bring it to the production baseline.",
                {"environment": claim.value, "network_reason": placement.reason},
            )
        )
    if placement.zone is Zone.PRODUCTION and env in (Environment.UNTAGGED, Environment.UNRECOGNISED):
        gaps.append(
            Gap(
                "unclassified-in-production",
                Severity.MEDIUM,
                "unclassified VM in production",
                f"{tag if claim.key else 'no Environment tag'} (not a known environment) in production: "
                f"{placement.reason}",
                "Tag the instance with its environment (a production one is then held to the production baseline, "
                "which launch-hygiene reports).",
                {"environment": claim.value, "network_reason": placement.reason},
            )
        )
    if env is not Environment.PRODUCTION:
        return gaps, not_checked
    if placement.zone is Zone.NON_PRODUCTION:
        gaps.append(
            Gap(
                "production-in-non-production",
                Severity.MEDIUM,
                "production workload outside production",
                f"{tag} but it runs outside production: {placement.reason}",
                "Move the workload into a production account, VPC or subnet (or fix the Environment tag).",
                {"network_reason": placement.reason},
            )
        )
    ingress, unknown = _ingress_gaps(instance, snapshot, non_production_networks, group_users)
    gaps.extend(ingress)
    not_checked.extend(unknown)
    return gaps, not_checked


def _ingress_gaps(
    instance: Instance,
    snapshot: Snapshot,
    networks: list[tuple[Network, str]] | None,
    group_users: Mapping[str, list[str]] | None,
) -> tuple[list[Gap], list[str]]:
    groups = instance.all_group_ids
    if not snapshot.security_groups_complete or any(g not in snapshot.security_groups for g in groups):
        return [], ["ingress from non-production not checked (security groups could not be read)"]
    paths: list[str] = []
    unknown: list[str] = []
    for group_id in groups:
        group = snapshot.security_groups[group_id]
        for rule in group.ingress:
            what = rule.describe()
            for cidr in (*rule.ipv4_ranges, *rule.ipv6_ranges):
                if networks is None:
                    continue
                for network, source in _overlaps(cidr, networks):
                    paths.append(f"{group_id} admits {cidr} ({what}), which covers {source} {network}")
            for ref in rule.referenced_group_ids:
                if group_users is None:
                    continue
                users = group_users.get(ref, [])
                if users:
                    shown = ", ".join(users[:5]) + (f" and {len(users) - 5} more" if len(users) > 5 else "")
                    paths.append(f"{group_id} admits group {ref} ({what}), used by non-production {shown}")
    if networks is None:
        unknown.append("ingress from non-production VPCs not checked (VPCs could not be read)")
    if group_users is None:
        unknown.append("ingress from groups of non-production instances not checked (group members could not be read)")
    if not paths:
        return [], unknown
    return [
        Gap(
            "ingress-from-non-production",
            Severity.HIGH,
            "admits non-production networks",
            "admits traffic from non-production: " + "; ".join(sorted(set(paths))),
            "Remove the rules that trust non-production CIDRs or groups; production should not accept "
            "connections from lab networks.",
            {"paths": sorted(set(paths))},
        )
    ], unknown


def _non_production_networks(snapshot: Snapshot, settings: Settings) -> list[tuple[Network, str]] | None:
    out = [(ipaddress.ip_network(c, strict=False), "NON_PRODUCTION_CIDRS") for c in settings.non_production_cidrs]
    if settings.non_production_vpcs:
        if snapshot.vpcs is None:
            return None
        for vpc_id in settings.non_production_vpcs:
            vpc = snapshot.vpcs.get(vpc_id)
            for cidr in vpc.cidrs if vpc else ():
                out.append((ipaddress.ip_network(cidr, strict=False), f"non-production VPC {vpc_id}"))
    return out


def _non_production_group_users(snapshot: Snapshot, settings: Settings) -> dict[str, list[str]] | None:
    if snapshot.group_neighbours is None:
        return None
    users: dict[str, list[str]] = {}
    everyone: dict[str, Instance] = {**snapshot.group_neighbours, **{i.id: i for i in snapshot.instances}}
    for instance in everyone.values():
        if instance.state in GONE_STATES:
            continue
        if claim_of(instance, settings).environment is not Environment.NON_PRODUCTION:
            continue
        for group_id in instance.all_group_ids:
            users.setdefault(group_id, []).append(instance.id)
    return {g: sorted(ids) for g, ids in users.items()}


def _overlaps(cidr: str, networks: Iterable[tuple[Network, str]]) -> list[tuple[Network, str]]:
    try:
        rule = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return []
    if rule.prefixlen == 0:
        return []
    return [(n, s) for n, s in networks if n.version == rule.version and n.overlaps(rule)]


_HEADLINE_ORDER = (
    "non-production-in-production",
    "unclassified-in-production",
    "production-in-non-production",
    "ingress-from-non-production",
)


def _headline(gaps: list[Gap]) -> str:
    """The title leads with the worst gap (placement stories first among equals); the others follow it."""
    return min(gaps, key=lambda g: (-g.severity.rank, _HEADLINE_ORDER.index(g.rule))).label
