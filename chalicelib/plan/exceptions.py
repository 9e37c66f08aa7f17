"""What an exception does to a run. Pure: results, snapshot, exceptions and now in; results, snapshot
and plan out, plus what the report says about it.

While an exception holds over a finding:
- the finding leaves the results: nothing is planned for it (no Security Hub update, no Slack, no
  owner message), and it is not resolved either (the instance is neither failing nor passing);
- no stop, mark or patch is planned for it, whatever path would have planned one (the plan's
  actions are stripped of the waived instances, belt and braces);
- an idle instance's lifecycle marks are removed, so that when the exception ends the lifecycle
  starts again from marking, with a full grace period: never an immediate stop.

When it ends, the finding comes back as NEW and is announced again as if new: Security Hub still
holds the finding as it was last posted (before the exception), so a prior finding last updated
before the exception's end is set aside and the finding counts as new. Security Hub is the memory."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.model import Action, ActionKind, CheckName, CheckResult, Finding, Plan, Snapshot
from chalicelib.rules import timefmt
from chalicelib.rules.exceptions import WardenException, waiver_for
from chalicelib.rules.idle import LIFECYCLE_KEYS, STOPPED_BY, has_lifecycle_tags

# Which check's waiver holds back which action kinds.
_HELD_BACK = {
    ActionKind.STOP_IDLE: CheckName.IDLE,
    ActionKind.MARK_IDLE: CheckName.IDLE,
    ActionKind.PATCH: CheckName.PATCH_NONCOMPLIANT,
}


@dataclass(frozen=True)
class Waivers:
    held: tuple[WardenException, ...] = ()
    waived: Mapping[str, tuple[Finding, WardenException]] = field(default_factory=dict)  # finding id ->
    returning: tuple[str, ...] = ()  # finding ids whose exception ended since they were last posted
    reopen: Mapping[str, WardenException] = field(default_factory=dict)  # returning and SUPPRESSED: -> NEW
    invalid: Mapping[str, str] = field(default_factory=dict)  # instance id -> why its tag is no exception

    def waived_instances(self, check: CheckName) -> set[str]:
        return {f.resource_id for f, _ in self.waived.values() if f.check is check}

    def to_report(self, now: datetime) -> dict[str, Any]:
        return {
            "active": [_exception_dict(e, now) for e in self.held if e.active(now)],
            "ended": [_exception_dict(e, now) for e in self.held if not e.active(now)],
            "waived": [
                {"finding_id": fid, "check": f.check.value, "resource_id": f.resource_id, "until": _iso(e.expires_at)}
                for fid, (f, e) in sorted(self.waived.items())
            ],
            "returning": list(self.returning),
            "invalid": [{"instance_id": i, "error": why} for i, why in sorted(self.invalid.items())],
        }


def apply_exceptions(
    results: Iterable[CheckResult],
    snapshot: Snapshot,
    exceptions: Iterable[WardenException],
    now: datetime,
    invalid: Mapping[str, str] | None = None,
) -> tuple[list[CheckResult], Snapshot, Waivers]:
    held = tuple(exceptions)
    waived: dict[str, tuple[Finding, WardenException]] = {}
    out: list[CheckResult] = []
    kept: list[Finding] = []
    for result in results:
        keep = []
        for finding in result.findings:
            exception = waiver_for(finding, held, now)
            if exception is None:
                keep.append(finding)
            else:
                waived[finding.id] = (finding, exception)
        kept.extend(keep)
        out.append(replace(result, findings=tuple(keep)) if len(keep) != len(result.findings) else result)

    prior = snapshot.prior_findings
    returning: list[str] = []
    reopen: dict[str, WardenException] = {}
    if prior:
        for finding in kept:
            old = prior.get(finding.id)
            if old is None:
                continue
            ended = [e for e in held if not e.active(now) and _would_cover(e, finding)]
            last = next((e for e in ended if _posted_before(old.updated_at, e.expires_at)), None)
            if last is not None:
                returning.append(finding.id)
                if old.workflow_status == "SUPPRESSED":
                    reopen[finding.id] = last
        if returning:
            gone = set(returning)
            snapshot = replace(snapshot, prior_findings={k: v for k, v in prior.items() if k not in gone})
    waivers = Waivers(
        held=held, waived=waived, returning=tuple(sorted(returning)), reopen=reopen, invalid=dict(invalid or {})
    )
    return out, snapshot, waivers


def restrain_plan(plan: Plan, waivers: Waivers, snapshot: Snapshot) -> Plan:
    """The plan without any stop, mark or patch of a waived instance, and with the idle marks of
    waived idle instances removed."""
    if not waivers.waived and not waivers.reopen:
        return plan
    actions: list[Action] = []
    for action in plan.actions:
        check = _HELD_BACK.get(action.kind)
        spared = waivers.waived_instances(check) & set(action.resource_ids) if check else set()
        if not spared:
            actions.append(action)
            continue
        left = tuple(i for i in action.resource_ids if i not in spared)
        if left:
            params = dict(action.params)
            if isinstance(params.get("why"), Mapping):
                params["why"] = {k: v for k, v in params["why"].items() if k not in spared}
            actions.append(replace(action, resource_ids=left, params=params))
    unmarked = {i for a in actions if a.kind is ActionKind.UNMARK_IDLE for i in a.resource_ids}
    by_id = {i.id: i for i in snapshot.instances}
    to_unmark = sorted(
        i
        for i in waivers.waived_instances(CheckName.IDLE) - unmarked
        if i in by_id and has_lifecycle_tags(by_id[i].tags) and STOPPED_BY not in by_id[i].tags
    )
    if to_unmark:
        actions.append(
            Action(
                kind=ActionKind.UNMARK_IDLE,
                resource_ids=tuple(to_unmark),
                reason=f"remove idle marks: {len(to_unmark)} under an exception (the lifecycle restarts when it ends)",
                params={"keys": list(LIFECYCLE_KEYS), "why": dict.fromkeys(to_unmark, "under an exception")},
            )
        )
    actions.extend(_workflow_actions(waivers, snapshot))
    return replace(plan, actions=tuple(actions))


def note_of(exception: WardenException, *, ended: bool = False) -> str:
    by = f"approved by {exception.approver}" if exception.approver else "owner-declared (warden:exception tag)"
    until = timefmt.format_display(exception.expires_at)
    through = timefmt.format_date(exception.expires_at - timedelta(seconds=1))
    if ended:
        return f"ec2-warden: the exception ended {until}; the finding is open again. It was: {exception.reason}"
    return (
        f"ec2-warden exception through {through} (ends {until}): {exception.reason} "
        f"(asked by {exception.requester}, {by})"
    )


def _workflow_actions(waivers: Waivers, snapshot: Snapshot) -> list[Action]:
    """SUPPRESSED (with the exception's note) for waived findings Security Hub holds open and not yet
    suppressed; NEW for returning findings that were suppressed."""
    prior = snapshot.prior_findings or {}
    out: list[Action] = []
    suppress = {
        fid: note_of(e)
        for fid, (_, e) in waivers.waived.items()
        if fid in prior and prior[fid].workflow_status != "SUPPRESSED"
    }
    if suppress:
        out.append(
            Action(
                ActionKind.SUPPRESS_FINDINGS,
                tuple(sorted(suppress)),
                f"suppress {len(suppress)} finding(s) under an exception",
                params={"notes": dict(sorted(suppress.items()))},
            )
        )
    if waivers.reopen:
        notes = {fid: note_of(e, ended=True) for fid, e in sorted(waivers.reopen.items())}
        out.append(
            Action(
                ActionKind.REOPEN_FINDINGS,
                tuple(notes),
                f"reopen {len(notes)} finding(s) whose exception ended",
                params={"notes": notes},
            )
        )
    return out


REMINDER_DAYS = (7, 1)  # an exception's owner is reminded this many days before it ends


def exception_reminders(
    held: Iterable[WardenException], now: datetime, interval: timedelta | None
) -> dict[str, list[str]]:
    """Instance id -> the reminder due in this sweep, once per threshold: a threshold is reminded by
    the sweep that first passes it (the one within `interval` of it; with a cron schedule, any sweep
    in the day after it)."""
    window = interval if interval is not None else timedelta(days=1)
    out: dict[str, list[str]] = {}
    for e in held:
        if e.is_group or not e.active(now):
            continue
        due = [
            d
            for d in REMINDER_DAYS
            if e.expires_at - timedelta(days=d) <= now < e.expires_at - timedelta(days=d) + window
        ]
        if due:
            days = min(due)
            checks = "every check" if e.checks is None else ", ".join(sorted(e.checks))
            through = timefmt.format_date(e.expires_at - timedelta(seconds=1))
            out.setdefault(e.target, []).append(
                f"exception for {checks} ends after {through} (in {days} day(s)): renew it or fix what it covers"
            )
    return out


def _would_cover(exception: WardenException, finding: Finding) -> bool:
    target_ok = finding.resource_id == exception.target or exception.is_group
    return target_ok and exception.may_waive(finding)


def _posted_before(updated_at: str, moment: datetime) -> bool:
    updated = timefmt.parse_iso(updated_at)
    # an unreadable date: treat as old, so the finding is announced rather than lost
    return updated is None or updated <= moment


def _iso(when: datetime) -> str:
    return timefmt.format_iso(when)


def _exception_dict(e: WardenException, now: datetime) -> dict[str, Any]:
    return {
        "target": e.target,
        "checks": sorted(e.checks) if e.checks is not None else "all",
        "reason": e.reason,
        "requester": e.requester,
        "approver": e.approver,
        "source": e.source.value,
        "until": _iso(e.expires_at),
        "days_left": max(0, (e.expires_at - now).days),
    }
