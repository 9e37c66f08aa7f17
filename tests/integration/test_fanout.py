"""Organisation-wide sweep under moto: the fan-out sends accounts x regions messages in the fewest
calls, and the worker sweeps each target in its own account, one failure touching no other."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto.sts.models import sts_backends

from chalicelib.adapters.fanout_aws import send_targets
from chalicelib.adapters.log import logger
from chalicelib.fanout.targets import Target, decode_target, encode_target
from chalicelib.fanout.worker import FanoutBatchFailed, handle_scheduled_sweep, handle_sweep_messages
from chalicelib.runtime import entry
from devtools.fleet import base_network, launch, make_group, tcp
from devtools.slack_sink import SlackSink
from tests.fanout_support import (
    HOME,
    create_member_role,
    drain,
    member_session,
    refused,
    region_not_enabled,
    roles_must_exist,
    sqs_records,
)

# Patch loop (issue 4): these tests are about the fan-out, on fleets SSM manages and keeps patched.
pytestmark = pytest.mark.usefixtures("ssm_manages_every_instance")

MEMBER_A = "111111111111"
MEMBER_B = "222222222222"  # no member role: AssumeRole is refused
SCHEDULED = {"id": "sweep-0001", "detail-type": "Scheduled Event", "source": "aws.events"}


class LambdaContext:
    invoked_function_arn = f"arn:aws:lambda:us-east-1:{HOME}:function:ec2-warden-dev-sweep_worker"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


CONTEXT = LambdaContext()


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    entry._CLIENTS.clear()  # a warm Lambda's cached clients must not leak between tests
    yield
    entry._CLIENTS.clear()


@pytest.fixture(autouse=True)
def _exposure_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fan-out is told with exposure findings; the other checks have their own flows.
    monkeypatch.setenv("WARDEN_CHECKS", "public-exposure")


@pytest.fixture
def queue_url(aws: None) -> str:
    return boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="ec2-warden-fanout")["QueueUrl"]


@pytest.fixture
def fanout_env(monkeypatch: pytest.MonkeyPatch, queue_url: str) -> str:
    monkeypatch.setenv("FANOUT_QUEUE_URL", queue_url)
    return queue_url


def seed(ec2: Any, count: int, *, open_ssh: bool = False) -> list[str]:
    network = base_network(ec2)
    rules = [tcp(22, v4="0.0.0.0/0")] if open_ssh else []
    group = make_group(ec2, network, "fanout", rules)
    return [launch(ec2, network, f"box-{i}", subnet=network.public_subnet, groups=[group]) for i in range(count)]


@pytest.fixture
def organisation(aws: None) -> dict[str, list[str]]:
    """Home: 2 instances. Member A: 3 (one with SSH open to the world) and the member role.
    Member B: 1 instance, no member role."""
    fleet = {HOME: seed(boto3.client("ec2", region_name="us-east-1"), 2)}
    fleet[MEMBER_A] = seed(member_session(MEMBER_A).client("ec2"), 3, open_ssh=True)
    fleet[MEMBER_B] = seed(member_session(MEMBER_B).client("ec2"), 1)
    create_member_role(MEMBER_A)
    return fleet


def body(account: str, region: str = "us-east-1") -> str:
    return encode_target(Target(account, region), "sweep-0001")


def findings_in(session: Any) -> list[dict[str, Any]]:
    hub = session.client("securityhub", region_name="us-east-1")
    return [f for page in hub.get_paginator("get_findings").paginate() for f in page["Findings"]]


# ---------------------------------------------------------------------------------------------
# Fan-out


def test_fanout_sends_one_message_per_account_and_region_in_the_fewest_calls(monkeypatch, fanout_env):
    # GIVEN 3 accounts and 4 regions to sweep
    accounts = ["111111111111", "222222222222", "333333333333"]
    regions = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"]
    monkeypatch.setenv("SWEEP_ACCOUNTS", ",".join(accounts))
    monkeypatch.setenv("SWEEP_REGIONS", ",".join(regions))
    # WHEN the scheduled sweep runs
    report = handle_scheduled_sweep(SCHEDULED, CONTEXT)
    # THEN it sends 12 messages in ceil(12/10) = 2 SendMessageBatch calls, and sweeps nothing itself
    assert (report["trigger"], report["targets"], report["sent"], report["failed"]) == ("fanout", 12, 12, [])
    assert report["api_calls"] == {"sqs:SendMessageBatch": 2}
    # AND the queue holds exactly each account x region once, tagged with the sweep's id
    decoded = [decode_target(m["body"]) for m in drain(boto3.client("sqs", region_name="us-east-1"), fanout_env)]
    assert sorted(t for t, _ in decoded) == sorted(Target(a, r) for a in accounts for r in regions)
    assert {sweep_id for _, sweep_id in decoded} == {"sweep-0001"}


def test_organization_means_every_active_account_listed_page_by_page(monkeypatch, fanout_env):
    # GIVEN an Organization of the home (management) account and 24 more, one of them closed
    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    created = [
        org.create_account(Email=f"m{i}@example.com", AccountName=f"m{i}")["CreateAccountStatus"]["AccountId"]
        for i in range(24)
    ]
    org.close_account(AccountId=created[0])
    monkeypatch.setenv("SWEEP_ACCOUNTS", "organization")
    monkeypatch.setenv("SWEEP_REGIONS", "us-east-1,eu-west-1")
    # WHEN the scheduled sweep runs
    report = handle_scheduled_sweep(SCHEDULED, CONTEXT)
    # THEN 24 active accounts x 2 regions = 48 messages: ListAccounts ceil(25/20) = 2 calls, 5 batches
    assert (report["accounts"], report["regions"], report["sent"]) == (24, 2, 48)
    assert report["api_calls"] == {"organizations:ListAccounts": 2, "sqs:SendMessageBatch": 5}
    sent = {
        decode_target(m["body"])[0].account for m in drain(boto3.client("sqs", region_name="us-east-1"), fanout_env)
    }
    assert created[0] not in sent and HOME in sent and len(sent) == 24


def test_without_a_fanout_queue_the_sweep_sweeps_its_own_account_as_before(organisation):
    report = handle_scheduled_sweep(SCHEDULED, CONTEXT)
    assert report["trigger"] == "sweep"
    assert sorted(report["scope"]["instances"]) == sorted(organisation[HOME])


def test_organization_listing_refused_is_reported_and_nothing_is_sent(monkeypatch, fanout_env):
    # GIVEN a home account that is neither the management account nor a delegated administrator
    monkeypatch.setenv("SWEEP_ACCOUNTS", "organization")
    denied = "You don't have permissions to access this resource."
    with refused("organizations.us-east-1.amazonaws.com", "AccessDeniedException", denied, 400, json_protocol=True):
        report = handle_scheduled_sweep(SCHEDULED, CONTEXT)
    # THEN the error is reported and nothing is sent
    assert report["errors"] == [{"where": "organizations:ListAccounts", "message": f"AccessDeniedException: {denied}"}]
    assert report["sent"] == 0 and "sqs:SendMessageBatch" not in report["api_calls"]


def test_an_organization_without_active_accounts_is_an_error_not_a_quiet_sweep(monkeypatch, fanout_env):
    monkeypatch.setenv("SWEEP_ACCOUNTS", "organization")  # moto: no Organization lists no account
    report = handle_scheduled_sweep(SCHEDULED, CONTEXT)
    assert report["errors"] == [{"where": "fanout", "message": "no target: no ACTIVE account to sweep"}]


# SendMessageBatch's answer for entries that failed, as in the SQS API reference (BatchResultErrorEntry).
def _answer(ok: list[str], failed: list[tuple[str, bool]]) -> dict[str, Any]:
    return {
        "Successful": [{"Id": i, "MessageId": f"m-{i}", "MD5OfMessageBody": "0" * 32} for i in ok],
        "Failed": [
            {
                "Id": i,
                "SenderFault": sender,
                "Code": "InvalidParameterValue" if sender else "InternalError",
                "Message": "x",
            }
            for i, sender in failed
        ],
    }


def test_entries_failed_on_awss_side_are_sent_once_more_and_sender_faults_are_reported():
    sqs = boto3.client("sqs", region_name="us-east-1")
    targets = [Target("111111111111", r) for r in ("us-east-1", "us-west-2", "eu-west-1")]
    messages = [(t, encode_target(t, None)) for t in targets]
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/ec2-warden-fanout"
    with Stubber(sqs) as stub:
        # GIVEN entry 1 fails on AWS's side and entry 2 is refused as the sender's fault
        stub.add_response(
            "send_message_batch",
            _answer(["0"], [("1", False), ("2", True)]),
            {
                "QueueUrl": url,
                "Entries": [{"Id": str(n), "MessageBody": body} for n, (_t, body) in enumerate(messages)],
            },
        )
        stub.add_response(
            "send_message_batch",
            _answer(["0"], []),
            {"QueueUrl": url, "Entries": [{"Id": "0", "MessageBody": messages[1][1]}]},
        )
        # WHEN sent
        result = send_targets(sqs, url, messages)
        stub.assert_no_pending_responses()
    # THEN entry 1 went on its second try; entry 2 is reported, not retried
    assert result.sent == [targets[0], targets[1]]
    assert result.failed == {targets[2]: "InvalidParameterValue: x"}


def test_a_refused_send_stops_the_fanout_and_says_what_was_not_attempted():
    sqs = boto3.client("sqs", region_name="us-east-1")
    messages = [(Target("111111111111", f"us-east-{i}"), "{}") for i in range(1, 13)]
    url = "https://sqs.us-east-1.amazonaws.com/1/q"
    first_ten = [{"Id": str(n), "MessageBody": body} for n, (_t, body) in enumerate(messages[:10])]
    with Stubber(sqs) as stub:
        stub.add_client_error(
            "send_message_batch",
            "AccessDenied",
            "not authorized",
            403,
            expected_params={"QueueUrl": url, "Entries": first_ten},
        )
        result = send_targets(sqs, url, messages)
        stub.assert_no_pending_responses()
    assert result.sent == [] and len(result.failed) == 12
    assert sum(e.startswith("not attempted after: AccessDenied") for e in result.failed.values()) == 2


# ---------------------------------------------------------------------------------------------
# Worker


def test_worker_sweeps_each_account_alone_and_a_missing_role_fails_only_its_message(monkeypatch, organisation):
    monkeypatch.setenv("SWEEP_ACCOUNTS", f"{HOME},{MEMBER_A},{MEMBER_B}")
    monkeypatch.setenv("FANOUT_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/ec2-warden-fanout")
    records = sqs_records([body(HOME), body(MEMBER_A), body(MEMBER_B)])
    # WHEN the worker gets one message per account, member B having no member role
    with roles_must_exist():
        response = handle_sweep_messages(records, CONTEXT)
    home, member_a, member_b = response["results"]
    # THEN only B's message goes back to the queue (partial batch response)
    assert response["batchItemFailures"] == [{"itemIdentifier": "msg-2"}]
    assert "AccessDenied" in member_b["errors"][0] and member_b["errors"][0].startswith("sts:AssumeRole")
    # AND each swept account saw its own instances: the home account's with the function's own
    # credentials, A's through its member role, which costs exactly one call more (AssumeRole)
    assert (home["instances"], home["failed"], member_a["instances"], member_a["failed"]) == (2, False, 3, False)
    assert member_a["api_calls"] == home["api_calls"] + 1
    assert member_a["findings"] == 3  # SSH open to the world on each of A's instances


def test_findings_go_to_the_member_hub_under_the_member_account(monkeypatch, organisation):
    monkeypatch.setenv("WARDEN_MODE", "notify")
    monkeypatch.setenv("SWEEP_ACCOUNTS", MEMBER_A)
    monkeypatch.setenv("FANOUT_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/ec2-warden-fanout")
    with roles_must_exist():
        response = handle_sweep_messages(sqs_records([body(MEMBER_A)]), CONTEXT)
    assert response["batchItemFailures"] == []
    in_member = findings_in(member_session(MEMBER_A))
    assert {f["AwsAccountId"] for f in in_member} == {MEMBER_A}
    assert {f["ProductArn"] for f in in_member} == {
        f"arn:aws:securityhub:us-east-1:{MEMBER_A}:product/{MEMBER_A}/default"
    }
    assert sorted(f["Resources"][0]["Id"].rsplit("/", 1)[1] for f in in_member) == sorted(organisation[MEMBER_A])
    assert findings_in(boto3.session.Session()) == []  # nothing in the home account's hub


def test_findings_destination_home_keeps_them_in_the_home_hub_under_the_home_account(monkeypatch, organisation):
    monkeypatch.setenv("WARDEN_MODE", "notify")
    monkeypatch.setenv("FINDINGS_DESTINATION", "home")
    monkeypatch.setenv("SWEEP_ACCOUNTS", MEMBER_A)
    monkeypatch.setenv("FANOUT_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/ec2-warden-fanout")
    with roles_must_exist():
        first = handle_sweep_messages(sqs_records([body(MEMBER_A)]), CONTEXT)
        # a second sweep reads the open findings back from the home hub: nothing new to post
        second = handle_sweep_messages(sqs_records([body(MEMBER_A)]), CONTEXT)
    assert first["batchItemFailures"] == second["batchItemFailures"] == []
    in_home = findings_in(boto3.session.Session())
    # AWS accepts a default-product finding only from the account in its AwsAccountId
    assert {f["AwsAccountId"] for f in in_home} == {HOME}
    assert {f["ProductFields"]["ec2-warden/ResourceAccount"] for f in in_home} == {MEMBER_A}
    assert {f["Resources"][0]["Id"].split(":")[4] for f in in_home} == {MEMBER_A}
    assert all(f["Id"].startswith(f"ec2-warden/{MEMBER_A}/us-east-1/") for f in in_home)
    assert findings_in(member_session(MEMBER_A)) == []
    assert second["results"][0]["api_calls"] == first["results"][0]["api_calls"] - 1  # no BatchImportFindings


def test_a_region_not_enabled_fails_that_message_and_not_the_others(monkeypatch, organisation):
    monkeypatch.setenv("SWEEP_ACCOUNTS", MEMBER_A)
    monkeypatch.setenv("SWEEP_REGIONS", "us-east-1,ap-east-1")
    monkeypatch.setenv("FANOUT_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/ec2-warden-fanout")
    with roles_must_exist(), region_not_enabled("ap-east-1"):
        response = handle_sweep_messages(sqs_records([body(MEMBER_A, "ap-east-1"), body(MEMBER_A)]), CONTEXT)
    closed, open_ = response["results"]
    assert response["batchItemFailures"] == [{"itemIdentifier": "msg-0"}]
    assert closed["errors"] == [
        "snapshot: could not read instances: AuthFailure: AWS was not able to validate the provided access credentials"
    ]
    assert (open_["failed"], open_["instances"]) == (False, 3)


def test_when_every_message_fails_the_worker_raises_so_lambda_retries_them(monkeypatch, organisation):
    # Without ReportBatchItemFailures on the mapping Lambda would ignore a returned list and
    # delete the batch; an error gets it retried either way.
    monkeypatch.setenv("SWEEP_ACCOUNTS", MEMBER_B)
    monkeypatch.setenv("FANOUT_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/ec2-warden-fanout")
    with roles_must_exist(), pytest.raises(FanoutBatchFailed, match="AccessDenied"):
        handle_sweep_messages(sqs_records([body(MEMBER_B)]), CONTEXT)


def test_a_malformed_message_fails_and_one_outside_the_settings_is_ignored(monkeypatch, organisation):
    monkeypatch.setenv("SWEEP_ACCOUNTS", MEMBER_A)
    monkeypatch.setenv("FANOUT_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/ec2-warden-fanout")
    records = sqs_records(["not json", body(MEMBER_B), body(MEMBER_A, "eu-west-1"), body(MEMBER_A)])
    with roles_must_exist():
        response = handle_sweep_messages(records, CONTEXT)
    malformed, other_account, other_region, good = response["results"]
    assert response["batchItemFailures"] == [{"itemIdentifier": "msg-0"}]
    assert malformed["errors"] == ["message: the body is not JSON"]
    assert (
        other_account["ignored"] == f"account {MEMBER_B} is not in SWEEP_ACCOUNTS" and other_account["api_calls"] == 0
    )
    assert other_region["ignored"] == "region eu-west-1 is not in SWEEP_REGIONS"
    assert good["instances"] == 3


@pytest.fixture
def every_log_line() -> Iterator[io.StringIO]:
    """The product logger's JSON lines at DEBUG and above, extra fields included."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    level = logger.log_level
    logger.addHandler(handler)
    logger.setLevel("DEBUG")
    yield stream
    logger.setLevel(level)
    logger.removeHandler(handler)


