"""Who did it, end to end on moto with a local Slack sink: a console change by an assumed-role
session names the role, the session and the address in the JSON report, Security Hub and Slack; a
later sweep keeps it; the same change made as root is raised one step; launches are tagged."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from chalicelib.adapters.clients import AwsClients
from chalicelib.model import ActionKind
from chalicelib.pipeline import run, run_event
from chalicelib.plan.actor import LAUNCHED_BY_TAG, ROOT_REASON
from chalicelib.settings import load_settings
from devtools import events
from devtools.slack_sink import SlackSink, block_kit_violations
from tests.integration.slack_world import ACCOUNT, NOW, PARAMETER, REGION, World, sweep

pytestmark = pytest.mark.network_local
FIXTURE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "cloudtrail-authorize-ingress-assumed-role-console-no-mfa.json"
)
SLACK = {"SLACK_WEBHOOK_PARAMETER": PARAMETER, "WARDEN_CHECKS": "public-exposure"}
ROLE = "arn:aws:iam::111122223333:role/PlatformEngineer"
SESSION = "alice"
ADDRESS = "198.51.100.23"
# The root identity of the EC2 user guide's published TerminateInstances sample
# (tests/fixtures/published/cloudtrail-raw-terminate-instances-logfile.json), in moto's account.
ROOT_IDENTITY = {
    "type": "Root",
    "principalId": ACCOUNT,
    "arn": f"arn:aws:iam::{ACCOUNT}:root",
    "accountId": ACCOUNT,
    "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
}


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(var, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield World()


@pytest.fixture
def sink() -> Iterator[SlackSink]:
    with SlackSink() as running:
        yield running


def console_event(group_id: str, *, mfa: bool = True, root: bool = False) -> dict[str, Any]:
    """The fixture's console AuthorizeSecurityGroupIngress, aimed at moto's account and group."""
    event = json.loads(FIXTURE.read_text().replace("111122223333", ACCOUNT).replace("sg-0123456789abcdef0", group_id))
    detail = event["detail"]
    detail["requestParameters"]["ipPermissions"]["items"][0].update(fromPort=3306, toPort=3306)
    detail["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"] = "true" if mfa else "false"
    if root:
        detail["userIdentity"] = copy.deepcopy(ROOT_IDENTITY)
        detail["userAgent"] = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1"
    return event


def settings(env: dict[str, str] | None = None, mode: str = "notify"):
    return load_settings({"WARDEN_MODE": mode, "AWS_REGION": REGION, **SLACK, **(env or {})})


def hub(world: World) -> dict[str, dict[str, Any]]:
    return {f["Id"]: f for page in world.securityhub.get_paginator("get_findings").paginate() for f in page["Findings"]}


def test_a_console_change_names_role_session_and_address_everywhere_and_a_sweep_keeps_it(world, sink):
    # GIVEN an exposed database port opened from the console by role PlatformEngineer, session alice
    world.store_webhook(sink.url)
    group = world.open_group("orders-db-sg", [3306])
    instance = world.launch(group, Name="orders-db")
    # WHEN the CloudTrail event runs through the pipeline in notify mode
    report = run_event(console_event(group), settings(), AwsClients(REGION), NOW)
    # THEN the JSON report's finding names who did it
    [data] = report.to_dict()["findings"]
    assert data["resource_id"] == instance and data["severity"] == "HIGH"
    actor = data["details"]["actor"]
    assert (actor["role_arn"], actor["session_name"], actor["source_ip"]) == (
        ROLE.replace("111122223333", ACCOUNT),
        SESSION,
        ADDRESS,
    )
    assert (actor["type"], actor["client"], actor["mfa"]) == ("AssumedRole", "console", True)
    # AND Security Hub holds the API call and the actor fields
    [posted] = hub(world).values()
    call = posted["Action"]["AwsApiCallAction"]
    assert posted["Action"]["ActionType"] == "AWS_API_CALL"
    assert (call["Api"], call["ServiceName"], call["CallerType"]) == (
        "AuthorizeSecurityGroupIngress",
        "ec2.amazonaws.com",
        "remoteip",
    )
    assert call["RemoteIpDetails"] == {"IpAddressV4": ADDRESS}
    fields = posted["ProductFields"]
    assert fields["ec2-warden/Actor"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/PlatformEngineer/{SESSION}"
    assert fields["ec2-warden/ActorType"] == "AssumedRole"
    assert fields["ec2-warden/SourceIp"] == ADDRESS
    assert fields["ec2-warden/EventId"] == console_event(group)["detail"]["eventID"]
    assert fields["ec2-warden/ActorRole"] == ROLE.replace("111122223333", ACCOUNT)
    assert fields["ec2-warden/ActorSession"] == SESSION
    # AND the Slack message names them, within Block Kit's limits
    [message] = sink.messages
    assert block_kit_violations(message) == []
    [text] = sink.rendered()
    for expected in ("PlatformEngineer", SESSION, ADDRESS, "AssumedRole", "console"):
        assert expected in text, expected
    assert "without MFA" not in text and "root user" not in text
    # WHEN a notify sweep re-imports the finding a day later (it has no actor of its own)
    later = run(sweep(), settings(), AwsClients(REGION), NOW + timedelta(hours=25))
    [swept] = later.to_dict()["findings"]
    assert swept["status"] == "refreshed" and "actor" not in swept["details"]
    assert later.api_calls.get("securityhub:BatchImportFindings") == 1
    # THEN Security Hub still says who raised it
    [kept] = hub(world).values()
    assert kept["UpdatedAt"] != posted["UpdatedAt"]
    assert kept["Action"] == posted["Action"]
    for key in ("ec2-warden/Actor", "ec2-warden/ActorType", "ec2-warden/SourceIp", "ec2-warden/EventId"):
        assert kept["ProductFields"][key] == fields[key]


def test_the_same_change_made_as_root_is_raised_one_step_and_stays_raised(world, sink):
    world.store_webhook(sink.url)
    group = world.open_group("orders-db-sg", [3306])
    world.launch(group, Name="orders-db")
    # WHEN the change is made as the account's root user
    report = run_event(console_event(group, root=True), settings(), AwsClients(REGION), NOW)
    # THEN its HIGH database exposure is raised to CRITICAL, and every channel says why
    [data] = report.to_dict()["findings"]
    assert data["severity"] == "CRITICAL"
    assert data["details"]["escalated_because"] == ROOT_REASON
    assert data["details"]["actor"]["type"] == "Root"
    [posted] = hub(world).values()
    assert posted["Severity"]["Label"] == "CRITICAL"
    assert posted["ProductFields"]["ec2-warden/EscalatedBecause"] == ROOT_REASON
    assert posted["Description"].startswith("Raised from HIGH to CRITICAL")
    [text] = sink.rendered()
    assert "root user" in text and f"arn:aws:iam::{ACCOUNT}:root" in text
    # AND with the setting off, the same change keeps the check's own severity
    off = run_event(
        console_event(group, root=True), settings({"ESCALATE_UNUSUAL_ACTOR": "off"}), AwsClients(REGION), NOW
    )
    assert off.to_dict()["findings"][0]["severity"] == "HIGH"
    # AND a sweep afterwards finds the raised finding as it was, not a change
    report_again = run_event(
        console_event(group, root=True), settings(), AwsClients(REGION), NOW + timedelta(minutes=1)
    )
    assert report_again.to_dict()["findings"][0]["severity"] == "CRITICAL"
    later = run(sweep(), settings(), AwsClients(REGION), NOW + timedelta(minutes=5))
    [swept] = later.to_dict()["findings"]
    assert (swept["severity"], swept["status"]) == ("CRITICAL", "unchanged")


def test_a_console_change_without_mfa_is_called_out(world, sink):
    world.store_webhook(sink.url)
    group = world.open_group("orders-db-sg", [3306])
    world.launch(group)
    run_event(console_event(group, mfa=False), settings(), AwsClients(REGION), NOW)
    [text] = sink.rendered()
    assert "without MFA" in text
    assert [f["Severity"]["Label"] for f in hub(world).values()] == ["CRITICAL"]


def test_enforce_tags_launched_instances_with_their_launcher_and_writes_no_other_key(world):
    group = world.open_group("web-sg", [])
    first, second = world.launch(group), world.launch(group)
    event = events.run_instances([first, second], group, region=REGION)
    principal = event["detail"]["userIdentity"]["arn"]
    env = {"WARDEN_MODE": "enforce", "AWS_REGION": REGION, "TAG_LAUNCHED_BY": "on", "WARDEN_CHECKS": "public-exposure"}
    enforce = load_settings(env)
    clients = AwsClients(REGION)
    sent: list[tuple[str, dict[str, Any]]] = []
    clients.get("ec2").meta.events.register(
        "provide-client-params.ec2", lambda params, model, **_: sent.append((model.name, params))
    )
    # WHEN enforce runs the RunInstances event
    report = run_event(event, enforce, clients, NOW)
    # THEN both instances carry their launcher, in one CreateTags call naming that key alone
    [outcome] = [a for a in report.actions if a.kind is ActionKind.TAG_LAUNCHED_BY]
    assert outcome.done and outcome.error is None
    tags = {
        i["InstanceId"]: {t["Key"]: t["Value"] for t in i.get("Tags", [])}
        for r in world.ec2.describe_instances(InstanceIds=[first, second])["Reservations"]
        for i in r["Instances"]
    }
    assert {i: t.get(LAUNCHED_BY_TAG) for i, t in tags.items()} == {first: principal, second: principal}
    [(_, request)] = [(n, p) for n, p in sent if n == "CreateTags"]
    assert sorted(request["Resources"]) == sorted([first, second])
    assert request["Tags"] == [{"Key": LAUNCHED_BY_TAG, "Value": principal}]
    # AND a replay writes nothing more
    again = run_event(event, enforce, clients, NOW)
    assert not [a for a in again.actions if a.kind is ActionKind.TAG_LAUNCHED_BY]
    assert "ec2:CreateTags" not in again.api_calls
    # AND notify mode only prints it for a new launch
    third = world.launch(group)
    later = events.run_instances([third], group, region=REGION)
    notify = run_event(later, load_settings({**env, "WARDEN_MODE": "notify"}), AwsClients(REGION), NOW)
    [printed] = [a for a in notify.actions if a.kind is ActionKind.TAG_LAUNCHED_BY]
    assert not printed.done and printed.reason.startswith("notify mode: not applied")
    assert "ec2:CreateTags" not in notify.api_calls
