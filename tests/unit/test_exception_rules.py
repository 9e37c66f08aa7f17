"""Exceptions, pure: the warden:exception tag's form, the ranking of sources, and the safety rules
as properties (hypothesis): an expired exception never prevents a finding, a stop or a patch; an
active one always does for its check and never for another; without an approver nothing above
MEDIUM (nor public exposure) is waived; the expiry is never beyond the maximum duration."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from chalicelib.model import Action, ActionKind, CheckName, CheckResult, Finding, Plan, Severity
from chalicelib.plan.exceptions import apply_exceptions, restrain_plan
from chalicelib.rules.exceptions import (
    EXCEPTION_TAG,
    OWNER_DEFAULT_CHECKS,
    ExceptionTagError,
    Source,
    WardenException,
    parse_exception_tag,
    read_tag_exceptions,
)
from chalicelib.rules.idle import IDLE_SINCE, STOP_AFTER
from tests.builders import ACCOUNT, NOW, REGION, instance, prior_finding, snapshot

CHECKS = list(CheckName)


def finding(resource_id="i-1", check=CheckName.IDLE, severity=Severity.LOW, **details) -> Finding:
    return Finding(check, resource_id, ACCOUNT, REGION, severity, "t", "d", "r", details)


def exception(target="i-1", checks=None, until=NOW + timedelta(days=3), approver=None, source=Source.TAG):
    return WardenException(target, checks, "quarter-end batch", "ana@example.com", until, source, approver)


# --- the tag ---------------------------------------------------------------------------------


def test_a_tag_holds_through_its_until_day_for_every_check_but_exposure_by_default():
    e = parse_exception_tag("until=2026-12-31;reason=quarter-end batch", "i-1", "ana@example.com", NOW)
    assert e.expires_at == datetime(2027, 1, 1, tzinfo=UTC) and e.checks == OWNER_DEFAULT_CHECKS
    assert CheckName.PUBLIC_EXPOSURE.value not in e.checks and e.source is Source.TAG and e.approver is None
    assert (e.reason, e.requester, e.target) == ("quarter-end batch", "ana@example.com", "i-1")
    narrow = parse_exception_tag(" reason = r ; checks=idle, launch-hygiene;until=2026-12-01", "i-1", "", NOW)
    assert narrow.checks == {"idle", "launch-hygiene"} and narrow.requester == "instance owner"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("until=2026-13-01;reason=x", "not a calendar date"),
        ("until=31/12/2026;reason=x", "YYYY-MM-DD"),
        ("reason=x", "YYYY-MM-DD"),
        ("until=2026-12-31", "reason= is required"),
        ("until=2026-12-31;reason=x;checks=idle,nonsense", "nonsense"),
        ("until=2026-12-31;reason=x;checks=public-exposure", "needs an approved exception"),
        ("until=2027-06-01;reason=x", "EXCEPTION_MAX_DAYS=90"),
        ("until=2026-12-31;reason=x;owner=me", "not until="),
        ("until=2026-12-31;until=2026-12-30;reason=x", "each once"),
        ("", "YYYY-MM-DD"),
    ],
)
def test_an_unparsable_tag_is_no_exception_and_says_why(value, why):
    with pytest.raises(ExceptionTagError, match=why):
        parse_exception_tag(value, "i-1", "", NOW)


def test_invalid_tags_are_collected_not_fatal():
    boxes = [
        instance("i-1", tags={EXCEPTION_TAG: "until=2026-12-31;reason=ok", "Owner": "ana"}),
        instance("i-2", tags={EXCEPTION_TAG: "forever"}),
        instance("i-3"),
    ]
    read = read_tag_exceptions(boxes, "owner", NOW)
    assert [e.target for e in read.held] == ["i-1"] and read.held[0].requester == "ana"
    assert list(read.invalid) == ["i-2"]


@given(
    days_ahead=st.integers(-400, 800),
    max_days=st.integers(1, 365),
    minutes=st.integers(0, 24 * 60 - 1),
)
def test_the_expiry_is_never_beyond_the_maximum_duration(days_ahead, max_days, minutes):
    now = NOW.replace(hour=0, minute=0) + timedelta(minutes=minutes)
    until = (now + timedelta(days=days_ahead)).date().isoformat()
    try:
        e = parse_exception_tag(f"until={until};reason=r", "i-1", "", now, max_days)
    except ExceptionTagError:
        return
    assert e.expires_at <= now + timedelta(days=max_days)


# --- the safety rules ---------------------------------------------------------------------------

severities = st.sampled_from(list(Severity))
checks = st.sampled_from(CHECKS)


@given(check=checks, severity=severities, ago=st.integers(0, 10_000), approved=st.booleans())
def test_an_expired_exception_never_prevents_a_finding_a_stop_or_a_patch(check, severity, ago, approved):
    f = finding(check=check, severity=severity)
    e = exception(
        until=NOW - timedelta(minutes=ago),
        approver="sec-lead" if approved else None,
        source=Source.APPROVED if approved else Source.TAG,
    )
    results, _, waivers = apply_exceptions(
        [CheckResult(check, findings=(f,))], snapshot([instance("i-1")], []), [e], NOW
    )
    assert results[0].findings == (f,) and not waivers.waived
    plan = _plan_with_actions(f)
    assert restrain_plan(plan, waivers, snapshot([instance("i-1")], [])) == plan


@given(check=checks, other=checks, severity=severities)
def test_an_active_approved_exception_waives_its_check_and_never_another(check, other, severity):
    assume(check != other)
    e = exception(checks=frozenset({check.value}), approver="sec-lead", source=Source.APPROVED)
    mine, theirs = finding(check=check, severity=severity), finding(check=other, severity=severity)
    results, _, waivers = apply_exceptions(
        [CheckResult(check, findings=(mine,)), CheckResult(other, findings=(theirs,))],
        snapshot([instance("i-1")], []),
        [e],
        NOW,
    )
    assert results[0].findings == () and results[1].findings == (theirs,)
    assert set(waivers.waived) == {mine.id}
    restrained = restrain_plan(_plan_with_actions(mine), waivers, snapshot([instance("i-1")], []))
    held_back = {
        CheckName.IDLE: {ActionKind.STOP_IDLE, ActionKind.MARK_IDLE},
        CheckName.PATCH_NONCOMPLIANT: {ActionKind.PATCH},
    }
    for action in restrained.actions:
        assert action.kind not in held_back.get(check, set()) or "i-1" not in action.resource_ids


@given(check=checks, severity=severities)
def test_without_an_approver_nothing_above_medium_nor_exposure_is_waived(check, severity):
    f = finding(check=check, severity=severity)
    for e in (exception(), exception(source=Source.APPROVED)):  # an "approved" row with no approver counts as a tag
        _, _, waivers = apply_exceptions([CheckResult(check, findings=(f,))], snapshot([instance("i-1")], []), [e], NOW)
        should = severity.rank <= Severity.MEDIUM.rank and check is not CheckName.PUBLIC_EXPOSURE
        assert bool(waivers.waived) == should


def test_a_group_exception_waives_exposure_only_through_that_group():
    e = exception(target="sg-1", approver="sec-lead", source=Source.APPROVED)
    through = finding(check=CheckName.PUBLIC_EXPOSURE, severity=Severity.CRITICAL, paths=[{"group_id": "sg-1"}])
    both = finding(
        "i-2", CheckName.PUBLIC_EXPOSURE, Severity.CRITICAL, paths=[{"group_id": "sg-1"}, {"group_id": "sg-2"}]
    )
    assert e.covers(through, NOW) and not e.covers(both, NOW)


def test_a_waived_idle_instance_loses_its_marks_so_the_lifecycle_restarts_from_marking():
    marked = instance("i-1", tags={IDLE_SINCE: "2026-11-20T00:00:00Z", STOP_AFTER: "2026-11-23T00:00:00Z"})
    f = finding()
    snap = snapshot([marked], [])
    _, _, waivers = apply_exceptions([CheckResult(CheckName.IDLE, findings=(f,))], snap, [exception()], NOW)
    restrained = restrain_plan(_plan_with_actions(f), waivers, snap)
    kinds = {a.kind: a.resource_ids for a in restrained.actions}
    assert ActionKind.STOP_IDLE not in kinds and kinds[ActionKind.UNMARK_IDLE] == ("i-1",)
    assert kinds[ActionKind.PATCH] == ("i-1", "i-2")  # an idle waiver holds back no patch


def test_an_ended_exception_brings_its_finding_back_as_new_once():
    f = finding()
    ended = exception(until=NOW - timedelta(hours=2))
    before = prior_finding(f.id, "i-1", check="idle", severity=Severity.LOW, updated_at="2026-11-01T00:00:00Z")
    snap = snapshot([instance("i-1")], [], prior={f.id: before})
    _, seen, waivers = apply_exceptions([CheckResult(CheckName.IDLE, findings=(f,))], snap, [ended], NOW)
    assert waivers.returning == (f.id,) and f.id not in seen.prior_findings
    # once posted again after the end, it is an ordinary open finding
    after = replace(before, updated_at="2026-11-27T11:00:00Z")
    _, seen, waivers = apply_exceptions(
        [CheckResult(CheckName.IDLE, findings=(f,))], replace(snap, prior_findings={f.id: after}), [ended], NOW
    )
    assert waivers.returning == () and f.id in seen.prior_findings


def _plan_with_actions(f: Finding) -> Plan:
    return Plan(
        findings=(f,),
        statuses={},
        resolutions=(),
        actions=(
            Action(ActionKind.STOP_IDLE, ("i-1",), "stop", params={"why": {"i-1": "due"}}),
            Action(ActionKind.MARK_IDLE, ("i-1",), "mark", params={"tags": {}, "why": {"i-1": "idle"}}),
            Action(ActionKind.PATCH, ("i-1", "i-2"), "patch"),
        ),
    )


# --- reminders -----------------------------------------------------------------------------------


@given(start_minute=st.integers(0, 59), hours=st.sampled_from([1, 3, 6, 24]))
def test_each_reminder_threshold_is_reminded_by_exactly_one_sweep(start_minute, hours):
    from chalicelib.plan.exceptions import exception_reminders

    e = exception(until=NOW + timedelta(days=9))
    interval = timedelta(hours=hours)
    sweep = NOW + timedelta(minutes=start_minute)
    sent = []
    while sweep < e.expires_at:
        sent.extend(exception_reminders([e], sweep, interval).get("i-1", []))
        sweep += interval
    assert [s.split("(in ")[1].split(" day")[0] for s in sent] == ["7", "1"]
    assert all("renew it" in s for s in sent)


def test_a_reminder_reaches_the_owner_in_their_one_message():
    from chalicelib.plan.exceptions import exception_reminders
    from chalicelib.plan.owner import plan_owner_messages
    from chalicelib.settings import OwnerNotify, Settings

    e = exception(until=NOW + timedelta(days=1))
    extra = exception_reminders([e, replace(e, target="sg-1")], NOW, timedelta(hours=1))
    assert list(extra) == ["i-1"]
    snap = snapshot([instance("i-1", tags={"Owner": "ana@example.com"})], [], prior={})
    settings = Settings(owner_notify=OwnerNotify.SLACK)
    [action] = plan_owner_messages(Plan((), {}, (), ()), snap, settings, NOW, extra)
    assert action.params["owner"] == "ana@example.com" and "in 1 day(s)" in action.params["changes"]["i-1"][0]
