"""Which environment an instance claims (its Environment tag), which network it sits in, and so
whether it is production. The one definition: every check, the snapshot, the sprawl census and
Slack ask here.

The Environment tag is ENVIRONMENT_TAG; a key differing only in case counts too (`environment=prod`
is production everywhere; launch-hygiene still flags the key). Values are compared lowercased
against PRODUCTION_ENVIRONMENTS and NON_PRODUCTION_ENVIRONMENTS. An instance is *in production*
when it claims production or sits in a production account, VPC or subnet.

Pure: the settings' environment map in, a classification out."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.model import Instance
from chalicelib.rules.tags import tag_ignoring_case
from chalicelib.settings import Settings


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
    return tag_ignoring_case(instance.tags, settings.environment_tag)


def is_environment_key(key: str, settings: Settings) -> bool:
    """The tag key names the environment (ENVIRONMENT_TAG, whatever its case)."""
    return key.lower() == settings.environment_tag.lower()


def known_environments(settings: Settings) -> tuple[str, ...]:
    return (*settings.production_environments, *settings.non_production_environments)


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


def production_reason(instance: Instance, settings: Settings) -> str | None:
    """Why the instance is held to the production bar, or None when it is not in production."""
    claim = claim_of(instance, settings)
    if claim.environment is Environment.PRODUCTION:
        return f"{claim.key}={claim.value}"
    placement = placement_of(instance, settings)
    if placement.zone is Zone.PRODUCTION:
        return placement.reason
    return None


def is_production(instance: Instance, settings: Settings) -> bool:
    """In production: it claims a production environment, or it runs in a production network."""
    return production_reason(instance, settings) is not None


def environment_label(instance: Instance, settings: Settings) -> str | None:
    """The Environment tag's value as written (trimmed), for grouping; None when untagged."""
    return environment_label_of_tags(instance.tags, settings)


def environment_label_of_tags(tags: Mapping[str, str], settings: Settings) -> str | None:
    """As environment_label, for tags read back without their instance (a Security Hub resource)."""
    tag = tag_ignoring_case(tags, settings.environment_tag)
    return tag[1].strip() if tag else None
