"""launch-hygiene: what every instance should have had from the moment it was launched. It owns
every configuration gap of an instance; no other check reports one.

Gaps and their severity (the finding takes the worst):
- IMDSv1 allowed (HttpTokens optional): HIGH with an instance profile attached (an SSRF reads the
  role's credentials), else MEDIUM.
- An unencrypted EBS volume attached: MEDIUM (data at rest, snapshots and copies in the clear).
- The AMI no longer exists (deregistered, or no longer shared): MEDIUM (the instance cannot be
  rebuilt from, or traced to, a known image).
- The AMI is older than AMI_MAX_AGE_DAYS: LOW (a stale base; patching is the patch check's job).
- Required tags missing, or an Environment value neither list knows: LOW (ownership and the
  environment map depend on them).

In production (rules/environments.py: the instance claims production or runs in a production
network) the same gaps are the production baseline: IMDSv1 and unencrypted volumes are HIGH, every
other gap one step higher, and a public address without `warden:public-ok` is a HIGH gap too. The
title and details say "production baseline". The environment raises the severity; it never adds a
second finding (environment-drift reports only placement and separation).

An instance in a production network whose environment is missing or unknown is environment-drift's
story ("unclassified VM in production") while that check runs: its Environment key is left out here.

Runs on every instance that still exists, stopped ones included: a stopped instance keeps its
volumes, tags and metadata options, and starts with them."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from chalicelib.checks.gaps import Gap, gaps_finding
from chalicelib.checks.verdicts import NOT_EVALUATED, PASSED, Skip, Verdict, judge_each
from chalicelib.model import CheckName, CheckResult, Instance, Severity, Snapshot
from chalicelib.rules.environments import (
    Environment,
    Zone,
    claim_of,
    is_environment_key,
    known_environments,
    placement_of,
    production_reason,
)
from chalicelib.rules.tags import PUBLIC_OK, is_public_ok
from chalicelib.settings import Settings

GONE_STATES = frozenset({"shutting-down", "terminated"})

IMDS_TEXT = "IMDSv1 is allowed (HttpTokens optional)"  # one string for every instance (bench/: memory)
IMDS_REMEDIATION = (
    "Require IMDSv2: aws ec2 modify-instance-metadata-options --http-tokens required --http-endpoint enabled "
    "(and set it in launch templates and as the account default)."
)
VOLUME_REMEDIATION = (
    "Replace unencrypted volumes with encrypted copies (snapshot, copy-snapshot --encrypted, create and swap), "
    "and turn on EBS encryption by default in every region."
)


PRODUCTION_BASELINE = "production baseline"
PUBLIC_ADDRESS_REMEDIATION = (
    "Remove the public address (a private subnet behind a load balancer or NAT), or, if the instance is "
    f"meant to be reachable, tag it {PUBLIC_OK} so the choice is on record."
)
# In production every gap counts one step more; IMDSv1 and unencrypted volumes are HIGH outright.
_PRODUCTION_SEVERITY = {
    Severity.LOW: Severity.MEDIUM,
    Severity.MEDIUM: Severity.HIGH,
    Severity.HIGH: Severity.HIGH,
    Severity.CRITICAL: Severity.CRITICAL,
}


def detect_launch_hygiene(snapshot: Snapshot, settings: Settings, now: datetime) -> CheckResult:
    def judge(instance: Instance) -> Verdict:
        if instance.state in GONE_STATES:
            return Skip(f"gone ({instance.state})", passed=True)
        production = production_reason(instance, settings)
        gaps, not_checked = hygiene_gaps(instance, snapshot, settings, now, production=production)
        if not gaps:
            return NOT_EVALUATED if not_checked else PASSED
        if production is None:
            return gaps_finding(
                CheckName.LAUNCH_HYGIENE, instance, gaps, headline="launch hygiene gaps", not_checked=not_checked
            )
        return gaps_finding(
            CheckName.LAUNCH_HYGIENE,
            instance,
            gaps,
            headline=f"below the {PRODUCTION_BASELINE}",
            lead=f"Below the {PRODUCTION_BASELINE} ({production}): ",
            not_checked=not_checked,
            extra={"baseline": PRODUCTION_BASELINE, "production": True, "production_reason": production},
        )

    return judge_each(CheckName.LAUNCH_HYGIENE, snapshot, judge)  # gone from the scope: nothing left to fix


def hygiene_gaps(
    instance: Instance, snapshot: Snapshot, settings: Settings, now: datetime, *, production: str | None = None
) -> tuple[list[Gap], list[str]]:
    """The instance's gaps; `production` (why it is in production, or None) raises their severity."""
    gaps, not_checked = _plain_gaps(instance, snapshot, settings, now)
    if production is None:
        return gaps, not_checked
    raised = [_in_production(g) for g in gaps]
    public = public_address_gap(instance)
    if public is not None:
        raised.append(public)
    return raised, not_checked


