"""The approved-exceptions table (infra/state.yaml): DynamoDB, one item per target and check.

Written only by people, through the CLI (`exception add|remove`, with their own credentials), read
by every run with one Scan (pages of up to 1 MB: a few hundred exceptions are one call). Items:

    target     (hash)   i-... or sg-...
    check      (range)  a check name, or "*" for every check
    reason, requester, approver, expires_at, created_at (ISO 8601 UTC)

`add` is a conditional put (an exception is never overwritten: remove it first, so every change is
an event in the audit trail); `remove` is a conditional delete that returns what it removed. An
item that does not read as an exception (hand-edited, truncated) is skipped and reported; it never
waives anything."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.rules import timefmt
from chalicelib.rules.exceptions import Source, WardenException

ALL_CHECKS = "*"
PAGE_SIZE = 1000


class ExceptionExists(Exception):
    pass


class NoSuchException(Exception):
    pass


@dataclass(frozen=True)
class TableRead:
    exceptions: tuple[WardenException, ...]
    unreadable: tuple[str, ...]  # "target/check: why"


def _time(value: datetime) -> str:
    return timefmt.format_iso(value)


def to_item(e: WardenException) -> dict[str, Any]:
    if e.checks is not None and len(e.checks) != 1:
        raise ValueError("an item holds one check, or every check")
    check = ALL_CHECKS if e.checks is None else next(iter(e.checks))
    item = {
        "target": {"S": e.target},
        "check": {"S": check},
        "reason": {"S": e.reason},
        "requester": {"S": e.requester},
        "approver": {"S": e.approver or ""},
        "expires_at": {"S": _time(e.expires_at)},
    }
    if e.created_at is not None:
        item["created_at"] = {"S": _time(e.created_at)}
    return item


def from_item(item: dict[str, Any]) -> WardenException:
    def text(key: str) -> str:
        return str((item.get(key) or {}).get("S", "")).strip()

    target, check, approver = text("target"), text("check"), text("approver")
    if not target.startswith(("i-", "sg-")) or not check:
        raise ValueError("no target or check")
    if not approver:
        raise ValueError("no approver")
    expires = timefmt.parse_iso_strict(text("expires_at"))
    created = text("created_at")
    return WardenException(
        target=target,
        checks=None if check == ALL_CHECKS else frozenset({check}),
        reason=text("reason") or "(no reason given)",
        requester=text("requester") or "(unknown)",
        expires_at=expires if expires.tzinfo else expires.replace(tzinfo=UTC),
        source=Source.APPROVED,
        approver=approver,
        created_at=timefmt.parse_iso_strict(created) if created else None,
    )


class ExceptionsTable:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def read(self) -> TableRead:
        found: list[WardenException] = []
        bad: list[str] = []
        for item in self._items():
            try:
                found.append(from_item(item))
            except (ValueError, TypeError, AttributeError) as exc:
                where = f"{item.get('target', {}).get('S', '?')}/{item.get('check', {}).get('S', '?')}"
                bad.append(f"{where}: {exc}")
        return TableRead(tuple(found), tuple(bad))

    def add(self, exception: WardenException) -> None:
        from botocore.exceptions import ClientError

        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(exception),
                ConditionExpression="attribute_not_exists(#t)",
                ExpressionAttributeNames={"#t": "target"},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ExceptionExists(f"{exception.target} already has an exception for that check") from None
            raise

    def remove(self, target: str, check: str) -> WardenException:
        from botocore.exceptions import ClientError

        try:
            answer = self._client.delete_item(
                TableName=self._table,
                Key={"target": {"S": target}, "check": {"S": check}},
                ConditionExpression="attribute_exists(#t)",
                ExpressionAttributeNames={"#t": "target"},
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise NoSuchException(f"no exception for {target} / {check}") from None
            raise
        return from_item(answer["Attributes"])

    def _items(self) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("scan")
        for page in paginator.paginate(TableName=self._table, PaginationConfig={"PageSize": PAGE_SIZE}):
            yield from page.get("Items", [])
