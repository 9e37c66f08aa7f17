"""Who did it, through the pure layers: the plan's attribution and raise, launch tags, ASFF and Slack."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from chalicelib.checks import run_checks
from chalicelib.model import ACTION_MODES, ActionKind, FindingStatus, Mode, Resolution, Severity
from chalicelib.notify import FindingNotice, finding_message, rollup_message
from chalicelib.plan import plan_actions
from chalicelib.plan.actor import CONSOLE_REASON, LAUNCHED_BY_TAG, ROOT_REASON
from chalicelib.rules.actor import Actor
from chalicelib.rules.asff import finding_to_asff, prior_from_asff, resolution_to_asff
from chalicelib.settings import load_settings
from tests.builders import NOW, eni, group, instance, rule, snapshot

EXPOSURE = {"WARDEN_CHECKS": "public-exposure"}
WHEN = datetime(2026, 11, 27, 11, 58, 7, tzinfo=UTC)


def actor(**kw) -> Actor:
    base = dict(
        type="AssumedRole",
        principal="arn:aws:sts::111122223333:assumed-role/PlatformEngineer/alice",
        account_id="111122223333",
        role_arn="arn:aws:iam::111122223333:role/PlatformEngineer",
        session_name="alice",
        mfa=False,
        source_ip="198.51.100.23",
        user_agent="console.ec2.amazonaws.com",
        client="console",
        event_time=WHEN,
        event_id="5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a101",
        api="AuthorizeSecurityGroupIngress",
        service="ec2.amazonaws.com",
    )
    return Actor(**(base | kw))


ROOT = actor(
    type="Root",
    principal="arn:aws:iam::111122223333:root",
    role_arn="",
    session_name="",
    mfa=None,
    client="AWS CLI",
    user_agent="aws-cli/2.15.0",
)


def exposed_snapshot(port: int = 3306, who: Actor | None = None, prior=None, **tags: str):
    box = instance("i-00000001", enis=(eni(public_ip="203.0.113.9"),), tags=tags or None)
    world = group("sg-00000001", rule(ports=(port, port), v4=("0.0.0.0/0",)))
    snap = snapshot([box], [world], is_sweep=who is None, prior=prior)
    return replace(snap, actor=who, trigger=who.api if who else "sweep")


def plan_for(snap, env=None, mode="notify"):
    settings = load_settings({**EXPOSURE, **(env or {})}, mode=Mode(mode))
    return plan_actions(run_checks(snap, settings, NOW), snap, settings, NOW)


def test_every_finding_of_an_event_carries_its_actor_and_the_report_shows_it():
    who = actor(mfa=True)
    plan = plan_for(exposed_snapshot(who=who))
    [finding] = plan.findings
    assert finding.actor == who
    assert finding.severity is Severity.HIGH  # MFA was used: nothing unusual
    from chalicelib.model import Report

    report = Report(Mode.NOTIFY, "AuthorizeSecurityGroupIngress", "111122223333", "eu-west-1", findings=[finding])
    details = report.to_dict()["findings"][0]["details"]
    assert details["actor"]["session_name"] == "alice"
    assert details["actor"]["role_arn"] == "arn:aws:iam::111122223333:role/PlatformEngineer"
    assert details["actor"]["source_ip"] == "198.51.100.23"
    assert details["actor"]["event_time"] == "2026-11-27T11:58:07Z"
    assert "escalated_because" not in details
    json.dumps(details)


def test_a_sweep_finding_says_nothing_about_an_actor():
    [finding] = plan_for(exposed_snapshot()).findings
    assert finding.actor is None and finding.escalated_because == ""


@pytest.mark.parametrize(("who", "reason"), [(ROOT, ROOT_REASON), (actor(), CONSOLE_REASON)])
def test_an_unusual_change_is_raised_one_step_and_says_why(who, reason):
    [finding] = plan_for(exposed_snapshot(3306, who)).findings
    assert finding.severity is Severity.CRITICAL  # HIGH for a database port, one step up
    assert finding.escalated_because == reason
    assert finding.title.startswith("Critical: ")
    assert finding.description.startswith(f"Raised from HIGH to CRITICAL: {reason}. Reachable from the internet")


def test_the_raise_stops_at_critical_and_can_be_turned_off():
    [ssh] = plan_for(exposed_snapshot(22, ROOT)).findings
    assert ssh.severity is Severity.CRITICAL and ssh.escalated_because == ""
    [off] = plan_for(exposed_snapshot(3306, ROOT), {"ESCALATE_UNUSUAL_ACTOR": "off"}).findings
    assert off.severity is Severity.HIGH and off.actor == ROOT


def test_not_unusual_a_service_for_root_a_console_with_mfa_or_a_call_that_opens_nothing():
    service_for_root = replace(ROOT, invoked_by="autoscaling.amazonaws.com", api="RunInstances")
    for who in (service_for_root, actor(mfa=True), replace(ROOT, api="CreateTags"), actor(mfa=None)):
        [finding] = plan_for(exposed_snapshot(3306, who)).findings
        assert finding.severity is Severity.HIGH, who


def test_a_later_sweep_keeps_the_raise_and_finds_nothing_changed():
    # GIVEN the finding root's change raised, as Security Hub holds it
    [raised] = plan_for(exposed_snapshot(3306, ROOT)).findings
    payload = finding_to_asff(raised, NOW)
    prior = prior_from_asff(payload)
    assert prior is not None and prior.escalated_because == ROOT_REASON
    # WHEN a sweep (no actor) judges the same instance
    plan = plan_for(exposed_snapshot(3306, None, prior={prior.id: prior}))
    [again] = plan.findings
    # THEN it stays raised, word for word, so it is not a change
    assert again.severity is Severity.CRITICAL and again.actor is None
    assert plan.statuses[again.id] is FindingStatus.UNCHANGED


def test_asff_action_and_actor_fields_for_a_remote_ip():
    [finding] = plan_for(exposed_snapshot(3306, actor())).findings
    payload = finding_to_asff(finding, NOW)
    assert payload["Action"] == {
        "ActionType": "AWS_API_CALL",
        "AwsApiCallAction": {
            "Api": "AuthorizeSecurityGroupIngress",
            "ServiceName": "ec2.amazonaws.com",
            "CallerType": "remoteip",
            "RemoteIpDetails": {"IpAddressV4": "198.51.100.23"},
            "FirstSeen": "2026-11-27T11:58:07.000Z",
            "LastSeen": "2026-11-27T11:58:07.000Z",
        },
    }
    fields = payload["ProductFields"]
    assert fields["ec2-warden/Actor"] == "arn:aws:sts::111122223333:assumed-role/PlatformEngineer/alice"
    assert fields["ec2-warden/ActorType"] == "AssumedRole"
    assert fields["ec2-warden/SourceIp"] == "198.51.100.23"
    assert fields["ec2-warden/EventId"] == "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a101"
    assert fields["ec2-warden/ActorSession"] == "alice"
    assert fields["ec2-warden/ActorMfa"] == "false"
    assert fields["ec2-warden/EscalatedBecause"] == CONSOLE_REASON


def test_asff_an_aws_service_caller_is_a_domain_and_a_bad_address_is_left_out():
    service = replace(ROOT, invoked_by="autoscaling.amazonaws.com", source_ip="autoscaling.amazonaws.com")
    [finding] = plan_for(exposed_snapshot(3306, service)).findings
    call = finding_to_asff(finding, NOW)["Action"]["AwsApiCallAction"]
    assert call["CallerType"] == "domain" and call["DomainDetails"] == {"Domain": "autoscaling.amazonaws.com"}
    assert "RemoteIpDetails" not in call
    [sanitized] = plan_for(exposed_snapshot(3306, actor(source_ip="00.000.000.000", mfa=True))).findings
    call = finding_to_asff(sanitized, NOW)["Action"]["AwsApiCallAction"]
    assert "RemoteIpDetails" not in call and "CallerType" not in call


def test_a_reimport_without_an_actor_keeps_the_one_it_was_raised_with():
    [raised] = plan_for(exposed_snapshot(3306, actor(mfa=True))).findings
    first = finding_to_asff(raised, NOW)
    prior = prior_from_asff(first)
    [swept] = plan_for(exposed_snapshot(3306)).findings
    again = finding_to_asff(swept, NOW, prior=prior)
    assert again["Action"] == first["Action"]
    for key in ("ec2-warden/Actor", "ec2-warden/ActorType", "ec2-warden/SourceIp", "ec2-warden/EventId"):
        assert again["ProductFields"][key] == first["ProductFields"][key]
    resolved = resolution_to_asff(
        Resolution(prior.id, prior.check, prior.resource_id, "fixed", prior), "111122223333", "eu-west-1", NOW
    )
    assert resolved["Action"] == first["Action"]
    assert resolved["ProductFields"]["ec2-warden/Actor"] == first["ProductFields"]["ec2-warden/Actor"]


def test_launch_attribution_is_opt_in_enforce_only_clipped_and_idempotent():
    launcher = replace(actor(api="RunInstances"), principal="arn:aws:sts::111122223333:assumed-role/" + "r" * 300)
    snap = exposed_snapshot(3306, launcher)
    assert not [a for a in plan_for(snap).actions if a.kind is ActionKind.TAG_LAUNCHED_BY]  # off by default
    [tag] = [a for a in plan_for(snap, {"TAG_LAUNCHED_BY": "on"}).actions if a.kind is ActionKind.TAG_LAUNCHED_BY]
    assert tag.resource_ids == ("i-00000001",)
    value = tag.params["tags"][LAUNCHED_BY_TAG]
    assert len(value) == 256 and launcher.principal.startswith(value)
    assert ACTION_MODES[ActionKind.TAG_LAUNCHED_BY] == frozenset({Mode.ENFORCE})
    tagged = exposed_snapshot(3306, launcher, **{LAUNCHED_BY_TAG: value})
    assert not [a for a in plan_for(tagged, {"TAG_LAUNCHED_BY": "on"}).actions if a.kind is ActionKind.TAG_LAUNCHED_BY]
    # only a launch is attributed
    opened = exposed_snapshot(3306, actor())
    assert not [a for a in plan_for(opened, {"TAG_LAUNCHED_BY": "on"}).actions if a.kind is ActionKind.TAG_LAUNCHED_BY]


def test_slack_names_who_did_it_escaped_and_verbatim_with_call_outs():
    hostile = actor(
        session_name="<!channel> & co", principal="arn:aws:sts::111122223333:assumed-role/PlatformEngineer/<!channel>"
    )
    [finding] = plan_for(exposed_snapshot(3306, hostile)).findings
    message = finding_message(FindingNotice(finding, FindingStatus.NEW))
    [section] = [b for b in message["blocks"] if "Changed" in json.dumps(b)]
    text = section["text"]
    assert text["verbatim"] is True
    assert "<!channel>" not in json.dumps(message)
    assert "&lt;!channel&gt; &amp; co" in text["text"]
    assert "198.51.100.23" in text["text"] and "arn:aws:iam::111122223333:role/PlatformEngineer" in text["text"]
    assert "without MFA" in text["text"]
    assert (
        "by `arn:aws:sts::111122223333:assumed-role/PlatformEngineer/&lt;!channel&gt;` (`AssumedRole`, `console`)"
        in message["text"]
    )
    [root_finding] = plan_for(exposed_snapshot(3306, ROOT)).findings
    root_text = json.dumps(finding_message(FindingNotice(root_finding, FindingStatus.NEW)))
    assert "root user" in root_text
    rollup = json.dumps(rollup_message([FindingNotice(root_finding, FindingStatus.NEW)], 9))
    assert "arn:aws:iam::111122223333:root" in rollup


def test_the_table_prints_who_did_it_under_the_finding():
    from chalicelib.cli import render_table
    from chalicelib.model import Report

    [finding] = plan_for(exposed_snapshot(3306, ROOT)).findings
    report = Report(Mode.AUDIT, "AuthorizeSecurityGroupIngress", "111122223333", "eu-west-1", findings=[finding])
    lines = render_table(report.to_dict()).splitlines()
    at = next(i for i, line in enumerate(lines) if "i-00000001" in line and "public-exposure" in line)
    assert lines[at + 1].strip() == (
        "by arn:aws:iam::111122223333:root (Root, AWS CLI) from 198.51.100.23 at 2026-11-27T11:58:07Z"
    )
    assert lines[at + 2].strip() == f"raised a step: {ROOT_REASON}"
    swept = Report(Mode.AUDIT, "sweep", "111122223333", "eu-west-1", findings=plan_for(exposed_snapshot()).findings)
    assert " by " not in render_table(swept.to_dict())
