"""Fan-out adapters: Organizations (who to sweep), SQS (send the targets), STS (act in a member).

Each takes its client as an argument; raw AWS dicts stay here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters.clients import AWS_ERRORS, TemporaryCredentials, aws_error_message
from chalicelib.fanout.targets import SQS_BATCH_LIMIT, Target, chunks

ORGANIZATIONS_PAGE_SIZE = 20  # ListAccounts' MaxResults allows at most 20
SESSION_SECONDS = 900  # the least STS allows: a worker run is bounded by Lambda's 300 s timeout


def list_active_accounts(client: Any) -> tuple[str, ...]:
    """Every ACTIVE account of the Organization, sorted. Only the management account or a
    delegated administrator of AWS Organizations may call ListAccounts."""
    accounts: set[str] = set()
    paginator = client.get_paginator("list_accounts")
    for page in paginator.paginate(PaginationConfig={"PageSize": ORGANIZATIONS_PAGE_SIZE}):
        for account in page.get("Accounts", []):
            # `State` replaces `Status` (retired by AWS in September 2026); read either.
            if (account.get("State") or account.get("Status")) == "ACTIVE":
                accounts.add(str(account["Id"]))
    return tuple(sorted(accounts))


@dataclass
class SendResult:
    sent: list[Target] = field(default_factory=list)
    failed: dict[Target, str] = field(default_factory=dict)


def send_targets(client: Any, queue_url: str, messages: Sequence[tuple[Target, str]]) -> SendResult:
    """One SendMessageBatch per 10 messages, the fewest calls SQS allows.

    SendMessageBatch answers 200 when entries fail, so `Failed` is read: entries that failed on
    AWS's side are sent once more, those the request got wrong are reported. A call that raises
    (after botocore's retries) stops the fan-out: the queue is missing or not ours to write, and
    every later call would fail the same way; what was not attempted is reported as such."""
    result = SendResult()
    batches = list(chunks(messages, SQS_BATCH_LIMIT))
    for number, batch in enumerate(batches):
        try:
            retry = _send_batch(client, queue_url, batch, result, final=False)
            if retry:
                _send_batch(client, queue_url, retry, result, final=True)
        except AWS_ERRORS as exc:
            message = aws_error_message(exc)
            sent = set(result.sent)
            for target, _ in batch:
                if target not in sent:
                    result.failed[target] = message
            for later in batches[number + 1 :]:
                for target, _ in later:
                    result.failed[target] = f"not attempted after: {message}"
            break
    return result


def _send_batch(
    client: Any, queue_url: str, batch: Sequence[tuple[Target, str]], result: SendResult, *, final: bool
) -> list[tuple[Target, str]]:
    entries = [{"Id": str(i), "MessageBody": body} for i, (_, body) in enumerate(batch)]
    response = client.send_message_batch(QueueUrl=queue_url, Entries=entries)
    failed = {str(f.get("Id")): f for f in response.get("Failed", [])}
    retry: list[tuple[Target, str]] = []
    for i, (target, body) in enumerate(batch):
        failure = failed.get(str(i))
        if failure is None:
            result.sent.append(target)
        elif not final and not failure.get("SenderFault", False):
            retry.append((target, body))
        else:
            result.failed[target] = f"{failure.get('Code', 'Failed')}: {failure.get('Message', '')}".strip()
    return retry


def assume_role(
    client: Any, role_arn: str, session_name: str, duration_seconds: int = SESSION_SECONDS
) -> TemporaryCredentials:
    """Temporary credentials of `role_arn`. Raises ClientError (AccessDenied when the role is
    missing or does not trust the caller). The credentials are returned, never logged."""
    response = client.assume_role(RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=duration_seconds)
    creds = response["Credentials"]
    return TemporaryCredentials(
        access_key_id=creds["AccessKeyId"],
        secret_access_key=creds["SecretAccessKey"],
        session_token=creds["SessionToken"],
        expiration=creds.get("Expiration"),
    )
