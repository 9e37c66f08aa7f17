"""Which environment an instance claims (its Environment tag) and which network it sits in.

Pure: the settings' environment map in, a classification out. The snapshot uses it to decide
what to read; launch-hygiene and environment-drift use it to judge."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .model import Instance
from .settings import Settings


class Environment(enum.StrEnum):
    PRODUCTION = "production"
    NON_PRODUCTION = "non-production"
    UNRECOGNISED = "unrecognised"  # tagged with a value neither list names
    UNTAGGED = "untagged"


class Zone(enum.StrEnum):
    PRODUCTION = "production"
    NON_PRODUCTION = "non-production"
    UNMAPPED = "unmapped"  # no production network is declared: nothing to compare with


@dataclass(frozen=True)
class Claim:
    environment: Environment
    value: str | None  # the tag value as written
    key: str | None  # the tag key as written (may differ in case from the setting)


@dataclass(frozen=True)
class Placement:
    zone: Zone
    reason: str


def environment_tag(instance: Instance, settings: Settings) -> tuple[str, str] | None:
    """(key, value) of the Environment tag. The exact key wins; else a key equal but for case, so that
    `environment=lab` cannot hide a lab VM from the drift check (launch-hygiene still flags the key)."""
    wanted = settings.environment_tag
    if instance.tags.get(wanted, "").strip():
        return wanted, instance.tags[wanted]
    for key in sorted(instance.tags):
        if key.lower() == wanted.lower() and instance.tags[key].strip():
            return key, instance.tags[key]
    return None


def claim_of(instance: Instance, settings: Settings) -> Claim:
    tag = environment_tag(instance, settings)
    if tag is None:
        return Claim(Environment.UNTAGGED, None, None)
    key, value = tag
    normal = value.strip().lower()
    if normal in {e.lower() for e in settings.production_environments}:
        return Claim(Environment.PRODUCTION, value, key)
    if normal in {e.lower() for e in settings.non_production_environments}:
        return Claim(Environment.NON_PRODUCTION, value, key)
    return Claim(Environment.UNRECOGNISED, value, key)


def production_map_declared(settings: Settings) -> bool:
    return bool(settings.production_accounts or settings.production_vpcs or settings.production_subnets)


def placement_of(instance: Instance, settings: Settings) -> Placement:
    """The most specific declaration wins: subnet, then VPC, then account.

    Once any production network is declared, a network outside all of them is non-production: the
    map says where production lives, so a production workload elsewhere has left it."""
    if instance.subnet_id and instance.subnet_id in settings.production_subnets:
        return Placement(Zone.PRODUCTION, f"subnet {instance.subnet_id} is in PRODUCTION_SUBNETS")
    if instance.vpc_id and instance.vpc_id in settings.non_production_vpcs:
        return Placement(Zone.NON_PRODUCTION, f"VPC {instance.vpc_id} is in NON_PRODUCTION_VPCS")
    if instance.vpc_id and instance.vpc_id in settings.production_vpcs:
        return Placement(Zone.PRODUCTION, f"VPC {instance.vpc_id} is in PRODUCTION_VPCS")
    if instance.account in settings.production_accounts:
        return Placement(Zone.PRODUCTION, f"account {instance.account} is in PRODUCTION_ACCOUNTS")
    if production_map_declared(settings):
        where = f"VPC {instance.vpc_id}" if instance.vpc_id else f"account {instance.account}"
        return Placement(Zone.NON_PRODUCTION, f"{where} is outside every declared production account, VPC and subnet")
    return Placement(Zone.UNMAPPED, "no production account, VPC or subnet is declared")
