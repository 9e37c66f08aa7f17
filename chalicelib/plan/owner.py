"""Which instance owners hear from ec2-warden in this run, and about which instances. Pure.

One message per owner per run, and only when something changed for them:
- a finding on one of their instances is new, or its severity went up;
- a stop deadline came within 24 hours (sweeps; at most twice, as the digest reminds it);
- ec2-warden marks the instance idle (a deadline is set) or stops it, in a mode that does so;
- a finding on one of their instances was resolved.

Everything else is quiet: Security Hub remembers what was announced (prior findings), the idle
tags remember deadlines, so a second identical sweep plans no owner message. Findings whose prior
state is unknown (Security Hub not read) are not news to an owner: better one message late than
every owner messaged on every run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from chalicelib.model import (
    ACTION_MODES,
    Action,
    ActionKind,
    Finding,
    FindingStatus,
    Instance,
    Plan,
    Resolution,
    Snapshot,
)
from chalicelib.notify.compose import DEADLINE_HORIZON
from chalicelib.notify.facts import reminders_due, stop_deadlines
from chalicelib.rules import tags
from chalicelib.settings import OwnerNotify, Settings

MESSAGE_OWNER = "owner"  # Action.message of ActionKind.NOTIFY_OWNER
NO_OWNER = ""  # the owner key of instances without an owner tag


def owner_value(instance: Instance | None, tag: str) -> str:
    """The owner tag's value (OWNER_TAG; its key matched without regard to case), trimmed."""
    if instance is None:
        return NO_OWNER
    value = instance.tags.get(tag)
    if value is None:
        value = next((v for k, v in instance.tags.items() if k.lower() == tag.lower()), None)
    return (value or "").strip()


def with_owner_messages(
    plan: Plan,
    snapshot: Snapshot,
    settings: Settings,
    now: datetime,
    extra: Mapping[str, Sequence[str]] | None = None,
) -> Plan:
    """The plan with its NOTIFY_OWNER actions added (none when OWNER_NOTIFY=off). `extra`: more
    changes by instance id (an exception's end coming near)."""
    actions = plan_owner_messages(plan, snapshot, settings, now, extra)
    return replace(plan, actions=(*plan.actions, *actions)) if actions else plan


def plan_owner_messages(
    plan: Plan,
    snapshot: Snapshot,
    settings: Settings,
    now: datetime,
    extra: Mapping[str, Sequence[str]] | None = None,
) -> list[Action]:
    if settings.owner_notify is OwnerNotify.OFF:
        return []
    by_id = {i.id: i for i in snapshot.instances}
    changes: dict[str, list[str]] = {}

    def note(instance_id: str, what: str) -> None:
        if instance_id in by_id:
            changes.setdefault(instance_id, []).append(what)

    prior = snapshot.prior_findings or {}
    for finding in plan.findings:
        status = plan.statuses.get(finding.id, FindingStatus.UNKNOWN)
        if status is FindingStatus.NEW:
            note(finding.resource_id, f"new {finding.severity.value} {finding.check.value}")
        elif status is FindingStatus.CHANGED:
            old = prior.get(finding.id)
            if old is not None and finding.severity.rank > old.severity.rank:
                note(
                    finding.resource_id,
                    f"{finding.check.value} raised from {old.severity.value} to {finding.severity.value}",
                )
    for resolution in plan.resolutions:
        note(resolution.resource_id, f"{resolution.check} resolved: {resolution.reason}")
    for action in plan.actions:
        if settings.mode not in ACTION_MODES[action.kind]:
            continue  # printed, not done: nothing changed for the owner
        if action.kind is ActionKind.MARK_IDLE:
            stop_after = action.params.get("tags", {}).get(tags.STOP_AFTER, "")
            for instance_id in action.resource_ids:
                note(instance_id, f"marked idle: will be stopped after {stop_after}")
        elif action.kind is ActionKind.STOP_IDLE:
            for instance_id in action.resource_ids:
                note(instance_id, "stopped by ec2-warden (idle past its deadline)")
    if snapshot.is_sweep:
        due = stop_deadlines(snapshot.instances, now, DEADLINE_HORIZON)
        for deadline in reminders_due(due, now, DEADLINE_HORIZON, settings.sweep_interval):
            note(deadline.instance_id, "stop deadline within 24 hours")

    for instance_id, notes in (extra or {}).items():
        for what in notes:
            note(instance_id, what)

    by_owner: dict[str, list[str]] = {}
    for instance_id in sorted(changes):
        by_owner.setdefault(_owner_key(by_id[instance_id], settings.owner_tag), []).append(instance_id)
    return [
        _owner_action(owner, ids, changes, plan.findings, plan.resolutions) for owner, ids in sorted(by_owner.items())
    ]


def _owner_key(instance: Instance, tag: str) -> str:
    value = owner_value(instance, tag)
    return value.lower() if "@" in value else value  # one person, however their address is cased


def _owner_action(
    owner: str,
    instance_ids: Sequence[str],
    changes: Mapping[str, list[str]],
    findings: Sequence[Finding],
    resolutions: Sequence[Resolution],
) -> Action:
    ids = set(instance_ids)
    who = owner or "(no owner tag)"
    return Action(
        kind=ActionKind.NOTIFY_OWNER,
        resource_ids=tuple(instance_ids),
        reason=f"tell {who} about {len(instance_ids)} instance(s)",
        # Every open finding of these instances: the message lists each instance once, all of it.
        findings=tuple(f for f in findings if f.resource_id in ids),
        resolutions=tuple(r for r in resolutions if r.resource_id in ids),
        params={"owner": owner, "changes": {i: list(dict.fromkeys(changes[i])) for i in instance_ids}},
        message=MESSAGE_OWNER,
    )
