"""Who did it, in the plan: the triggering change's actor on every finding it raised, one step more
severity for an unusual change, and the launcher's tag on new instances. Pure.

Unusual change: a change that makes an instance reachable from the internet (a public-exposure
finding raised by one of REACHABILITY_CALLS), made by the account's root user or from the AWS
console without MFA, is raised one severity step (never past CRITICAL), and says why. The raise
stays with the finding while it is open: a later sweep (which has no actor) or an unrelated event
finds the reason in the prior finding (ProductFields ec2-warden/EscalatedBecause) and raises it
again, so the finding does not drop back and forth. ESCALATE_UNUSUAL_ACTOR=off turns it all off."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from chalicelib.model import Action, ActionKind, CheckName, Finding, PriorFinding, Severity, Snapshot
from chalicelib.rules import tags
from chalicelib.rules.actor import Actor
from chalicelib.settings import Settings

LAUNCHED_BY_TAG = tags.LAUNCHED_BY
TAG_VALUE_LIMIT = 256  # EC2: a tag value is at most 256 Unicode characters
ESCALATION_REASON_LIMIT = 256

# Calls that can make an instance reachable from the internet: open a rule, give an address,
# change an instance's or an interface's groups, launch.
REACHABILITY_CALLS = frozenset(
    {
        "RunInstances",
        "AuthorizeSecurityGroupIngress",
        "ModifySecurityGroupRules",
        "AssociateAddress",
        "ModifyInstanceAttribute",
        "ModifyNetworkInterfaceAttribute",
    }
)
ROOT_REASON = "the change that made it reachable was made by the account's root user"
CONSOLE_REASON = "the change that made it reachable was made in the AWS console without MFA"


def unusual_reason(actor: Actor | None) -> str | None:
    """Why a reachability change by this actor is unusual; None when it is not."""
    if actor is None or actor.api not in REACHABILITY_CALLS:
        return None
    if actor.is_root:
        return ROOT_REASON
    if actor.console_without_mfa:
        return CONSOLE_REASON
    return None


def attribute_findings(findings: Iterable[Finding], snapshot: Snapshot, settings: Settings) -> list[Finding]:
    """Each finding with the snapshot's actor, raised one step when the change was unusual (or when
    its open finding was raised for that reason and nothing has fixed it since)."""
    actor = snapshot.actor
    prior: Mapping[str, PriorFinding] = snapshot.prior_findings or {}
    reason = unusual_reason(actor) if settings.escalate_unusual_actor else None
    out = []
    for finding in findings:
        if actor is not None:
            finding = replace(finding, actor=actor)
        if finding.check is CheckName.PUBLIC_EXPOSURE and settings.escalate_unusual_actor:
            old = prior.get(finding.id)
            because = reason or (old.escalated_because if old is not None else "")
            if because:
                finding = escalate(finding, because)
        out.append(finding)
    return out


def escalate(finding: Finding, because: str) -> Finding:
    """One severity step up, at most CRITICAL, saying why in the title, description and details.
    A finding already CRITICAL is left as it is: there is no step left to raise."""
    if finding.severity is Severity.CRITICAL:
        return finding
    ranks = list(Severity)
    raised = ranks[min(finding.severity.rank + 1, len(ranks) - 1)]
    because = because[:ESCALATION_REASON_LIMIT]
    title = finding.title
    old_word = f"{finding.severity.value.title()}:"
    if title.startswith(old_word):  # public-exposure titles lead with their severity
        title = f"{raised.value.title()}:{title[len(old_word) :]}"
    description = f"Raised from {finding.severity.value} to {raised.value}: {because}. {finding.description}"
    return replace(finding, severity=raised, title=title, description=description, escalated_because=because)


def plan_launch_attribution(snapshot: Snapshot, settings: Settings) -> list[Action]:
    """warden:launched-by on the instances a RunInstances launched, naming its principal's ARN.

    Opt-in (TAG_LAUNCHED_BY=on) and carried out in enforce mode only (model.ACTION_MODES). An
    instance that already carries the same value is left alone, so a replayed event adds no call."""
    actor = snapshot.actor
    if not settings.tag_launched_by or actor is None or actor.api != "RunInstances" or not actor.principal:
        return []
    value = launched_by_value(actor)
    ids = tuple(sorted(i.id for i in snapshot.instances if i.tags.get(LAUNCHED_BY_TAG) != value))
    if not ids:
        return []
    return [
        Action(
            kind=ActionKind.TAG_LAUNCHED_BY,
            resource_ids=ids,
            reason=f"tag {len(ids)} launched instance(s) {LAUNCHED_BY_TAG}={value}",
            params={"tags": {LAUNCHED_BY_TAG: value}},
        )
    ]


def launched_by_value(actor: Actor) -> str:
    return actor.principal[:TAG_VALUE_LIMIT]
