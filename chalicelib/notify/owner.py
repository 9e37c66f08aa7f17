"""The message an instance owner gets: each of their instances once, with its findings, what
changed, who changed it (when known), its stop deadline and how to postpone or protect it, what
it costs, and links. Pure: Slack Block Kit for a direct message (or the security channel when the
owner is unknown) and plain text for email.

`changed_by` is a slot for actor attribution: a finding whose details carry an "actor" (a name
or ARN string, or a mapping with one) fills it; nothing here depends on it being there."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.model import (
    Action,
    ActionOutcome,
    Finding,
    FindingStatus,
    Instance,
    InstanceCost,
    Mode,
    Plan,
    Resolution,
    Snapshot,
)
from chalicelib.notify.blocks import Block, context, divider, escape, header, listing, message, section
from chalicelib.notify.compose import steps_for
from chalicelib.notify.facts import SEVERITY_EMOJI, ec2_console_url, stop_after, utc_text
from chalicelib.notify.messages import finding_links
from chalicelib.rules.cost import BASIS, money
from chalicelib.rules.idle import PROTECT, STOP_AFTER, stopped_by_warden

MAX_INSTANCES_SHOWN = 20  # per message; the rest are counted (Slack's 50-block limit)


@dataclass(frozen=True)
class OwnerInstance:
    instance_id: str
    name: str | None
    region: str
    changes: tuple[str, ...]
    findings: tuple[Finding, ...] = ()
    news: frozenset[str] = frozenset()  # ids of findings new or worse in this run
    resolved: tuple[Resolution, ...] = ()
    changed_by: str | None = None  # who changed it, when actor attribution knows
    stop_after: datetime | None = None
    stopped_by_warden: bool = False
    protected: bool = False
    cost: InstanceCost | None = None
    steps: tuple[str, ...] = ()  # what ec2-warden did, from this run's outcomes


@dataclass(frozen=True)
class OwnerNotice:
    owner: str  # the owner tag's value; "" when the instances have none
    account: str
    instances: tuple[OwnerInstance, ...]
    mode: Mode


def actor_of(findings: Sequence[Finding]) -> str | None:
    for finding in findings:
        actor = finding.details.get("actor")
        if isinstance(actor, Mapping):
            actor = next((actor[k] for k in ("name", "arn", "principal") if actor.get(k)), None)
        if isinstance(actor, str) and actor.strip():
            return actor.strip()
    return None


def owner_notice(
    action: Action, plan: Plan, snapshot: Snapshot, outcomes: Sequence[ActionOutcome], mode: Mode
) -> OwnerNotice:
    by_id = {i.id: i for i in snapshot.instances}
    changes: Mapping[str, Sequence[str]] = action.params.get("changes", {})
    news = frozenset(
        f.id
        for f in action.findings
        if plan.statuses.get(f.id) in (FindingStatus.NEW, FindingStatus.CHANGED)
        and any(c.startswith(("new ", f"{f.check.value} raised")) for c in changes.get(f.resource_id, ()))
    )
    instances = []
    for instance_id in action.resource_ids:
        instance: Instance | None = by_id.get(instance_id)
        findings = tuple(f for f in action.findings if f.resource_id == instance_id)
        steps: list[str] = []
        for f in findings:
            steps.extend(s for s in steps_for(f, instance, outcomes) if s not in steps and "Security Hub" not in s)
        instances.append(
            OwnerInstance(
                instance_id=instance_id,
                name=instance.name if instance else None,
                region=instance.region if instance else snapshot.region,
                changes=tuple(changes.get(instance_id, ())),
                findings=findings,
                news=news,
                resolved=tuple(r for r in action.resolutions if r.resource_id == instance_id),
                changed_by=actor_of(findings),
                stop_after=stop_after(instance) if instance else None,
                stopped_by_warden=bool(instance and stopped_by_warden(instance)),
                protected=bool(instance and PROTECT in instance.tags),
                cost=(snapshot.costs or {}).get(instance_id),
                steps=tuple(steps),
            )
        )
    return OwnerNotice(str(action.params.get("owner", "")), snapshot.account, tuple(instances), mode)


# --- the words ---------------------------------------------------------------------------------


def cost_line(item: OwnerInstance) -> str | None:
    cost = item.cost
    if cost is None:
        return None
    if item.stopped_by_warden or cost.state == "stopped":
        paid = cost.still_paid_when_stopped_cents
        if cost.compute_cents is None or paid is None:
            return "Cost: not estimated (no price for " + ", ".join(cost.unpriced) + ")."
        return (
            f"Stopped: saves about {money(cost.compute_cents)}/month; still paid about {money(paid)}/month "
            "(EBS volumes and Elastic IPs) until it is terminated or they are deleted."
        )
    if cost.monthly_cents is None:
        return "Cost: not estimated (no price for " + ", ".join(cost.unpriced) + ")."
    return f"Costs about {money(cost.monthly_cents)}/month."


def what_you_can_do(item: OwnerInstance) -> str:
    if item.stopped_by_warden:
        return "Start it again if it is still needed (ec2-warden then clears its marks), or terminate it."
    if item.stop_after is not None:
        return (
            f"Stops after {utc_text(item.stop_after)}. To postpone, set the tag {STOP_AFTER} to a later time "
            f"(ISO 8601 UTC); to keep it running for good, tag it {PROTECT} (any value: say why)."
        )
    if item.protected:
        return f"Tagged {PROTECT}: ec2-warden never stops it."
    return "Fix the findings below, or tell the security team why they should stay."


def instance_lines(item: OwnerInstance) -> list[str]:
    """The instance's paragraph as escaped mrkdwn lines (Slack); email strips the markup."""
    named = f" ({escape(item.name)})" if item.name else ""
    lines = [f"*`{escape(item.instance_id)}`*{named} · {escape(item.region)}"]
    if item.changes:
        lines.append("What changed: " + escape("; ".join(item.changes)))
    if item.changed_by:
        lines.append("Changed by: " + escape(item.changed_by))
    for f in item.findings:
        flag = " *new*" if f.id in item.news else ""
        lines.append(f"• {SEVERITY_EMOJI[f.severity]} {f.severity.value} `{f.check.value}`{flag}: {escape(f.title)}")
    for r in item.resolved:
        lines.append(f"• :white_check_mark: `{escape(r.check)}` resolved: {escape(r.reason)}")
    for step in item.steps:
        lines.append(f"• {escape(step)}")
    line = cost_line(item)
    if line:
        lines.append(escape(line))
    lines.append(escape(what_you_can_do(item)))
    links = [finding_links(f) for f in item.findings[:1]]
    if not links:
        url = ec2_console_url(item.region, item.instance_id)
        links = [f"<{url}|Instance in EC2 console>"] if url else []
    lines.extend(links)
    return lines


