"""The resource's account decides: an instance carries its reservation's OwnerId, and an event
that names no account, or another account than the one the run's credentials act in, is refused
with a reason before anything is written (no tag, no command, no finding imported or resolved)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.model import Mode
from chalicelib.pipeline import run_event
from chalicelib.settings import load_settings
from chalicelib.snapshot.ec2 import iter_instances_by_id
from devtools import events
from devtools.fleet import base_network, launch, make_group, tcp

pytestmark = pytest.mark.usefixtures("ssm_manages_every_instance")

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
OWN = "123456789012"  # moto's account: the credentials'
OTHER = "999999999999"
ENFORCE = load_settings({"WARDEN_CHECKS": "public-exposure"}, mode=Mode.ENFORCE)


def open_box(ec2) -> str:
    network = base_network(ec2)
    group = make_group(ec2, network, "ssh-world", [tcp(22, v4="0.0.0.0/0")])
    return launch(ec2, network, "box", subnet=network.public_subnet, groups=[group])


def every_finding(securityhub) -> list[dict]:
    return [f for page in securityhub.get_paginator("get_findings").paginate() for f in page["Findings"]]


def test_an_instance_carries_its_reservations_owner_not_the_account_it_was_asked_for(ec2, clients):
    box = open_box(ec2)
    (instance,) = iter_instances_by_id(clients.ec2, [box], "us-east-1", OTHER)
    assert instance.account == OWN


def test_an_event_for_another_account_is_refused_and_writes_nothing(ec2, clients, securityhub):
    # GIVEN an instance with SSH open to the world, in the credentials' own account
    box = open_box(ec2)
    # WHEN a state-change event naming another account (and this instance's id) arrives in enforce
    report = run_event(events.state_change(box, "running", account=OTHER), ENFORCE, clients, NOW)
    # THEN it is refused with the reason, and nothing is judged or written
    assert report.ignored == (
        f"the event is for account {OTHER}, but this run's credentials act in account {OWN}: refused, nothing written"
    )
    assert (report.findings, report.actions) == ([], [])
    assert every_finding(securityhub) == []
    assert {op for op in report.api_calls} == {"ec2:DescribeInstances"}
    # AND the same event for the right account is judged (the refusal above is the account's doing)
    own = run_event(events.state_change(box, "running", account=OWN), ENFORCE, clients, NOW)
    assert own.ignored is None and [f.resource_id for f in own.findings] == [box]
    assert [f["AwsAccountId"] for f in every_finding(securityhub)] == [OWN]


def test_an_event_for_another_account_naming_no_known_instance_resolves_nothing(ec2, clients, securityhub):
    # GIVEN an open finding of our own
    box = open_box(ec2)
    run_event(events.state_change(box, "running", account=OWN), ENFORCE, clients, NOW)
    # WHEN another account's event names an instance id we do not have
    report = run_event(events.state_change("i-0123456789abcdef0", "running", account=OTHER), ENFORCE, clients, NOW)
    # THEN the credentials' account is asked (nothing to read it from) and the event is refused
    assert report.ignored and f"account {OTHER}" in report.ignored
    assert report.api_calls == {"ec2:DescribeInstances": 1, "sts:GetCallerIdentity": 1}
    assert [f["RecordState"] for f in every_finding(securityhub)] == ["ACTIVE"]


def test_an_event_with_no_account_is_refused(ec2, clients, securityhub):
    box = open_box(ec2)
    event = events.state_change(box, "running")
    del event["account"]
    report = run_event(event, ENFORCE, clients, NOW)
    assert report.ignored == "the event names no account; the resource's account decides, so it is refused"
    assert every_finding(securityhub) == []