def _in_production(gap: Gap) -> Gap:
    if gap.rule in ("imdsv1-allowed", "unencrypted-volume"):
        return replace(gap, severity=Severity.HIGH)
    return replace(gap, severity=_PRODUCTION_SEVERITY.get(gap.severity, gap.severity))


def public_address_gap(instance: Instance) -> Gap | None:
    """A production instance with a public address that nobody declared public (warden:public-ok).
    Whether the internet can reach it through its groups is public-exposure's finding, not this one."""
    addresses = [*instance.public_ipv4_addresses, *_global_ipv6(instance.ipv6_addresses)]
    if not addresses or is_public_ok(instance.tags):
        return None
    return Gap(
        rule="public-address",
        severity=Severity.HIGH,
        label="public address",
        text=f"public address {', '.join(addresses)} without the {PUBLIC_OK} tag",
        remediation=PUBLIC_ADDRESS_REMEDIATION,
        details={"public_addresses": addresses},
    )


def _global_ipv6(addresses: Iterable[str]) -> list[str]:
    out = []
    for address in addresses:
        try:
            ip = ipaddress.IPv6Address(address)
        except ValueError:
            continue
        if ip.is_global:
            out.append(address)
    return out


def _plain_gaps(
    instance: Instance, snapshot: Snapshot, settings: Settings, now: datetime
) -> tuple[list[Gap], list[str]]:
    gaps: list[Gap] = []
    not_checked: list[str] = []
    gaps.extend(_tag_gaps(instance, settings))
    imds = imds_gap(instance)
    if imds is not None:
        gaps.append(imds)
    elif instance.metadata_http_tokens is None:
        not_checked.append("instance metadata options not checked (not reported)")
    volume_gap, volume_unknown = unencrypted_volume_gap(instance, snapshot, Severity.MEDIUM)
    if volume_gap is not None:
        gaps.append(volume_gap)
    if volume_unknown:
        not_checked.append(volume_unknown)
    ami_gap, ami_unknown = _ami_gap(instance, snapshot, settings, now)
    if ami_gap is not None:
        gaps.append(ami_gap)
    if ami_unknown:
        not_checked.append(ami_unknown)
    return gaps, not_checked


def imds_gap(instance: Instance, severity: Severity | None = None) -> Gap | None:
    if instance.metadata_http_tokens != "optional":
        return None
    with_role = instance.iam_instance_profile_arn is not None
    if severity is None:
        severity = Severity.HIGH if with_role else Severity.MEDIUM
    role = " with an instance profile attached: its role credentials answer a token-less request" if with_role else ""
    return Gap(
        rule="imdsv1-allowed",
        severity=severity,
        label="IMDSv1 allowed",
        text=IMDS_TEXT + role,
        remediation=IMDS_REMEDIATION,
        details={"http_tokens": "optional", "instance_profile": instance.iam_instance_profile_arn},
    )


def unencrypted_volume_gap(instance: Instance, snapshot: Snapshot, severity: Severity) -> tuple[Gap | None, str]:
    """(the gap or None, what could not be checked or "")."""
    if snapshot.volumes is None:
        return None, "EBS encryption not checked (volumes could not be read)"
    if not instance.volume_ids:
        if instance.state == "pending":
            # A launching instance lists its volumes only once they attach; judge it at the next look.
            return None, "EBS encryption not checked (volumes not attached yet)"
        return None, ""
    unknown = [v for v in instance.volume_ids if v not in snapshot.volumes]
    plain = [v for v in instance.volume_ids if v in snapshot.volumes and not snapshot.volumes[v].encrypted]
    gap = None
    if plain:
        gap = Gap(
            rule="unencrypted-volume",
            severity=severity,
            label="unencrypted EBS volume" if len(plain) == 1 else f"{len(plain)} unencrypted EBS volumes",
            text=f"unencrypted EBS volume(s) attached: {', '.join(plain)}",
            remediation=VOLUME_REMEDIATION,
            details={"volumes": plain},
        )
    return gap, (f"EBS encryption of {', '.join(unknown)} not checked (not found)" if unknown else "")


