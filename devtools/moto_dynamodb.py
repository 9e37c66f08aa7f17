"""Make moto's DynamoDB conditional writes atomic, as DynamoDB's are, for tests with threads.

DynamoDB evaluates a write's ConditionExpression and applies the write as one atomic step per
item: of two concurrent conditional PutItems on an absent key, exactly one succeeds. moto 5.2.5
checks the condition and then writes, with no lock between, in whichever thread made the call
(mock_aws) or served it (ThreadedMotoServer); two threads can both pass the check. The lease tests
(tests/integration/test_races.py) race two runs on purpose, so this restores that one guarantee
with a lock around moto's own single-item writes, and changes nothing else.

Never imported by chalicelib."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

_LOCK = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item")
_ORIGINALS: dict[str, Callable[..., Any]] = {}


def install() -> None:
    """Serialise moto's single-item writes (idempotent)."""
    for name in _WRITES:
        if name in _ORIGINALS:
            continue
        original = getattr(DynamoDBBackend, name)
        _ORIGINALS[name] = original

        @functools.wraps(original)
        def atomic(self: DynamoDBBackend, *args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            with _LOCK:
                return _original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, atomic)


def uninstall() -> None:
    for name, original in _ORIGINALS.items():
        setattr(DynamoDBBackend, name, original)
    _ORIGINALS.clear()


def create_lease_table(dynamodb: Any, name: str) -> None:
    """The lease table as infra/state.yaml declares it: key pk (string), on demand, TTL on expires_at."""
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
