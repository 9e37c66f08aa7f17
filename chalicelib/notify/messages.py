"""Immediate Slack messages: one per new finding, and one roll-up when an event finds too many. Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.model import Finding, FindingStatus, Instance, Mode, Severity
from chalicelib.notify.actor import actor_line, actor_section, callouts
from chalicelib.notify.blocks import context, escape, fields_section, header, link, listing_blocks, message, section
from chalicelib.notify.facts import SEVERITY_EMOJI, ec2_console_url, owner_of, securityhub_finding_url

MAX_WHY_LINES = 8
MAX_ROLLUP_LINES = 20


@dataclass(frozen=True)
class FindingNotice:
    """One finding as the channel should hear about it, with what ec2-warden did about it."""

    finding: Finding
    status: FindingStatus
    instance: Instance | None = None
    previous_severity: Severity | None = None
    # Plain sentences (escaped when shown): what ec2-warden did or will do, and when.
    steps: tuple[str, ...] = ()
    mode: Mode = Mode.NOTIFY
    # Why the instance is in production (rules/environments.py), None when it is not or not known.
    production: str | None = None


def finding_message(notice: FindingNotice) -> dict[str, Any]:
    f = notice.finding
    name = notice.instance.name if notice.instance else None
    owner = owner_of(notice.instance)
    emoji = SEVERITY_EMOJI[f.severity]
    named = f" ({name})" if name else ""
    blocks = [
        header(f"{emoji} {f.severity.value}: {f.check.value} on {f.resource_id}{named}"),
        section(f"*{escape(f.title)}*\n{status_line(notice)}"),
        *([actor_section(f.actor)] if f.actor is not None else []),
        fields_section(
            [
                ("Severity", f.severity.value),
                ("Check", f"`{f.check.value}`"),
                ("Instance", f"`{f.resource_id}`" + (f"\n{escape(name)}" if name else "")),
                ("Owner", escape(owner) if owner else "_no Owner tag_"),
                ("Account", f.account),
                ("Region", f.region),
                *([("Environment", f"production ({escape(notice.production)})")] if notice.production else []),
            ]
        ),
        *listing_blocks("*Why*", why_lines(f), max_items=MAX_WHY_LINES),
        *listing_blocks("*What ec2-warden did*", [f"• {escape(s)}" for s in notice.steps] or ["• nothing yet"]),
        context([finding_links(f), f"ec2-warden {notice.mode.value} mode"]),
    ]
    fallback = f"{emoji} {f.severity.value} {f.check.value} on {f.resource_id}{escape(named)}: {escape(f.title)}"
    if f.actor is not None:
        fallback += f" ({actor_line(f.actor)})"
    return message(fallback, blocks)


def rollup_message(notices: Sequence[FindingNotice], already_sent: int) -> dict[str, Any]:
    """The findings past the per-event message cap, listed in one message instead of one each."""
    worst = max((n.finding.severity for n in notices), key=lambda s: s.rank, default=Severity.INFORMATIONAL)
    lines = [rollup_line(n) for n in notices]
    title = f"*{len(notices)} more, after the {already_sent} sent one by one*"
    blocks = [
        header(f"{SEVERITY_EMOJI[worst]} {len(notices)} more finding(s) from the same event"),
        *listing_blocks(title, lines, max_items=MAX_ROLLUP_LINES, max_blocks=6),
        context([f"ec2-warden {notices[0].mode.value} mode" if notices else "ec2-warden"]),
    ]
    return message(f"{len(notices)} more ec2-warden finding(s) from the same event", blocks)


def instance_line(notice: FindingNotice) -> str:
    """The instance once: id, Name, Owner, and production when it is."""
    name = notice.instance.name if notice.instance else None
    owner = owner_of(notice.instance)
    named = f" ({escape(name)})" if name else ""
    who = f" · owner {escape(owner)}" if owner else ""
    prod = " · production" if notice.production else ""
    return f"• `{notice.finding.resource_id}`{named}{who}{prod}"


def finding_under_instance(notice: FindingNotice) -> str:
    f = notice.finding
    return f"      ◦ *{f.severity.value}* `{f.check.value}`: {escape(f.title)} · {finding_links(f)}"


def rollup_line(notice: FindingNotice) -> str:
    f = notice.finding
    name = notice.instance.name if notice.instance else None
    owner = owner_of(notice.instance)
    who = f" · owner {escape(owner)}" if owner else ""
    named = f" ({escape(name)})" if name else ""
    head = f"• *{f.severity.value}* `{f.check.value}` `{f.resource_id}`{named}{who}"
    if f.actor is not None:
        flags = "".join(f" {c.split(' ', 1)[0]}" for c in callouts(f.actor))  # the call-outs' emoji
        head += f" · {actor_line(f.actor)}{flags}"
    return f"{head}: {escape(f.title)} · {finding_links(f)}"


def status_line(notice: FindingNotice) -> str:
    if notice.status is FindingStatus.CHANGED and notice.previous_severity is not None:
        return f"Severity raised from {notice.previous_severity.value} to {notice.finding.severity.value}."
    if notice.status is FindingStatus.UNKNOWN:
        return "Possibly announced before: ec2-warden could not read its open findings from Security Hub this time."
    return "New finding."


def finding_links(f: Finding) -> str:
    """Console links, where the region's partition has a public console; else the finding id."""
    instance, finding = ec2_console_url(f.region, f.resource_id), securityhub_finding_url(f.region, f.id)
    if instance is None or finding is None:
        return f"Security Hub finding {escape(f.id)}"
    return f"{link(instance, 'Instance in EC2 console')} · {link(finding, 'Finding in Security Hub')}"


# --- why: one renderer per check that has structured details; the description otherwise ---------

WhyRenderer = Callable[[Finding], list[str]]


def why_lines(finding: Finding) -> list[str]:
    render = WHY_RENDERERS.get(finding.check.value)
    lines = render(finding) if render else []
    return lines or [escape(finding.description)]


def _why_public_exposure(finding: Finding) -> list[str]:
    lines = []
    for path in finding.details.get("paths", ()):
        if not isinstance(path, Mapping):
            continue
        group = escape(path.get("group_id", "?"))
        group_name = f" ({escape(path['group_name'])})" if path.get("group_name") else ""
        kind = str(path.get("address_kind", "")).replace("-", " ")
        lines.append(
            f"• {escape(path.get('severity', ''))}: `{escape(path.get('rule', '?'))}` open to "
            f"`{escape(path.get('cidr', '?'))}` through `{group}`{group_name}, reachable at "
            f"`{escape(path.get('address', '?'))}` ({escape(kind)})"
        )
    return lines


WHY_RENDERERS: dict[str, WhyRenderer] = {"public-exposure": _why_public_exposure}