def _ami_gap(instance: Instance, snapshot: Snapshot, settings: Settings, now: datetime) -> tuple[Gap | None, str]:
    if not instance.image_id:
        return None, "AMI age not checked (no image id reported)"
    if snapshot.images is None:
        return None, "AMI age not checked (images could not be read)"
    image = snapshot.images.get(instance.image_id)
    if image is None:
        return Gap(
            rule="ami-gone",
            severity=Severity.MEDIUM,
            label="AMI no longer exists",
            text=f"launched from {instance.image_id}, which no longer exists (deregistered or no longer shared)",
            remediation="Rebuild the instance from a current, maintained AMI (a golden image pipeline).",
            details={"image_id": instance.image_id},
        ), ""
    if image.creation_date is None:
        return None, f"AMI age not checked ({image.id} reports no creation date)"
    age_days = (now - image.creation_date).days
    if age_days <= settings.ami_max_age_days:
        return None, ""
    name = f" ({image.name})" if image.name else ""
    return Gap(
        rule="ami-too-old",
        severity=Severity.LOW,
        label=f"AMI {age_days} days old",
        text=f"launched from {image.id}{name}, created {image.creation_date.date().isoformat()}: {age_days} days old "
        f"(AMI_MAX_AGE_DAYS is {settings.ami_max_age_days})",
        remediation="Relaunch from a current AMI; keep base images younger than AMI_MAX_AGE_DAYS.",
        details={
            "image_id": image.id,
            "image_created": image.creation_date.isoformat(),
            "age_days": age_days,
        },
    ), ""


def _leaves_environment_to_drift(instance: Instance, settings: Settings) -> bool:
    """No or an unknown environment inside a production network: environment-drift's finding
    ("unclassified VM in production") while it runs, so it is not reported twice."""
    if CheckName.ENVIRONMENT_DRIFT.value not in settings.checks:
        return False
    if claim_of(instance, settings).environment not in (Environment.UNTAGGED, Environment.UNRECOGNISED):
        return False
    return placement_of(instance, settings).zone is Zone.PRODUCTION


def _tag_gaps(instance: Instance, settings: Settings) -> list[Gap]:
    gaps: list[Gap] = []
    missing: list[str] = []
    hints: list[str] = []
    to_drift = _leaves_environment_to_drift(instance, settings)
    for key in settings.required_tags:
        if to_drift and is_environment_key(key, settings):
            continue
        if instance.tags.get(key, "").strip():
            continue
        missing.append(key)
        near = [k for k in instance.tags if k.lower() == key.lower() and k != key and instance.tags[k].strip()]
        if near:
            hints.append(f"{key} (found {near[0]!r}; tag keys are case-sensitive)")
    if missing:
        shown = ", ".join(missing)
        hint = f"; {'; '.join(hints)}" if hints else ""
        gaps.append(
            Gap(
                rule="required-tags-missing",
                severity=Severity.LOW,
                label=f"missing tag{'s' if len(missing) > 1 else ''} {shown}",
                text=f"required tag(s) missing: {shown}{hint}",
                remediation="Tag the instance with every REQUIRED_TAGS key, and enforce it with tag policies.",
                details={"missing_tags": missing},
            )
        )
    claim = claim_of(instance, settings)
    if claim.environment is Environment.UNRECOGNISED and not to_drift:
        known = ", ".join(known_environments(settings))
        gaps.append(
            Gap(
                rule="unknown-environment",
                severity=Severity.LOW,
                label=f"unknown environment {claim.value!r}",
                text=f"{claim.key}={claim.value!r} is neither a production nor a non-production environment ({known})",
                remediation="Use one of the configured environment values, or add this one to "
                "PRODUCTION_ENVIRONMENTS or NON_PRODUCTION_ENVIRONMENTS.",
                details={"environment": claim.value},
            )
        )
    return gaps