def test_fanout_then_worker_covers_every_target_and_never_shows_credentials(
    monkeypatch, fanout_env, organisation, every_log_line
):
    # GIVEN the fan-out of two accounts x two regions
    monkeypatch.setenv("SWEEP_ACCOUNTS", f"{HOME},{MEMBER_A}")
    monkeypatch.setenv("SWEEP_REGIONS", "us-east-1,us-west-2")
    assert handle_scheduled_sweep(SCHEDULED, CONTEXT)["sent"] == 4
    # WHEN the worker receives what is on the queue
    with roles_must_exist():
        response = handle_sweep_messages(drain(boto3.client("sqs", region_name="us-east-1"), fanout_env), CONTEXT)
    # THEN every target was swept, each with its own instances
    swept = {(r["account"], r["region"]): r["instances"] for r in response["results"]}
    assert swept == {
        (HOME, "us-east-1"): 2,
        (HOME, "us-west-2"): 0,
        (MEMBER_A, "us-east-1"): 3,
        (MEMBER_A, "us-west-2"): 0,
    }
    assert response["batchItemFailures"] == []
    # AND no assumed credential appears in the logs or the answer
    shown = every_log_line.getvalue() + json.dumps(response)
    assert "fan-out target swept" in shown  # the log lines are here to be searched
    assumed = [r for backend in sts_backends[MEMBER_A].values() for r in backend.assumed_roles]
    assert assumed, "the worker assumed no role"
    for role in assumed:
        assert role.secret_access_key not in shown and role.session_token not in shown


@pytest.mark.network_local
def test_a_member_sweep_tells_slack_through_the_home_accounts_webhook_parameter(monkeypatch, organisation):
    # GIVEN the webhook SecureString in the home account only, and member A's exposed instances
    with SlackSink() as sink:
        boto3.client("ssm", region_name="us-east-1").put_parameter(
            Name="/ec2-warden/slack-webhook", Value=sink.url, Type="SecureString"
        )
        monkeypatch.setenv("WARDEN_MODE", "notify")
        monkeypatch.setenv("SLACK_WEBHOOK_PARAMETER", "/ec2-warden/slack-webhook")
        monkeypatch.setenv("SWEEP_ACCOUNTS", MEMBER_A)
        monkeypatch.setenv("FANOUT_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/ec2-warden-fanout")
        # WHEN the worker sweeps member A with A's role
        with roles_must_exist():
            response = handle_sweep_messages(sqs_records([body(MEMBER_A)]), CONTEXT)
        # THEN Slack heard about A's account, through the parameter read with the home identity
        assert response["batchItemFailures"] == [] and response["results"][0]["errors"] == []
        assert sink.messages and all(MEMBER_A in text for text in sink.rendered())
