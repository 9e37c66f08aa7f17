"""The fan-out through app.py's handlers (chalice.test.Client, dev stage): the schedule fans out,
sweep_worker answers an SQS batch with Lambda's partial batch response."""

from __future__ import annotations

import boto3
import pytest

from chalicelib.fanout.targets import Target, encode_target
from chalicelib.fanout.worker import FanoutBatchFailed
from devtools.fleet import base_network, launch, make_group
from tests.fanout_support import HOME, create_member_role, drain, member_session, roles_must_exist

# Patch loop (issue 4): these tests are about the fan-out, on fleets SSM manages and keeps patched.
pytestmark = pytest.mark.usefixtures("ssm_manages_every_instance")

MEMBER_A = "111111111111"
MEMBER_B = "222222222222"
QUEUE = "ec2-warden-dev-fanout"  # the dev stage's FANOUT_QUEUE_NAME in .chalice/config.json


@pytest.fixture
def fanout_stage(aws, monkeypatch) -> str:
    """The dev stage with fan-out turned on (what an operator sets per deployment)."""
    url = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName=QUEUE)["QueueUrl"]
    monkeypatch.setenv("FANOUT_QUEUE_URL", url)
    monkeypatch.setenv("SWEEP_ACCOUNTS", f"{HOME},{MEMBER_A},{MEMBER_B}")
    monkeypatch.setenv("SWEEP_REGIONS", "us-east-1,eu-west-1")
    return url


def seed(ec2, count: int) -> None:
    network = base_network(ec2)
    group = make_group(ec2, network, "worker", [])
    for i in range(count):
        launch(ec2, network, f"box-{i}", subnet=network.public_subnet, groups=[group])


def worker_event(lambda_client, targets: list[Target]) -> dict:
    event = lambda_client.events.generate_sqs_event(
        message_bodies=[encode_target(t, "sweep-1") for t in targets], queue_name=QUEUE
    )
    # generate_sqs_event gives every record the same messageId; SQS gives each its own.
    for i, record in enumerate(event["Records"]):
        record["messageId"] = f"msg-{i}"
    return event


def test_the_schedule_fans_out_to_every_account_and_region(lambda_client, fanout_stage):
    event = lambda_client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[], region="us-east-1"
    )
    report = lambda_client.lambda_.invoke("sweep", event).payload
    assert (report["trigger"], report["sent"], report["mode"]) == ("fanout", 6, "notify")
    assert report["api_calls"] == {"sqs:SendMessageBatch": 1}
    assert len(drain(boto3.client("sqs", region_name="us-east-1"), fanout_stage)) == 6


def test_sweep_worker_reports_the_missing_role_as_the_one_batch_item_failure(lambda_client, fanout_stage):
    # GIVEN member A with the member role and 2 instances, member B without the role
    seed(member_session(MEMBER_A).client("ec2"), 2)
    create_member_role(MEMBER_A)
    event = worker_event(lambda_client, [Target(MEMBER_A, "us-east-1"), Target(MEMBER_B, "us-east-1")])
    # WHEN sweep_worker gets both in one batch
    with roles_must_exist():
        payload = lambda_client.lambda_.invoke("sweep_worker", event).payload
    # THEN only B's message is handed back to SQS
    assert payload["batchItemFailures"] == [{"itemIdentifier": "msg-1"}]
    a, b = payload["results"]
    assert (a["account"], a["instances"], a["failed"]) == (MEMBER_A, 2, False)
    assert b["errors"][0].startswith("sts:AssumeRole: AccessDenied")


def test_sweep_worker_raises_when_its_only_message_fails(lambda_client, fanout_stage):
    event = worker_event(lambda_client, [Target(MEMBER_B, "us-east-1")])
    with roles_must_exist(), pytest.raises(FanoutBatchFailed):
        lambda_client.lambda_.invoke("sweep_worker", event)
