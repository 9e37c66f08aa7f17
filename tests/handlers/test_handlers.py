"""app.py's handlers through chalice.test.Client, with real published events and built ones."""

from __future__ import annotations

import copy

import pytest

from chalicelib.runtime import entry
from devtools import events
from devtools.fleet import base_network, launch, make_group, seed_exposure_fleet, tcp
from tests.conftest import shared_event
from tests.unit.test_scope import MALFORMED

# Published events in the EventBridge envelope: the handler whose rule's source and detail-type
# match each (the SSM command notifications go to on_patch_command, the only rule on aws.ssm; the
# Security Hub event matches no rule and is sent to on_ec2_api_call to show it is refused), and what
# that handler must answer: why it ignores the event, or the AWS calls its run makes (the fleet is
# empty, so a run reads and finds nothing).
FOREIGN = (
    "the event is for account 000000000000, but this run's credentials act in account 123456789012: "
    "refused, nothing written"
)
ENVELOPED = {
    # The two samples of account 000000000000 (sanitized by their publisher): the resource's account
    # decides, so a run with moto's credentials (account 123456789012) reads, then refuses to write.
    "cloudtrail-authorize-security-group-ingress-ipv4-ipv6-open.json": (
        "on_ec2_api_call",
        FOREIGN,
        {"ec2:DescribeNetworkInterfaces": 1, "sts:GetCallerIdentity": 1},
    ),
    "cloudtrail-create-security-group.json": (
        "on_ec2_api_call",
        "CreateSecurityGroup is not a call ec2-warden responds to",
        {},
    ),
    "cloudtrail-modify-instance-attribute-disable-api-termination.json": (
        "on_ec2_api_call",
        FOREIGN,
        {"ec2:DescribeInstances": 1, "sts:GetCallerIdentity": 1},  # refused before Security Hub is read
    ),
    "cloudtrail-run-instances-wrapped.json": (
        "on_ec2_api_call",
        "region us-west-1 is not one this deployment serves (SWEEP_REGIONS)",
        {},
    ),
    "ec2-instance-state-change-terminated.json": ("on_instance_state_change", "state 'terminated' needs no check", {}),
    "scheduled-event.json": (
        "sweep",
        None,
        {"ec2:DescribeInstances": 1, "securityhub:GetFindings": 1, "sts:GetCallerIdentity": 1},
    ),
    "securityhub-findings-imported.json": (
        "on_ec2_api_call",
        "detail-type 'Security Hub Findings - Imported' is not handled",
        {},
    ),
    "ssm-ec2-command-invocation-status-change.json": (
        "on_patch_command",
        "ran AWS-RunPowerShellScript, not AWS-RunPatchBaseline",
        {},
    ),
    "ssm-ec2-command-status-change.json": (
        "on_patch_command",
        "ran AWS-RunPowerShellScript, not AWS-RunPatchBaseline",
        {},
    ),
}


@pytest.fixture(autouse=True)
def _exposure_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # The exposure story alone; the drift checks' handlers are in test_drift_handlers.py.
    monkeypatch.setenv("WARDEN_CHECKS", "public-exposure")


def hub_count(securityhub) -> int:
    return sum(len(p["Findings"]) for p in securityhub.get_paginator("get_findings").paginate())


@pytest.mark.parametrize("name", sorted(ENVELOPED))
def test_published_events_are_handled_or_ignored_with_a_reason(lambda_client, securityhub, name):
    handler, reason, api_calls = ENVELOPED[name]
    # GIVEN a real published event, as published
    event = shared_event(name)
    # WHEN the handler its rule targets receives it
    report = lambda_client.lambda_.invoke(handler, event).payload
    # THEN it ran the pipeline with exactly the reads expected, or ignored the event saying why and
    # calling nothing; no error either way, and nothing written for ids that do not exist
    assert report["errors"] == []
    if reason is None:
        assert report["ignored"] is None
    else:
        assert reason in report["ignored"]
    assert report["api_calls"] == api_calls
    assert report["findings"] == []
    assert hub_count(securityhub) == 0


def test_pending_state_change_without_version_is_ignored():
    # As published this sample lacks "version", which EventBridge always sends and Chalice's event
    # class requires; the entry function behind the handler takes it as it is.
    report = entry.handle_event(shared_event("ec2-instance-state-change-pending.json"))
    assert report["ignored"] == "state 'pending' needs no check" and report["api_calls"] == {}


def test_an_authorize_event_posts_the_exposure(lambda_client, ec2, securityhub):
    network = base_network(ec2)
    group = make_group(ec2, network, "runner", [])
    box = launch(ec2, network, "runner", subnet=network.public_subnet, groups=[group])
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[tcp(22, v4="0.0.0.0/0")])
    report = lambda_client.lambda_.invoke("on_ec2_api_call", events.authorize_ingress(group, 22)).payload
    assert report["mode"] == "notify"  # the dev stage's setting, applied during the invocation only
    assert [(f["resource_id"], f["severity"], f["status"]) for f in report["findings"]] == [(box, "CRITICAL", "new")]
    assert hub_count(securityhub) == 1


