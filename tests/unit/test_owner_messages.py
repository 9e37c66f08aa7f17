"""Owner messages, pure: who hears about what (planning_owner.py) and what they read (notify/owner.py)."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.model import (
    Action,
    ActionKind,
    CheckName,
    Finding,
    FindingStatus,
    InstanceCost,
    Mode,
    Plan,
    Resolution,
    Severity,
)
from chalicelib.notify.owner import actor_of, owner_email, owner_notice, owner_slack_message
from chalicelib.plan.owner import owner_value, plan_owner_messages
from chalicelib.settings import OwnerNotify, Settings
from devtools.slack_sink import block_kit_violations, render_message
from tests.builders import ACCOUNT, NOW, REGION, instance, prior_finding, snapshot

SLACK = Settings(mode=Mode.NOTIFY, owner_notify=OwnerNotify.SLACK)


def finding(resource_id: str, check: CheckName = CheckName.PUBLIC_EXPOSURE, severity=Severity.CRITICAL, **details):
    return Finding(
        check, resource_id, ACCOUNT, REGION, severity, f"{check.value} on {resource_id}", "d", "fix", details
    )


def plan_of(findings, statuses, resolutions=(), actions=()) -> Plan:
    return Plan(
        tuple(findings), {f.id: s for f, s in zip(findings, statuses, strict=True)}, tuple(resolutions), tuple(actions)
    )


def owners(actions) -> dict[str, tuple[str, ...]]:
    return {a.params["owner"]: a.resource_ids for a in actions}


def fleet():
    return [
        instance("i-1", tags={"Owner": "Ana@Example.com"}),
        instance("i-2", tags={"owner": "ana@example.com"}),
        instance("i-3", tags={"Owner": "platform-team"}),
        instance("i-4"),
    ]


def test_each_owner_gets_one_action_for_all_their_changed_instances():
    findings = [finding(i) for i in ("i-1", "i-2", "i-3", "i-4")]
    plan = plan_of(findings, [FindingStatus.NEW] * 4)
    actions = plan_owner_messages(plan, snapshot(fleet(), [], prior={}), SLACK, NOW)
    assert owners(actions) == {"": ("i-4",), "ana@example.com": ("i-1", "i-2"), "platform-team": ("i-3",)}
    assert all(a.kind is ActionKind.NOTIFY_OWNER for a in actions)


def test_off_unknown_and_unchanged_findings_plan_nothing():
    findings = [finding("i-1"), finding("i-2")]
    unchanged = plan_of(findings, [FindingStatus.UNCHANGED, FindingStatus.REFRESHED])
    snap = snapshot(fleet(), [], prior={})
    assert plan_owner_messages(unchanged, snap, SLACK, NOW) == []
    unknown = plan_of(findings, [FindingStatus.UNKNOWN] * 2)  # Security Hub not read: not news to owners
    assert plan_owner_messages(unknown, snap, SLACK, NOW) == []
    new = plan_of(findings, [FindingStatus.NEW] * 2)
    assert plan_owner_messages(new, snap, replace(SLACK, owner_notify=OwnerNotify.OFF), NOW) == []


def test_a_raised_severity_and_a_resolution_are_news_a_lowered_one_is_not():
    raised, lowered = finding("i-1"), finding("i-3", severity=Severity.LOW)
    prior = {
        raised.id: prior_finding(raised.id, "i-1", severity=Severity.HIGH),
        lowered.id: prior_finding(lowered.id, "i-3", severity=Severity.HIGH),
    }
    old = prior_finding("ec2-warden/x/idle/i-4", "i-4", check="idle")
    resolution = Resolution(old.id, "idle", "i-4", "i-4 now passes idle", old)
    plan = plan_of([raised, lowered], [FindingStatus.CHANGED] * 2, [resolution])
    actions = plan_owner_messages(plan, snapshot(fleet(), [], prior=prior), SLACK, NOW)
    assert owners(actions) == {"": ("i-4",), "ana@example.com": ("i-1",)}
    assert actions[1].params["changes"]["i-1"] == ["public-exposure raised from HIGH to CRITICAL"]


def test_a_mark_or_stop_counts_only_in_a_mode_that_carries_it_out():
    mark = Action(
        ActionKind.MARK_IDLE, ("i-1",), "mark", params={"tags": {"warden:stop-after": "2026-11-30T12:00:00Z"}}
    )
    plan = plan_of([], [], actions=[mark])
    snap = snapshot(fleet(), [], prior={})
    assert plan_owner_messages(plan, snap, SLACK, NOW) == []  # notify mode prints marks, does not write them
    [action] = plan_owner_messages(plan, snap, replace(SLACK, mode=Mode.ENFORCE), NOW)
    assert action.params["changes"] == {"i-1": ["marked idle: will be stopped after 2026-11-30T12:00:00Z"]}


def test_owner_value_reads_the_configured_tag_in_any_case():
    assert owner_value(instance("i-9", tags={"team-lead": " bo@example.com "}), "Team-Lead") == "bo@example.com"
    assert owner_value(None, "Owner") == ""


def test_the_message_lists_each_instance_once_with_findings_deadline_cost_and_links():
    box = instance("i-1", tags={"Owner": "ana@example.com", "Name": "lab", "warden:stop-after": "2026-11-28T06:00:00Z"})
    stopped = instance(
        "i-2", state="stopped", tags={"Owner": "ana@example.com", "warden:stopped-by": "2026-11-20T00:00:00Z"}
    )
    f1 = finding("i-1", actor="arn:aws:iam::111122223333:user/mallory")
    f2 = finding("i-1", CheckName.IDLE, Severity.LOW)
    costs = {
        "i-1": InstanceCost("i-1", "running", 832, 264, 365, 0),
        "i-2": InstanceCost("i-2", "stopped", 7811, 968, 0, 365),
    }
    snap = replace(snapshot([box, stopped], [], prior={}), costs=costs)
    plan = plan_of([f1, f2], [FindingStatus.NEW, FindingStatus.UNCHANGED])
    [action] = plan_owner_messages(plan, snap, SLACK, NOW)
    action = replace(
        action,
        resource_ids=("i-1", "i-2"),
        params={
            **action.params,
            "changes": {"i-1": ["new CRITICAL public-exposure"], "i-2": ["stopped by ec2-warden"]},
        },
    )
    notice = owner_notice(action, plan, snap, [], Mode.ENFORCE)
    payload = owner_slack_message(notice)
    text = render_message(payload)
    assert block_kit_violations(payload) == []
    assert text.count("i-1") >= 1 and "public-exposure new" in text and "idle" in text
    assert "Changed by: arn:aws:iam::111122223333:user/mallory" in text
    assert "Costs about $14.61/month." in text
    assert "saves about $78.11/month; still paid about $13.33/month" in text
    assert "warden:stop-after" in text and "warden:protect" in text
    assert "Instance in EC2 console" in text and "on-demand list price estimate" in text
    subject, body = owner_email(notice)
    assert "2 of your instance(s)" in subject and "Costs about $14.61/month." in body and "<" not in body


def test_an_unknown_owner_message_says_why_and_stays_within_slacks_limits():
    many = [instance(f"i-{n:04d}") for n in range(60)]
    findings = [finding(i.id) for i in many]
    plan = plan_of(findings, [FindingStatus.NEW] * 60)
    snap = snapshot(many, [], prior={})
    [action] = plan_owner_messages(plan, snap, SLACK, NOW)
    payload = owner_slack_message(owner_notice(action, plan, snap, [], Mode.NOTIFY), owner_unknown="no Owner tag")
    assert block_kit_violations(payload) == []
    assert "owner unknown" in payload["text"] and "…and 40 more instance(s)" in render_message(payload)


def test_actor_of_reads_a_string_or_a_mapping_and_nothing_else():
    assert actor_of([finding("i-1", actor={"arn": "arn:aws:iam::1:role/x"})]) == "arn:aws:iam::1:role/x"
    assert actor_of([finding("i-1"), finding("i-2", actor=" bob ")]) == "bob"
    assert actor_of([finding("i-1", actor=42)]) is None
