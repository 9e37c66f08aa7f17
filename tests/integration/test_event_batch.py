"""Queued events: a batch of SQS records coalesced per account and region gives the findings the
events give one at a time, reports each bad record for itself, and costs about one sweep."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib.adapters.member_sessions import MEMBER_SESSIONS
from chalicelib.runtime import entry
from chalicelib.runtime.batch_entry import EventBatchFailed, handle_event_batch
from chalicelib.runtime.entry import handle_event, handle_sweep
from devtools import events
from devtools.fleet import base_network, make_group, tcp
from tests.fanout_support import HOME, sqs_records

pytestmark = pytest.mark.usefixtures("ssm_manages_every_instance")

STRANGER = "999999999999"


class LambdaContext:
    invoked_function_arn = f"arn:aws:lambda:us-east-1:{HOME}:function:ec2-warden-dev-on_event_batch"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


CONTEXT = LambdaContext()


@pytest.fixture(autouse=True)
def _fresh_container(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    entry._CLIENTS.clear()
    MEMBER_SESSIONS.clear()
    monkeypatch.setenv("WARDEN_CHECKS", "public-exposure,launch-hygiene")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.setenv("ALLOWED_ACCOUNTS", HOME)
    yield
    entry._CLIENTS.clear()
    MEMBER_SESSIONS.clear()


@pytest.fixture
def storm(aws: None) -> dict[str, Any]:
    """150 instances in 3 groups (50 each, with a public address); the 200 records of a storm."""
    ec2 = boto3.client("ec2", region_name="us-east-1")
    network = base_network(ec2)
    groups = [make_group(ec2, network, f"tier-{n}", [tcp(22, v4="10.0.0.0/8")]) for n in range(3)]
    instances: dict[str, list[str]] = {}
    for group in groups:
        launched = ec2.run_instances(
            ImageId="ami-12c6146b", MinCount=50, MaxCount=50, SubnetId=network.public_subnet, SecurityGroupIds=[group]
        )
        instances[group] = [i["InstanceId"] for i in launched["Instances"]]
    # what the 30 AuthorizeSecurityGroupIngress did: SSH to the world on tier-0, 5432 on tier-1
    ec2.authorize_security_group_ingress(GroupId=groups[0], IpPermissions=[tcp(22, v4="0.0.0.0/0")])
    ec2.authorize_security_group_ingress(GroupId=groups[1], IpPermissions=[tcp(5432, v4="0.0.0.0/0")])
    good = [events.run_instances([i], g) for g in groups for i in instances[g]]  # 150
    good += [events.authorize_ingress(groups[n % 3], 22 if n % 3 == 0 else 5432) for n in range(30)]  # 30
    unserved = [events.authorize_ingress("sg-0123456789abcdef0", 22, account=STRANGER) for _ in range(10)]
    malformed = [
        "not json",
        json.dumps({"detail-type": "AWS API Call via CloudTrail"}),
        json.dumps(events.run_instances(["i-nothex"], groups[0])),
        json.dumps(["an", "array"]),
        "",
    ]
    duplicates = [good[0], good[7], good[151], good[160], good[179]]
    bodies = [json.dumps(e) for e in good + unserved] + malformed + [json.dumps(e) for e in duplicates]
    return {"good": good, "bodies": bodies, "instances": instances, "groups": groups}


def finding_keys(report: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(f["id"], f["severity"], f["title"]) for f in report["findings"]}


def test_a_storm_of_200_records_costs_one_run_and_finds_what_each_event_finds(storm, monkeypatch):
    records = sqs_records(storm["bodies"])
    assert len(records) == 200
    # WHEN the batch arrives through the queue
    answer = handle_event_batch(records, CONTEXT)
    # THEN the 5 malformed records fail alone, with the field or reason
    failed = {r["message_id"]: r["failed"] for r in answer["records"] if r["failed"]}
    assert sorted(failed) == [f"msg-{i}" for i in range(190, 195)]
    assert answer["batchItemFailures"] == [{"itemIdentifier": m} for m in sorted(failed)]
    assert failed["msg-190"] == "the body is not JSON" and "instancesSet" in failed["msg-192"]
    # AND the 10 of the unserved account and the 5 duplicates are ignored, each with its reason
    ignored = {r["message_id"]: r["ignored"] for r in answer["records"] if r["ignored"]}
    assert len(ignored) == 15
    assert all("ALLOWED_ACCOUNTS" in ignored[f"msg-{i}"] for i in range(180, 190))
    assert all(ignored[f"msg-{i}"].startswith("duplicate of message msg-") for i in range(195, 200))
    # AND the 180 good records ran as one group: one pipeline run for the account and region; the
    # stranger's group was turned away before any AWS call
    group, stranger = answer["groups"]
    assert stranger["events"] == 10 and stranger["report"]["ignored"] and stranger["report"]["api_calls"] == {}
    assert group["events"] == 180 and len(group["report"]["scope"]["instances"]) == 150
    batch_findings = finding_keys(group["report"])

    # Each event alone gives the same findings, together
    alone: set[tuple[str, str, str]] = set()
    for event in storm["good"]:
        alone |= finding_keys(handle_event(event, CONTEXT))
    assert batch_findings == alone
    assert len({f[0] for f in alone if "/public-exposure/" in f[0]}) == 100  # tier-0 and tier-1

    # AND the batch costs what one sweep of these instances costs, give or take the one
    # DescribeNetworkInterfaces that finds the groups' instances
    sweep = handle_sweep({}, CONTEXT)
    assert sweep["scope"]["instances"] and sorted(sweep["scope"]["instances"]) == sorted(
        group["report"]["scope"]["instances"]
    )
    assert sum(answer["api_calls"].values()) <= sum(sweep["api_calls"].values()) + 1
    assert answer["api_calls"]["ec2:DescribeInstances"] == 1

    # AND past EVENT_BATCH_SWEEP_ABOVE instances the group is read like a sweep: at most its calls
    monkeypatch.setenv("EVENT_BATCH_SWEEP_ABOVE", "100")
    guarded = handle_event_batch(records, CONTEXT)
    swept, _ = guarded["groups"]
    assert swept["swept"] is True
    assert sum(guarded["api_calls"].values()) <= sum(sweep["api_calls"].values())
    assert finding_keys(swept["report"]) == batch_findings


def test_groups_are_per_account_and_region_and_a_refused_role_fails_only_its_records(aws, monkeypatch):
    monkeypatch.setenv("ALLOWED_ACCOUNTS", f"{HOME},333333333333")
    monkeypatch.setenv("SWEEP_REGIONS", "us-east-1,eu-west-1")
    from tests.fanout_support import roles_must_exist

    bodies = [
        json.dumps(events.state_change("i-0123456789abcdef0", "running")),
        json.dumps(events.state_change("i-0123456789abcdef1", "running", region="eu-west-1")),
        json.dumps(events.state_change("i-0123456789abcdef2", "running", account="333333333333")),
        json.dumps(events.state_change("i-0123456789abcdef3", "running")),
    ]
    with roles_must_exist():
        answer = handle_event_batch(sqs_records(bodies), CONTEXT)
    groups = [(g["report"]["scope"]["account"], g["report"]["scope"]["region"], g["events"]) for g in answer["groups"]]
    assert groups == [(HOME, "us-east-1", 2), (HOME, "eu-west-1", 1), ("333333333333", "us-east-1", 1)]
    # the member without its role fails its record only
    assert answer["batchItemFailures"] == [{"itemIdentifier": "msg-2"}]
    assert answer["records"][2]["failed"].startswith("sts:AssumeRole: cannot act in account 333333333333")


def test_a_batch_where_every_record_fails_raises_so_lambda_retries_it(aws):
    with pytest.raises(EventBatchFailed, match="not JSON"):
        handle_event_batch(sqs_records(["not json", "{"]), CONTEXT)
