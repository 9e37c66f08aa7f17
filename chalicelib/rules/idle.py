"""The idle rules, shared by the idle check, the idle plan, the sprawl census and the stop adapter.

Pure: no boto3, no clock, no environment. What a day, an instance and a lifecycle mark mean lives
here once, so that the finding's words and the plan's actions can never disagree.

Lifecycle state lives in the instance's tags, where its owner sees it:

    warden:idle-since   when ec2-warden first marked the instance idle (ISO 8601 UTC)
    warden:stop-after   the deadline; an owner may move it later to postpone the stop
    warden:stopped-by   when ec2-warden stopped it (tells its stop from anyone else's)
    warden:protect      any value: never stopped (the finding still says it is idle)
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.model import DailyUsage, DayUsage, Instance
from chalicelib.rules.tags import IDLE_SINCE, LIFECYCLE_KEYS, MARK_KEYS, PROTECT, STOP_AFTER, STOPPED_BY, is_protected
from chalicelib.rules.timefmt import as_utc as _utc
from chalicelib.rules.timefmt import format_iso as format_time
from chalicelib.rules.timefmt import parse_iso as parse_time
from chalicelib.rules.timefmt import parse_utc_pattern
from chalicelib.settings import Settings

__all__ = ["IDLE_SINCE", "LIFECYCLE_KEYS", "MARK_KEYS", "PROTECT", "STOPPED_BY", "STOP_AFTER"]
__all__ += ["format_time", "is_protected", "parse_time"]

# CloudWatch reports NetworkIn/NetworkOut in bytes. A megabyte is 10^6 bytes here: the smaller
# reading of "MB" calls fewer instances idle, the safe side for a tool that stops them.
BYTES_PER_MB = 1_000_000
START_TRIGGER = "state:running"


# --- usage -----------------------------------------------------------------------------------


def day_is_idle(day: DayUsage, settings: Settings) -> bool:
    """Idle when the day has all its facts, CPU is at most the threshold and traffic too (both inclusive)."""
    if not day.has_data:
        return False
    network = day.network_bytes
    assert day.cpu_percent is not None and network is not None  # has_data says so
    return day.cpu_percent <= settings.idle_cpu_percent and network <= settings.idle_network_mb * BYTES_PER_MB


class Verdict(enum.StrEnum):
    IDLE = "idle"
    ACTIVE = "active"
    NOT_ENOUGH_DATA = "not-enough-data"


@dataclass(frozen=True)
class UsageVerdict:
    verdict: Verdict
    idle_days: int
    days_with_data: int
    window_days: int
    days_needed: int
    last_day_idle: bool  # the re-check before a stop: the most recent day has data and is idle
    max_cpu_percent: float | None
    max_network_mb: float | None


def judge_usage(usage: DailyUsage, settings: Settings) -> UsageVerdict:
    """Trusted Advisor's rule: idle on at least `idle_days_needed` days of the window.

    Fewer days with data than needed is "not enough data", never idle: a young instance, or one
    whose metrics stopped, is judged by its metric coverage and not by LaunchTime (EC2 resets that
    at every start)."""
    needed = settings.idle_days_needed
    days = usage.days
    with_data = [d for d in days if d.has_data]
    idle_days = sum(1 for d in with_data if day_is_idle(d, settings))
    if len(with_data) < needed:
        verdict = Verdict.NOT_ENOUGH_DATA
    elif idle_days >= needed:
        verdict = Verdict.IDLE
    else:
        verdict = Verdict.ACTIVE
    cpus = [d.cpu_percent for d in with_data if d.cpu_percent is not None]
    nets = [d.network_bytes for d in with_data if d.network_bytes is not None]
    return UsageVerdict(
        verdict=verdict,
        idle_days=idle_days,
        days_with_data=len(with_data),
        window_days=len(days),
        days_needed=needed,
        last_day_idle=bool(days) and day_is_idle(days[-1], settings),
        max_cpu_percent=round(max(cpus), 2) if cpus else None,
        max_network_mb=round(max(nets) / BYTES_PER_MB, 3) if nets else None,
    )


# --- tags ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    idle_since: datetime
    stop_after: datetime


def read_mark(tags: Mapping[str, str]) -> Mark | None:
    """The idle mark, or None when it is absent, partial or unparsable (treated as unmarked, then repaired)."""
    since = parse_time(tags.get(IDLE_SINCE))
    deadline = parse_time(tags.get(STOP_AFTER))
    if since is None or deadline is None:
        return None
    return Mark(since, deadline)


def has_lifecycle_tags(tags: Mapping[str, str]) -> bool:
    return any(k in tags for k in LIFECYCLE_KEYS)


def has_mark_tags(tags: Mapping[str, str]) -> bool:
    return any(k in tags for k in MARK_KEYS)


def stopped_by_warden(instance: Instance) -> bool:
    return instance.state == "stopped" and STOPPED_BY in instance.tags


def restarted_since_marked(instance: Instance) -> bool:
    """Started again after ec2-warden marked or stopped it, so the old deadline no longer holds.

    A running instance that carries warden:stopped-by was started by someone after our stop; and
    EC2 resets LaunchTime at every start, so a launch after the mark is a start after the mark."""
    if instance.state != "running":
        return False
    if STOPPED_BY in instance.tags:
        return True
    mark = read_mark(instance.tags)
    return mark is not None and instance.launch_time is not None and _utc(instance.launch_time) > mark.idle_since


def mark_tags(now: datetime, settings: Settings) -> dict[str, str]:
    return {IDLE_SINCE: format_time(now), STOP_AFTER: format_time(now + timedelta(hours=settings.idle_grace_hours))}


# --- where an idle, running instance stands ---------------------------------------------------


class IdleStage(enum.StrEnum):
    PROTECTED = "protected"  # never stopped; carries no deadline
    TO_MARK = "to-mark"  # no valid mark (or restarted since): gets a fresh deadline
    MARKED = "marked"  # deadline ahead
    DUE = "due"  # deadline passed and the most recent day idle again: stop
    AWAITING_RECHECK = "awaiting-recheck"  # deadline passed, but the most recent day is not idle
    STOPPED = "stopped"  # stopped by ec2-warden; the finding stays open until it is started or terminated


def idle_stage(instance: Instance, verdict: UsageVerdict, now: datetime) -> IdleStage:
    """For a running instance judged idle. The stop is due only past the deadline and on a fresh re-check."""
    if is_protected(instance.tags):
        return IdleStage.PROTECTED
    mark = read_mark(instance.tags)
    if mark is None or restarted_since_marked(instance):
        return IdleStage.TO_MARK
    if _utc(now) < mark.stop_after:
        return IdleStage.MARKED
    return IdleStage.DUE if verdict.last_day_idle else IdleStage.AWAITING_RECHECK


def still_due_for_stop(instance: Instance, now: datetime) -> str | None:
    """Re-read right before StopInstances: None when the stop still holds, else why not.

    The owner may have set warden:protect, moved the deadline or changed the state meanwhile."""
    if instance.state != "running":
        return f"now {instance.state}"
    if is_protected(instance.tags):
        return "protected meanwhile"
    mark = read_mark(instance.tags)
    if mark is None:
        return "no longer marked"
    if _utc(now) < mark.stop_after:
        return f"deadline moved to {format_time(mark.stop_after)}"
    if restarted_since_marked(instance):
        return "started again since marked"
    return None


# --- long-stopped instances ------------------------------------------------------------------

# EC2 writes "User initiated (2026-01-02 03:04:05 GMT)"; moto writes UTC.
_STOP_STAMP = re.compile(r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (?:GMT|UTC)\)")


def stopped_at(instance: Instance) -> datetime | None:
    """When a stopped instance stopped: from StateTransitionReason, else from warden:stopped-by."""
    found = _STOP_STAMP.search(instance.state_transition_reason or "")
    if found:
        stamp = parse_utc_pattern(found.group(1), "%Y-%m-%d %H:%M:%S")
        if stamp is not None:
            return stamp
        # digits in the right places but no such date (month 13): use our own tag
    return parse_time(instance.tags.get(STOPPED_BY))
