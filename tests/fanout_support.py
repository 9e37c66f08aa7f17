"""Test tooling for the organisation-wide sweep: member accounts in moto, and the two refusals
moto does not make by itself (an AssumeRole of a missing role: devtools/moto_sts.py; EC2 in a region not enabled).

Both refusals sit inside moto's backend or at botocore's before-send, so the product's own code
(adapters, retries, error handling) runs exactly as against AWS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS

from devtools.moto_sts import roles_must_exist

HOME = "123456789012"  # moto's default account: the home account's own credentials
MEMBER_ROLE = "ec2-warden-member"  # the writer (WARDEN_MEMBER_ROLE): enforce assumes it
READER_ROLE = "ec2-warden-member-reader"  # WARDEN_MEMBER_READER_ROLE: audit and notify assume it
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HOME}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def member_session(account: str, region: str = "us-east-1") -> boto3.session.Session:
    """A session acting in `account` (moto keeps state per account), for seeding and inspection.

    Use it before `roles_must_exist()` is on, or after creating the member role."""
    creds = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{MEMBER_ROLE}", RoleSessionName="test-seeding"
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=region,
    )


def create_member_role(account: str) -> None:
    """What the member-role StackSet does in each member account with AllowEnforce=true: the
    reader and the writer (their names, not their policies: moto does not enforce IAM)."""
    iam = member_session(account).client("iam")
    for name in (READER_ROLE, MEMBER_ROLE):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


@contextmanager
def refused(host: str, code: str, message: str, status: int, *, json_protocol: bool = False) -> Iterator[None]:
    """Every request to `host` (like ec2.ap-east-1.amazonaws.com) answers this AWS error. Goes
    ahead of moto's own before-send hook, for clients created inside the block."""
    if json_protocol:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {"x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.1"}
    else:
        body = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
            "<RequestID>test</RequestID></Response>"
        ).encode()
        headers = {}

    def refuse(request: Any, **_: Any) -> AWSResponse | None:
        if f"://{host}" in request.url:
            return AWSResponse(request.url, status, headers, _Raw(body))
        return None

    entry = ("before-send", refuse)
    BUILTIN_HANDLERS.insert(0, entry)
    try:
        yield
    finally:
        BUILTIN_HANDLERS.remove(entry)


def region_not_enabled(region: str) -> Any:
    """EC2 in an opt-in region the account has not enabled refuses the credentials."""
    return refused(
        f"ec2.{region}.amazonaws.com",
        "AuthFailure",
        "AWS was not able to validate the provided access credentials",
        401,
    )


def sqs_records(bodies: list[str]) -> list[dict[str, Any]]:
    """SQS records as Lambda delivers them, one distinct messageId each."""
    return [
        {"messageId": f"msg-{i}", "receiptHandle": f"rh-{i}", "body": body, "eventSource": "aws:sqs"}
        for i, body in enumerate(bodies)
    ]


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message on the queue, as Lambda would hand them to the worker."""
    out: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        out.extend({"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]} for m in got)
        sqs.delete_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
        )


__all__ = [
    "HOME",
    "MEMBER_ROLE",
    "READER_ROLE",
    "create_member_role",
    "drain",
    "member_session",
    "refused",
    "region_not_enabled",
    "roles_must_exist",
    "sqs_records",
]
