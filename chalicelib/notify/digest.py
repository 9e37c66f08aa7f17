"""The sweep digest: one Slack message per sweep that has something to say. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.model import ActionOutcome, Finding, Mode, ReadError, Resolution, Severity
from chalicelib.notify.blocks import Block, context, escape, header, link, listing, listing_blocks, message, section
from chalicelib.notify.facts import Deadline, securityhub_findings_url, utc_text
from chalicelib.notify.messages import FindingNotice, finding_under_instance, instance_line
from chalicelib.rules.cost import CostTotals, cost_lines

MAX_LISTED = 15  # lines per list: a digest is read in a minute, the rest is in Security Hub


@dataclass(frozen=True)
class SweepDigest:
    account: str
    region: str
    mode: Mode
    at: datetime
    instances_scanned: int
    open_findings: tuple[Finding, ...] = ()
    new: tuple[FindingNotice, ...] = ()  # new since the last sweep, or raised in severity
    resolved: tuple[Resolution, ...] = ()
    actions: tuple[ActionOutcome, ...] = ()  # what was done (Slack's own messages excluded)
    errors: tuple[ReadError, ...] = ()
    deadlines: tuple[Deadline, ...] = ()  # stops due in the next 24 hours
    cost: CostTotals | None = None  # estimated monthly cost of idle and warden-stopped instances
    names: Mapping[str, str] = field(default_factory=dict)  # instance id -> Name tag, for cost lines


def digest_message(d: SweepDigest) -> dict[str, Any]:
    blocks: list[Block] = [
        header(f":bar_chart: ec2-warden sweep: {d.account} {d.region}"),
        context([f"{d.mode.value} mode", utc_text(d.at), f"{d.instances_scanned} instance(s) scanned"]),
        section(counts_text(d.open_findings)),
    ]
    if d.new:
        lines = new_by_instance(d.new)
        title = f"*New since the last sweep ({len(d.new)})* · {len(lines)} instance(s)"
        blocks.extend(listing_blocks(title, lines, max_items=MAX_LISTED, max_blocks=5))
    if d.resolved:
        lines = resolved_by_instance(d.resolved)
        blocks.extend(listing_blocks(f"*Resolved ({len(d.resolved)})*", lines, max_items=MAX_LISTED))
    if d.actions:
        blocks.extend(listing_blocks("*Actions*", [action_line(a) for a in d.actions], max_items=MAX_LISTED))
    if d.deadlines:
        lines = [deadline_line(x) for x in d.deadlines]
        title = f"*Stops due in the next 24 hours ({len(d.deadlines)})*"
        blocks.extend(listing_blocks(title, lines, max_items=MAX_LISTED))
    if d.cost is not None and (d.cost.idle or d.cost.saved or d.cost.unpriced):
        lines, totals = cost_lines(d.cost, d.names, MAX_LISTED)
        title = "*Estimated cost* (on-demand list price; Savings Plans and reservations lower it)"
        blocks.extend(listing_blocks(title, [f"• {escape(x)}" for x in lines] + [f"*{escape(t)}*" for t in totals]))
    if d.errors:
        lines = [f"• {escape(e.where)}: {escape(e.message)}" for e in d.errors]
        blocks.extend(listing_blocks(f"*Errors ({len(d.errors)})*", lines, max_items=MAX_LISTED))
    hub = securityhub_findings_url(d.region)
    if hub is not None:
        blocks.append(context([link(hub, "All findings in Security Hub")]))
    summary = f"ec2-warden sweep {d.account} {d.region}: {len(d.open_findings)} open, {len(d.new)} new"
    summary += f", {len(d.resolved)} resolved, {len(d.errors)} error(s)"
    return message(summary, blocks)


def new_by_instance(notices: Sequence[FindingNotice]) -> list[str]:
    """One item per instance (its worst first): the instance once, its findings under it."""
    groups: dict[str, list[FindingNotice]] = {}
    for n in notices:
        groups.setdefault(n.finding.resource_id, []).append(n)
    ranked = sorted(
        groups.values(), key=lambda ns: (-max(n.finding.severity.rank for n in ns), ns[0].finding.resource_id)
    )
    items = []
    for ns in ranked:
        ns = sorted(ns, key=lambda n: (-n.finding.severity.rank, n.finding.check.value))
        items.append("\n".join([instance_line(ns[0]), *(finding_under_instance(n) for n in ns)]))
    return items


def resolved_by_instance(resolved: Sequence[Resolution]) -> list[str]:
    groups: dict[str, list[Resolution]] = {}
    for r in resolved:
        groups.setdefault(r.resource_id, []).append(r)
    items = []
    for resource_id in sorted(groups):
        under = [
            f"      ◦ `{escape(r.check)}`: {escape(r.reason)}"
            for r in sorted(groups[resource_id], key=lambda r: r.check)
        ]
        items.append("\n".join([f"• `{escape(resource_id)}`", *under]))
    return items


def counts_text(findings: Sequence[Finding]) -> str:
    if not findings:
        return "*Open findings: 0* :white_check_mark:"
    by_check: dict[str, Counter[Severity]] = {}
    for f in findings:
        by_check.setdefault(f.check.value, Counter())[f.severity] += 1
    lines = []
    for check in sorted(by_check):
        counts = by_check[check]
        parts = [f"{counts[s]} {s.value}" for s in sorted(counts, key=lambda s: -s.rank)]
        lines.append(f"• `{escape(check)}`: " + " · ".join(parts))
    return listing(f"*Open findings: {len(findings)}*", lines)


def action_line(outcome: ActionOutcome) -> str:
    count = len(outcome.resource_ids)
    if outcome.error:
        state, why = "FAILED", outcome.error
    elif outcome.done:
        state, why = "done", outcome.reason
    else:
        state, why = "not done", outcome.reason
    tail = f": {escape(why)}" if why else ""
    return f"• `{outcome.kind.value}` {count} {state}{tail}"


def deadline_line(d: Deadline) -> str:
    named = f" ({escape(d.name)})" if d.name else ""
    owner = f" · owner {escape(d.owner)}" if d.owner else " · no Owner tag"
    return f"• `{d.instance_id}`{named} stops after {utc_text(d.stop_after)}{owner}"
