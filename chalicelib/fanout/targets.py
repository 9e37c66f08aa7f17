"""Organisation-wide fan-out, the pure part: which (account, region) pairs a sweep covers, the SQS
message that carries one pair to the worker, and the worker's answer to Lambda.

No boto3, no clock, no environment: the adapters are in fanout_aws.py, the flow in fanout_entry.py."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from chalicelib.model import Mode, ReadError
from chalicelib.rules import ids
from chalicelib.settings import Settings

T = TypeVar("T")

MESSAGE_VERSION = 1
SQS_BATCH_LIMIT = 10  # SendMessageBatch takes at most 10 entries
MAX_BODY_BYTES = 1024  # ours are ~110 bytes; anything larger is not one of ours


class MessageError(ValueError):
    """An SQS message body that is not a fan-out target."""


@dataclass(frozen=True, order=True)
class Target:
    account: str
    region: str


def plan_targets(accounts: Iterable[str], regions: Iterable[str]) -> tuple[Target, ...]:
    """Every account x region, each once, accounts in the order given, then regions."""
    regions = tuple(dict.fromkeys(regions))
    return tuple(Target(a, r) for a in dict.fromkeys(accounts) for r in regions)


def sweep_regions(settings: Settings, own_region: str) -> tuple[str, ...]:
    return settings.sweep_regions or (own_region,)


def outside_plan(target: Target, settings: Settings, own_account: str | None, own_region: str | None) -> str | None:
    """Why a received target is not one this deployment's sweep would send, or None.

    The queue's own policy decides who may send; this is the worker's second look, so that a
    hand-made or stale message cannot point the member role at accounts or regions the settings
    leave out. With SWEEP_ACCOUNTS=organization any account is in (membership is read at send time)."""
    if not settings.sweeps_organization:
        accounts = settings.sweep_accounts or ((own_account,) if own_account else ())
        if accounts and target.account not in accounts:
            return f"account {target.account} is not in SWEEP_ACCOUNTS"
    regions = settings.sweep_regions or ((own_region,) if own_region else ())
    if regions and target.region not in regions:
        return f"region {target.region} is not in SWEEP_REGIONS"
    return None


def member_role_arn(account: str, role_name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:role/{role_name}"


def encode_target(target: Target, sweep_id: str | None) -> str:
    return json.dumps(
        {"version": MESSAGE_VERSION, "account": target.account, "region": target.region, "sweep_id": sweep_id},
        separators=(",", ":"),
        sort_keys=True,
    )


def decode_target(body: Any) -> tuple[Target, str | None]:
    """(target, sweep id) from a message body; MessageError if it is not one of ours."""
    if not isinstance(body, str) or len(body) > MAX_BODY_BYTES:
        raise MessageError("the body is not a fan-out message (not a short JSON string)")
    try:
        data = json.loads(body)
    except ValueError:
        raise MessageError("the body is not JSON") from None
    if not isinstance(data, dict) or data.get("version") != MESSAGE_VERSION:
        raise MessageError(f"not a version {MESSAGE_VERSION} fan-out message")
    account, region, sweep_id = data.get("account"), data.get("region"), data.get("sweep_id")
    if not ids.is_account_id(account):
        raise MessageError(f"account {account!r} is not a 12-digit account id")
    if not ids.is_region(region):
        raise MessageError(f"region {region!r} is not a region name")
    if sweep_id is not None and not isinstance(sweep_id, str):
        raise MessageError("sweep_id is not a string")
    return Target(account, region), sweep_id


def chunks(items: Sequence[T], size: int = SQS_BATCH_LIMIT) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class MessageResult:
    """What the worker did with one message: a summary, so ten of them fit in Lambda's 6 MB answer."""

    message_id: str
    target: Target | None
    failed: bool
    ignored: str | None = None
    errors: tuple[str, ...] = ()
    instances: int = 0
    findings: int = 0
    api_calls: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "account": self.target.account if self.target else None,
            "region": self.target.region if self.target else None,
            "failed": self.failed,
            "ignored": self.ignored,
            "errors": list(self.errors),
            "instances": self.instances,
            "findings": self.findings,
            "api_calls": self.api_calls,
        }


def batch_response(results: Sequence[MessageResult]) -> dict[str, Any]:
    """Lambda's partial batch response: the failed messages alone go back to the queue.

    Lambda reads only `batchItemFailures` (with ReportBatchItemFailures on the mapping); `results`
    is for people and tests."""
    return {
        "batchItemFailures": [{"itemIdentifier": r.message_id} for r in results if r.failed],
        "results": [r.to_dict() for r in results],
    }


@dataclass
class FanoutReport:
    """The scheduled sweep's report when it fans out instead of sweeping. Keys are public."""

    mode: Mode
    sweep_id: str | None
    targets: tuple[Target, ...] = ()
    sent: list[Target] = field(default_factory=list)
    failed: dict[Target, str] = field(default_factory=dict)
    errors: list[ReadError] = field(default_factory=list)
    api_calls: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode.value,
            "trigger": "fanout",
            "event_id": self.sweep_id,
            "targets": len(self.targets),
            "accounts": len({t.account for t in self.targets}),
            "regions": len({t.region for t in self.targets}),
            "sent": len(self.sent),
            "failed": [{"account": t.account, "region": t.region, "error": e} for t, e in sorted(self.failed.items())],
            "errors": [{"where": e.where, "message": e.message} for e in self.errors],
            "api_calls": dict(sorted(self.api_calls.items())),
        }