def owner_slack_message(notice: OwnerNotice, *, owner_unknown: str | None = None) -> dict[str, Any]:
    """A direct message to the owner, or (owner_unknown set: why) the security channel's copy."""
    count = len(notice.instances)
    who = notice.owner or "no owner tag"
    title = f"ec2-warden: {count} of your instance(s) need a look"
    if owner_unknown is not None:
        title = f"ec2-warden: owner unknown ({who}): {count} instance(s)"
    blocks: list[Block] = [header(title)]
    if owner_unknown is not None:
        blocks.append(section(f"*Owner unknown*: {escape(owner_unknown)}. Please find the owner of these instances."))
    for item in notice.instances[:MAX_INSTANCES_SHOWN]:
        blocks.append(section(listing("", instance_lines(item)).lstrip("\n")))
        blocks.append(divider())
    if count > MAX_INSTANCES_SHOWN:
        blocks.append(section(f"…and {count - MAX_INSTANCES_SHOWN} more instance(s): see Security Hub."))
    blocks.append(context([f"ec2-warden {notice.mode.value} mode · account {notice.account}", f"Costs: {BASIS}."]))
    fallback = f"{title}: " + ", ".join(i.instance_id for i in notice.instances[:10])
    return message(escape(fallback), blocks)


def owner_email(notice: OwnerNotice) -> tuple[str, str]:
    """(subject, plain-text body)."""
    count = len(notice.instances)
    subject = f"ec2-warden: {count} of your instance(s) in account {notice.account} need a look"
    paragraphs = []
    for item in notice.instances:
        lines = [_plain(line) for line in instance_lines(item)]
        paragraphs.append("\n".join(lines))
    body = "\n\n".join(
        [f"Hello {notice.owner},", *paragraphs, f"Costs: {BASIS}.", f"ec2-warden, {notice.mode.value} mode."]
    )
    return subject, body


def _plain(text: str) -> str:
    """Slack mrkdwn -> plain text: links as 'label: url', markup and entities removed."""
    text = re.sub(r"<([^|>]+)\|([^>]+)>", r"\2: \1", text)
    for mark in ("*", "`"):
        text = text.replace(mark, "")
    text = re.sub(r":[a-z_]+: ", "", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
