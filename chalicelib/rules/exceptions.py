"""Accountable, time-boxed exceptions: "leave this one alone", with a reason, who asked, an end
date and (for the serious ones) who approved. Pure: no clock, no environment, no AWS.

One model for every check. An exception names an instance (or a security group, for exposure),
the checks it covers (None: every check), a reason, a requester, an expiry (required, never more
than EXCEPTION_MAX_DAYS ahead) and, when approved, the approver. Two sources, ranked:

- owner-declared, the instance tag `warden:exception` = `until=YYYY-MM-DD;reason=...[;checks=a,b]`
  (checks default: every check but public-exposure). It holds through the `until` day (UTC) and
  may waive findings up to MEDIUM only. An unparsable value, an unknown check, public-exposure,
  a missing reason, or an end date further than EXCEPTION_MAX_DAYS from now is no exception, and
  is reported: a tag carries no date of its own, so "further than the maximum from now" is the
  only cap a tag can be held to (a tag rewritten every day is an owner's accountable choice).
- approved (a table the security team writes): the only source that can waive HIGH and CRITICAL
  findings, and public exposure, and the only one that can name a security group.

`warden:protect` is not an exception: it keeps its exact meaning (any value, permanent)."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.model import CheckName, Finding, Instance, Severity
from chalicelib.rules import tags, timefmt

EXCEPTION_TAG = tags.EXCEPTION
DEFAULT_MAX_DAYS = 90
# Above this severity only an approved exception waives a finding.
OWNER_MAX_SEVERITY = Severity.MEDIUM
# Never waived by the owner's own tag: exposure to the internet needs an approver.
APPROVAL_ONLY_CHECKS = frozenset({CheckName.PUBLIC_EXPOSURE.value})
OWNER_DEFAULT_CHECKS = frozenset(c.value for c in CheckName) - APPROVAL_ONLY_CHECKS


class Source(enum.StrEnum):
    TAG = "tag"
    APPROVED = "approved"


@dataclass(frozen=True)
class WardenException:
    target: str  # an instance id, or a security group id (approved exceptions only)
    checks: frozenset[str] | None  # None: every check
    reason: str
    requester: str
    expires_at: datetime
    source: Source = Source.TAG
    approver: str | None = None
    created_at: datetime | None = None

    @property
    def is_group(self) -> bool:
        return self.target.startswith("sg-")

    def active(self, now: datetime) -> bool:
        return now < self.expires_at

    def may_waive(self, finding: Finding) -> bool:
        """What this exception may cover at all, whatever the time."""
        if self.checks is not None and finding.check.value not in self.checks:
            return False
        if self.source is Source.APPROVED and self.approver:
            return True
        return finding.severity.rank <= OWNER_MAX_SEVERITY.rank and finding.check.value not in APPROVAL_ONLY_CHECKS

    def covers(self, finding: Finding, now: datetime) -> bool:
        if not self.active(now) or not self.may_waive(finding):
            return False
        if self.is_group:
            return finding.check is CheckName.PUBLIC_EXPOSURE and _only_through(finding, self.target)
        return finding.resource_id == self.target

    def describe(self) -> str:
        checks = "all checks" if self.checks is None else ", ".join(sorted(self.checks))
        by = f", approved by {self.approver}" if self.approver else ""
        return f"{checks} until {self.expires_at:%Y-%m-%d %H:%M} UTC: {self.reason} (asked by {self.requester}{by})"


def _only_through(finding: Finding, group_id: str) -> bool:
    """An exposure is waived by a group's exception only when every path goes through that group."""
    paths = [p for p in finding.details.get("paths", ()) if isinstance(p, Mapping)]
    return bool(paths) and all(p.get("group_id") == group_id for p in paths)


class ExceptionTagError(ValueError):
    """The tag's value is no exception; the message says why (it is reported, never fatal)."""


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_exception_tag(
    value: str, instance_id: str, requester: str, now: datetime, max_days: int = DEFAULT_MAX_DAYS
) -> WardenException:
    """`until=YYYY-MM-DD;reason=...[;checks=idle,launch-hygiene]` -> an owner-declared exception.

    Holds through the `until` day: it ends at 00:00 UTC the day after."""
    fields: dict[str, str] = {}
    for part in value.split(";"):
        if not part.strip():
            continue
        key, sep, raw = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in ("until", "reason", "checks") or key in fields:
            raise ExceptionTagError(f"{part.strip()!r} is not until=, reason= or checks= (each once)")
        fields[key] = raw.strip()
    until = fields.get("until", "")
    if not _DATE.match(until):
        raise ExceptionTagError("until= must be a date YYYY-MM-DD")
    try:
        day = timefmt.parse_day_strict(until)
    except ValueError:
        raise ExceptionTagError(f"until={until} is not a calendar date") from None
    expires = day + timedelta(days=1)
    if expires > now + timedelta(days=max_days):
        raise ExceptionTagError(f"until={until} is more than EXCEPTION_MAX_DAYS={max_days} days ahead")
    reason = fields.get("reason", "")
    if not reason:
        raise ExceptionTagError("reason= is required: say why")
    checks = OWNER_DEFAULT_CHECKS
    if "checks" in fields:
        names = [c.strip().lower() for c in fields["checks"].split(",") if c.strip()]
        known = {c.value for c in CheckName}
        unknown = [n for n in names if n not in known]
        if unknown or not names:
            raise ExceptionTagError(f"checks= names no known check: {', '.join(unknown) or '(empty)'}")
        needs_approval = sorted(set(names) & APPROVAL_ONLY_CHECKS)
        if needs_approval:
            raise ExceptionTagError(f"{', '.join(needs_approval)} needs an approved exception, not a tag")
        checks = frozenset(names)
    return WardenException(
        target=instance_id,
        checks=checks,
        reason=reason[:256],
        requester=requester or "instance owner",
        expires_at=expires,
    )


@dataclass(frozen=True)
class TagExceptions:
    held: tuple[WardenException, ...]  # parsed, active or not (an expired one tells when it ended)
    invalid: Mapping[str, str]  # instance id -> why its tag is no exception


def read_tag_exceptions(
    instances: Iterable[Instance], owner_tag: str, now: datetime, max_days: int = DEFAULT_MAX_DAYS
) -> TagExceptions:
    held: list[WardenException] = []
    invalid: dict[str, str] = {}
    for instance in instances:
        value = instance.tags.get(EXCEPTION_TAG)
        if value is None:
            continue
        owner = next((v for k, v in instance.tags.items() if k.lower() == owner_tag.lower()), "")
        try:
            held.append(parse_exception_tag(value, instance.id, owner.strip(), now, max_days))
        except ExceptionTagError as exc:
            invalid[instance.id] = str(exc)
    return TagExceptions(tuple(held), invalid)


def waiver_for(finding: Finding, exceptions: Iterable[WardenException], now: datetime) -> WardenException | None:
    """The exception that waives this finding now, approved ones first; None when none does."""
    ranked = sorted(exceptions, key=lambda e: (e.source is not Source.APPROVED, e.expires_at))
    return next((e for e in ranked if e.covers(finding, now)), None)
