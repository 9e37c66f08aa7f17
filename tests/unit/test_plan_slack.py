"""Which Slack messages the plan asks for: news once, unchanged findings never, sweeps as a digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.model import (
    ActionKind,
    CheckName,
    CheckResult,
    Finding,
    Instance,
    Mode,
    PriorFinding,
    Severity,
    Snapshot,
)
from chalicelib.plan import MAX_FINDING_MESSAGES, plan_actions
from chalicelib.settings import load_settings

NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
ACCOUNT = "123456789012"
REGION = "eu-west-1"
SLACK = {"SLACK_WEBHOOK_PARAMETER": "/ec2-warden/slack-webhook", "WARDEN_MODE": "notify"}


def finding(iid: str, severity: Severity = Severity.CRITICAL) -> Finding:
    return Finding(CheckName.PUBLIC_EXPOSURE, iid, ACCOUNT, REGION, severity, f"title {iid}", f"desc {iid}", "fix")


def prior_of(f: Finding, severity: Severity | None = None, updated: datetime = NOW) -> PriorFinding:
    return PriorFinding(
        f.id,
        f.check.value,
        f.resource_id,
        severity or f.severity,
        f.title,
        f.description,
        "2026-01-01T00:00:00.000Z",
        updated.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    )


def snapshot(
    instances: tuple[Instance, ...] = (), prior: dict | None = None, sweep: bool = False, errors: tuple = ()
) -> Snapshot:
    return Snapshot(ACCOUNT, REGION, NOW, sweep, instances, {}, prior_findings=prior, errors=errors)


def slack_actions(plan) -> list:
    return [a for a in plan.actions if a.kind is ActionKind.NOTIFY_SLACK]


def result(*findings: Finding, passed: frozenset[str] = frozenset()) -> CheckResult:
    return CheckResult(CheckName.PUBLIC_EXPOSURE, findings=findings, passed=passed)


def test_no_slack_settings_no_slack_actions() -> None:
    plan = plan_actions([result(finding("i-1"))], snapshot(prior={}), load_settings({}), NOW)
    assert slack_actions(plan) == []


def test_a_new_critical_finding_from_an_event_gets_one_message_after_the_import() -> None:
    f = finding("i-1")
    plan = plan_actions([result(f)], snapshot(prior={}), load_settings(SLACK), NOW)
    [action] = slack_actions(plan)
    assert action.message == "finding" and action.findings == (f,) and action.resource_ids == (f.id,)
    kinds = [a.kind for a in plan.actions]
    assert kinds.index(ActionKind.IMPORT_FINDINGS) < kinds.index(ActionKind.NOTIFY_SLACK)


@pytest.mark.parametrize(
    ("severity", "minimum", "announced"),
    [
        (Severity.HIGH, None, True),
        (Severity.MEDIUM, None, False),
        (Severity.MEDIUM, "medium", True),
        (Severity.HIGH, "CRITICAL", False),
    ],
)
def test_only_findings_at_or_above_the_minimum_severity_are_announced(
    severity: Severity, minimum: str | None, announced: bool
) -> None:
    env = dict(SLACK, **({"SLACK_MIN_SEVERITY": minimum} if minimum else {}))
    plan = plan_actions([result(finding("i-1", severity))], snapshot(prior={}), load_settings(env), NOW)
    assert bool(slack_actions(plan)) is announced


def test_an_unchanged_open_finding_is_not_announced_again_even_when_refreshed() -> None:
    # GIVEN Security Hub already holds the same finding: fresh (unchanged) and 3 days old (refreshed)
    fresh, stale = finding("i-1"), finding("i-2")
    prior = {fresh.id: prior_of(fresh), stale.id: prior_of(stale, updated=NOW - timedelta(days=3))}
    plan = plan_actions([result(fresh, stale)], snapshot(prior=prior), load_settings(SLACK), NOW)
    # THEN the stale one is re-imported, and nothing is said in Slack
    assert [a.kind for a in plan.actions] == [ActionKind.IMPORT_FINDINGS]
    assert plan.actions[0].resource_ids == (stale.id,)


def test_raised_severity_is_announced_and_lowered_severity_is_not() -> None:
    up, down = finding("i-1", Severity.CRITICAL), finding("i-2", Severity.HIGH)
    prior = {up.id: prior_of(up, Severity.HIGH), down.id: prior_of(down, Severity.CRITICAL)}
    plan = plan_actions([result(up, down)], snapshot(prior=prior), load_settings(SLACK), NOW)
    assert [a.findings for a in slack_actions(plan)] == [(up,)]


def test_many_findings_from_one_event_end_in_a_roll_up() -> None:
    findings = [finding(f"i-{i:02d}") for i in range(MAX_FINDING_MESSAGES + 6)]
    plan = plan_actions([result(*findings)], snapshot(prior={}), load_settings(SLACK), NOW)
    actions = slack_actions(plan)
    assert [a.message for a in actions] == ["finding"] * (MAX_FINDING_MESSAGES - 1) + ["roll-up"]
    assert len(actions[-1].findings) == 7


def test_audit_mode_plans_the_messages_it_will_not_send() -> None:
    # Prior findings are not read in audit mode, so newness is unknown: shown as planned, never applied.
    env = dict(SLACK, WARDEN_MODE="audit")
    plan = plan_actions([result(finding("i-1"))], snapshot(prior=None), load_settings(env), NOW)
    assert len(slack_actions(plan)) == 1


def test_a_quiet_sweep_says_nothing() -> None:
    f = finding("i-1")
    plan = plan_actions([result(f)], snapshot(prior={f.id: prior_of(f)}, sweep=True), load_settings(SLACK), NOW)
    assert slack_actions(plan) == []


def test_a_sweep_with_news_gets_one_digest_and_no_single_messages() -> None:
    old, new = finding("i-1"), finding("i-2", Severity.LOW)
    plan = plan_actions(
        [result(old, new)], snapshot(prior={old.id: prior_of(old)}, sweep=True), load_settings(SLACK), NOW
    )
    [action] = slack_actions(plan)
    assert action.message == "digest"
    assert action.findings == (new,)  # new at any severity: the digest is where low ones are told


def test_a_sweep_that_resolves_something_gets_a_digest() -> None:
    gone = finding("i-9")
    inst = Instance("i-9", "running", ACCOUNT, REGION)
    plan = plan_actions(
        [result(passed=frozenset({"i-9"}))],
        snapshot((inst,), prior={gone.id: prior_of(gone)}, sweep=True),
        load_settings(SLACK),
        NOW,
    )
    [action] = slack_actions(plan)
    assert action.message == "digest" and len(action.resolutions) == 1


@pytest.mark.parametrize(
    ("due_in", "schedule", "digest"),
    [
        (timedelta(hours=23, minutes=30), "rate(1 hour)", True),  # came within a day since the last sweep
        (timedelta(hours=18), "rate(1 hour)", False),  # already announced; no digest of its own
        (timedelta(minutes=30), "rate(1 hour)", True),  # the last call: the next sweep stops it
        (timedelta(hours=18, minutes=1), "rate(6 hours)", True),  # entered since the sweep 6 h ago
        (timedelta(hours=18), "rate(6 hours)", False),  # the sweep 6 h ago saw it at exactly 24 h
        (timedelta(hours=18), "cron(0 * * * ? *)", True),  # no fixed interval: every sweep, as before
        (timedelta(days=6), "rate(1 hour)", False),  # not within a day
    ],
)
def test_a_stop_deadline_is_worth_a_digest_when_it_comes_within_a_day_and_at_the_last_call(
    due_in, schedule, digest
) -> None:
    when = (NOW + due_in).strftime("%Y-%m-%dT%H:%M:%SZ")
    soon = Instance("i-5", "running", ACCOUNT, REGION, tags={"warden:stop-after": when})
    settings = load_settings(SLACK | {"SWEEP_SCHEDULE": schedule})
    plan = plan_actions([result()], snapshot((soon,), prior={}, sweep=True), settings, NOW)
    assert len(slack_actions(plan)) == (1 if digest else 0)


def test_an_hourly_sweep_reminds_a_deadline_twice_not_every_hour() -> None:
    # GIVEN a stop deadline two days out WHEN 48 hourly sweeps run up to it THEN two digests of its own
    deadline = NOW + timedelta(days=2)
    inst = Instance(
        "i-5", "running", ACCOUNT, REGION, tags={"warden:stop-after": deadline.strftime("%Y-%m-%dT%H:%M:%SZ")}
    )
    settings = load_settings(SLACK | {"SWEEP_SCHEDULE": "rate(1 hour)"})
    digests = [
        hour
        for hour in range(48)
        if slack_actions(
            plan_actions([result()], snapshot((inst,), prior={}, sweep=True), settings, NOW + timedelta(hours=hour))
        )
    ]
    assert digests == [24, 47]  # as it comes within a day, and in the last sweep before the stop


def test_mode_gate_lists_notify_slack_for_notify_and_enforce_only() -> None:
    from chalicelib.model import ACTION_MODES

    assert ACTION_MODES[ActionKind.NOTIFY_SLACK] == frozenset({Mode.NOTIFY, Mode.ENFORCE})
    assert ActionKind.NOTIFY_SLACK.value == "notify-slack"
