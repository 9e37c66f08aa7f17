"""Small facts the messages show: owners, console links, stop deadlines. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from chalicelib.model import Instance, Severity
from chalicelib.rules import tags
from chalicelib.rules.partitions import console_host
from chalicelib.rules.timefmt import format_display, parse_iso

# Public tag names (rules/tags.py): the idle lifecycle writes the deadline; owners set protect.
STOP_AFTER_TAG = tags.STOP_AFTER
PROTECT_TAG = tags.PROTECT

SEVERITY_EMOJI = {
    Severity.CRITICAL: ":rotating_light:",
    Severity.HIGH: ":red_circle:",
    Severity.MEDIUM: ":large_orange_circle:",
    Severity.LOW: ":large_yellow_circle:",
    Severity.INFORMATIONAL: ":information_source:",
}


def owner_of(instance: Instance | None) -> str | None:
    if instance is None:
        return None
    return tags.owner_of(instance.tags)


def console_url(region: str, path: str) -> str | None:
    """A link into the AWS console of this region's partition; None where it has no public console."""
    host = console_host(region)
    return None if host is None else f"https://{region}.{host}/{path}"


def ec2_console_url(region: str, instance_id: str) -> str | None:
    return console_url(region, f"ec2/home?region={region}#InstanceDetails:instanceId={instance_id}")


def securityhub_finding_url(region: str, finding_id: str) -> str | None:
    # The console's search filter is itself URL-encoded inside the fragment, hence quote(quote(...)).
    search = quote(quote("\\operator\\:EQUALS\\:" + finding_id, safe=""), safe="")
    return console_url(region, f"securityhub/home?region={region}#/findings?search=Id%3D{search}")


def securityhub_findings_url(region: str) -> str | None:
    return console_url(region, f"securityhub/home?region={region}#/findings")


@dataclass(frozen=True)
class Deadline:
    instance_id: str
    name: str | None
    owner: str | None
    stop_after: datetime


def stop_after(instance: Instance) -> datetime | None:
    """The instance's stop deadline, if the idle lifecycle set one and no one protected it."""
    if tags.is_protected(instance.tags):
        return None
    return parse_iso(instance.tags.get(STOP_AFTER_TAG))


def stop_deadlines(instances: Iterable[Instance], now: datetime, within: timedelta) -> tuple[Deadline, ...]:
    """Running instances due to be stopped between now and now + within, soonest first."""
    due = []
    for instance in instances:
        when = stop_after(instance)
        if when is not None and instance.state == "running" and now <= when <= now + within:
            due.append(Deadline(instance.id, instance.name, owner_of(instance), when))
    return tuple(sorted(due, key=lambda d: (d.stop_after, d.instance_id)))


def reminders_due(
    deadlines: Iterable[Deadline], now: datetime, horizon: timedelta, interval: timedelta | None
) -> tuple[Deadline, ...]:
    """The deadlines worth a digest of their own in this sweep: those that came within `horizon`
    since the previous sweep (`interval` ago), and those the next sweep will be past (the last
    call). A deadline is otherwise reminded by the sweeps in between only when they post anyway,
    so an hourly sweep does not repeat it 24 times. No interval known (a cron schedule): every one."""
    if interval is None:
        return tuple(deadlines)
    return tuple(d for d in deadlines if d.stop_after > now + horizon - interval or d.stop_after <= now + interval)


def utc_text(when: datetime) -> str:
    return format_display(when)
