"""ISO 8601 time, parsed and formatted in one place. Pure.

ec2-warden writes UTC with a `Z` (`2026-01-31T12:00:00Z` in tags, milliseconds in ASFF). It reads
what it wrote, what AWS writes, and what a user types: naive means UTC, offsets are converted."""

from __future__ import annotations

from datetime import UTC, date, datetime

MAX_TEXT = 64  # longer is not a timestamp (a tag value can hold 256 characters of anything)


def parse_iso(text: str | None) -> datetime | None:
    """An aware UTC datetime, or None for anything that is not ISO 8601 (never an exception)."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        return None
    try:
        return parse_iso_strict(text)
    except (ValueError, OverflowError):  # not a time, or one that falls off the calendar in UTC
        return None


def parse_iso_strict(text: str) -> datetime:
    """As parse_iso, but raises ValueError with the text, for input a user must correct."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {text!r}") from None
    return as_utc(parsed)


def parse_utc_pattern(text: str, pattern: str) -> datetime | None:
    """A UTC time in a fixed strptime pattern (EC2's "2026-01-02 03:04:05" stop stamp); None if invalid."""
    try:
        return datetime.strptime(text, pattern).replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_day_strict(text: str) -> datetime:
    """`2026-12-31` as that day's first moment in UTC; ValueError for anything else."""
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)


def as_utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def format_iso(ts: datetime) -> str:
    """`2026-01-31T12:00:00Z`: what ec2-warden writes in tags and reports."""
    return as_utc(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_iso_millis(ts: datetime) -> str:
    """`2026-01-31T12:00:00.000Z`: ASFF timestamps."""
    return as_utc(ts).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def format_display(ts: datetime) -> str:
    """`2026-01-31 12:00 UTC`: for people (Slack, descriptions)."""
    return as_utc(ts).strftime("%Y-%m-%d %H:%M UTC")


def format_display_seconds(ts: datetime) -> str:
    """`2026-01-31 12:00:05 UTC`: when a change was made (CloudTrail's eventTime)."""
    return as_utc(ts).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_day(day: date) -> str:
    """`Sat 31 Jan`: a calendar day on a chart's axis."""
    return day.strftime("%a %d %b")


def format_date(ts: datetime) -> str:
    return as_utc(ts).strftime("%Y-%m-%d")


def parse_iso_aware(text: str) -> datetime | None:
    """The fast path of the AWS response parser: ISO 8601 with an offset, else None (no guessing)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