def test_state_change_running_checks_the_instance(lambda_client, ec2):
    fleet = seed_exposure_fleet(ec2)
    box = fleet.instances["ipv4-ssh-open"]
    report = lambda_client.lambda_.invoke("on_instance_state_change", events.state_change(box, "running")).payload
    assert [f["resource_id"] for f in report["findings"]] == [box]


def test_generated_cloudwatch_event_reaches_the_handler(lambda_client, ec2):
    fleet = seed_exposure_fleet(ec2)
    box = fleet.instances["postgres-open"]
    event = lambda_client.events.generate_cw_event(
        source="aws.ec2",
        detail_type="EC2 Instance State-change Notification",
        detail={"instance-id": box, "state": "running"},
        resources=[f"arn:aws:ec2:us-east-1:123456789012:instance/{box}"],
        region="us-east-1",
    )
    report = lambda_client.lambda_.invoke("on_instance_state_change", event).payload
    assert [(f["resource_id"], f["severity"]) for f in report["findings"]] == [(box, "HIGH")]


def test_scheduled_sweep_covers_the_fleet(lambda_client, ec2, securityhub):
    fleet = seed_exposure_fleet(ec2)
    event = lambda_client.events.generate_cw_event(
        source="aws.events",
        detail_type="Scheduled Event",
        detail={},
        resources=["arn:aws:events:us-east-1:123456789012:rule/sweep"],
        region="us-east-1",
    )
    report = lambda_client.lambda_.invoke("sweep", event).payload
    assert {f["resource_id"] for f in report["findings"]} == fleet.exposed_ids()
    assert hub_count(securityhub) == len(fleet.exposed_ids())


def test_a_sweep_with_more_findings_than_a_response_holds_answers_without_the_list(
    lambda_client, ec2, securityhub, monkeypatch
):
    # GIVEN a fleet with more findings than the handler's answer may carry (bound lowered for the test)
    fleet = seed_exposure_fleet(ec2)
    monkeypatch.setattr(entry, "MAX_RESPONSE_FINDINGS", 2)
    event = lambda_client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[], region="us-east-1"
    )
    # WHEN the scheduled sweep runs
    report = lambda_client.lambda_.invoke("sweep", event).payload
    # THEN the answer says how many it left out, and every finding still reached Security Hub
    assert report["findings"] == [] and report["findings_omitted"] == len(fleet.exposed_ids()) > 2
    assert report["census"] and report["api_calls"]
    assert hub_count(securityhub) == len(fleet.exposed_ids())


def _enveloped(variant):
    """Malformed variants that still reach Chalice as an EventBridge envelope."""
    event = variant()
    if not isinstance(event, dict) or "detail-type" not in event or not isinstance(event.get("detail-type"), str):
        return None
    for key in ("version", "id", "source", "account", "time", "region", "resources", "detail"):
        if key not in event:
            return None
    return event


ENVELOPED_MALFORMED = {name: ev for name, v in MALFORMED.items() if (ev := _enveloped(v)) is not None}


def test_enough_malformed_variants_reach_the_handler():
    assert len(ENVELOPED_MALFORMED) >= 20


@pytest.mark.parametrize("name", sorted(ENVELOPED_MALFORMED))
def test_malformed_event_is_refused_and_nothing_is_written(lambda_client, ec2, securityhub, name):
    network = base_network(ec2)
    launch(
        ec2,
        network,
        "open",
        subnet=network.public_subnet,
        groups=[make_group(ec2, network, "ssh", [tcp(22, v4="0.0.0.0/0")])],
    )
    before = ec2.describe_instances()
    event = copy.deepcopy(ENVELOPED_MALFORMED[name])
    function = (
        "on_instance_state_change"
        if event.get("detail-type") == "EC2 Instance State-change Notification"
        else "on_ec2_api_call"
    )
    report = lambda_client.lambda_.invoke(function, event).payload
    assert [e["where"] for e in report["errors"]] == ["event"]
    assert report["api_calls"] == {} and report["findings"] == []
    assert hub_count(securityhub) == 0
    assert ec2.describe_instances()["Reservations"] == before["Reservations"]


def test_event_from_a_region_this_function_does_not_serve_is_ignored(lambda_client, ec2):
    event = events.authorize_ingress("sg-0123456789abcdef0", 22, region="ap-south-1")
    event["region"] = "ap-south-1"
    report = lambda_client.lambda_.invoke("on_ec2_api_call", event).payload
    assert "SWEEP_REGIONS" in report["ignored"] and report["api_calls"] == {}
