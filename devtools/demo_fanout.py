"""Demo story: the organisation-wide sweep. The schedule fans out one SQS message per account x
region; sweep_worker assumes the member role in each account and sweeps it there; an account
that never got the member role fails alone."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3

from .embedded_aws import patched_environ
from .fleet import base_network, launch, make_group, tcp
from .moto_sts import roles_must_exist

if TYPE_CHECKING:
    from .demo import DemoContext

REGION = "us-east-1"
HOME = "123456789012"  # moto's account for the demo's own credentials
PAYMENTS = "111111111111"
LEGACY = "222222222222"
MEMBER_ROLE = "ec2-warden-member"  # the writer, for an enforce stage
READER_ROLE = "ec2-warden-member-reader"  # the reader, which this (notify) demo assumes
QUEUE = "ec2-warden-dev-fanout"  # the dev stage's FANOUT_QUEUE_NAME


def fanout_story(ctx: DemoContext) -> None:
    ctx.say("\n== Organisation-wide sweep (fan-out) ==")
    if ctx.sink is not None:  # Slack messages earlier stories did not show are theirs, not this story's
        ctx.slack_seen = len(ctx.sink.rendered())
    payments = _member_session(ctx, PAYMENTS)
    ec2 = payments.client("ec2", endpoint_url=ctx.endpoint)
    network = base_network(ec2)
    rdp = make_group(ec2, network, "payments-jump", [tcp(3389, v4="0.0.0.0/0")])
    jumpbox = launch(ec2, network, "payments-jumpbox", subnet=network.public_subnet, groups=[rdp])
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": HOME}, "Action": "*"}]}
    iam = payments.client("iam", endpoint_url=ctx.endpoint)
    for name in (READER_ROLE, MEMBER_ROLE):  # what infra/member-role.yaml creates
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    legacy_ec2 = _member_session(ctx, LEGACY).client("ec2", endpoint_url=ctx.endpoint)
    legacy_network = base_network(legacy_ec2)
    launch(legacy_ec2, legacy_network, "legacy-ftp", subnet=legacy_network.public_subnet, groups=[])
    ctx.say(f"seeded: account {PAYMENTS} (payments) with the member roles and a jumpbox with RDP open to the")
    ctx.say(f"        world ({jumpbox}); account {LEGACY} (legacy) never got the member role")

    queue_url = ctx.client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]
    settings = {"FANOUT_QUEUE_URL": queue_url, "SWEEP_ACCOUNTS": f"{HOME},{PAYMENTS},{LEGACY}", "SWEEP_REGIONS": REGION}
    ctx.say(f"\n-- the hourly sweep, with FANOUT_QUEUE_URL and SWEEP_ACCOUNTS={settings['SWEEP_ACCOUNTS']}")
    with patched_environ({**ctx.settings, **settings}), roles_must_exist():
        report = ctx.handle("sweep", _scheduled_event())
        ctx.say(
            f"   {report['trigger']}: {report['accounts']} account(s) x {report['regions']} region(s) -> "
            f"{report['sent']} message(s) on {QUEUE}, in {report['api_calls'].get('sqs:SendMessageBatch', 0)} "
            "SendMessageBatch call(s); nothing swept by the sweep itself"
        )
        ctx.say("\n-- Lambda hands the queued messages to sweep_worker")
        records = _receive(ctx.client("sqs"), queue_url)
        answer = ctx.handle("sweep_worker", {"Records": records})
    for result in answer["results"]:
        if result["failed"]:
            ctx.say(f"   {result['account']} {result['region']}: FAILED {result['errors'][0]}")
        else:
            how = "own credentials" if result["account"] == HOME else f"role {READER_ROLE}"
            ctx.say(
                f"   {result['account']} {result['region']}: {result['instances']} instance(s) swept with {how}, "
                f"{result['findings']} finding(s), {result['api_calls']} AWS call(s)"
            )
    failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
    ctx.say(
        f"   batchItemFailures: {len(failed)} message(s) go back to the queue (retried, then the redrive "
        "queue); the others are done"
    )
    hub = payments.client("securityhub", endpoint_url=ctx.endpoint)
    held = [f for page in hub.get_paginator("get_findings").paginate() for f in page["Findings"]]
    accounts = sorted({f["AwsAccountId"] for f in held})
    ctx.say(f"   Security Hub of account {PAYMENTS} holds {len(held)} finding(s) under AwsAccountId {accounts}")


def _member_session(ctx: DemoContext, account: str) -> Any:
    """A session acting in `account` (moto keeps state per account): the demo's way to seed it."""
    sts = ctx.client("sts")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{MEMBER_ROLE}", RoleSessionName="demo-seeding")[
        "Credentials"
    ]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )


def _receive(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """What Lambda's poller hands the worker: the messages as SQS event records."""
    records: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        records.extend(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "eventSource": "aws:sqs",
                "awsRegion": REGION,
            }
            for m in batch
        )
    return records


def _scheduled_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": "9f1c5e0a-6d1e-4a53-b0f4-0c1f2f6f7a10",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": HOME,
        "time": "2026-01-01T01:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{HOME}:rule/ec2-warden-dev-sweep"],
        "detail": {},
    }
