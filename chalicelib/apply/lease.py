"""Per-instance leases in a DynamoDB table: what keeps two concurrent runs from both acting.

The patch cooldown tag and the stop's re-read close duplicates that come one after the other: the
second run reads what the first one wrote. Two runs that read the fleet at the same moment (an
event delivered twice at once, an event racing the sweep, two sweeps overlapping) both pass those
checks, and would both SendCommand or both StopInstances. A conditional PutItem is the atomic
compare-and-set at hand: one item per action and instance ("patch#i-...", "stop#i-..."), written
only when absent or expired. The run that writes it acts; any other run skips that instance and
reports "another run holds the lease".

Cost: one PutItem per instance about to be acted on, right before the write (for a stop, after its
re-read: only instances still due). DynamoDB has no conditional batch write (BatchWriteItem takes
no condition, TransactWriteItems fails as a whole), so one call each is the fewest. A lease whose
action then fails is given back (one DeleteItem, conditioned on still holding it), so the next run
may retry at once instead of waiting out the lease.

Duration: the action's own quiet period, PATCH_COOLDOWN_HOURS for a patch and IDLE_GRACE_HOURS for
a stop. No legitimate second action can come sooner (the cooldown tag holds a patch back anyway; a
stopped instance is stopped again only after a start, a fresh mark and a full grace), so a lease
never delays one. `expires_at` (epoch seconds) is the table's TTL attribute; TTL deletes lazily,
hence `expires_at < :now` in the condition.

Fail closed: when the lease cannot be written (throttled past retries, access denied, no table)
the instance is not acted on this run; the outcome reports it and the next run tries again.
LEASE_TABLE unset: no lease and no call, and concurrent duplicates are not prevented."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.clients import AWS_ERRORS, AwsClients, aws_error_message
from chalicelib.model import Action, Snapshot
from chalicelib.rules.leases import LEASE_TERMS
from chalicelib.rules.leases import LEASED_KINDS as LEASED_KINDS  # re-exported: the one definition is rules/leases.py
from chalicelib.settings import Settings

LEASE_HELD = "another run holds the lease"
LEASE_PARAM = "lease"  # key of an action's params that carries its lease terms

# The kinds whose write must not happen twice, their key prefix, and how long their lease is held.
_LEASED = LEASE_TERMS


def new_holder() -> str:
    """One run's name in the lease table (a run may hold many leases)."""
    return uuid.uuid4().hex


def with_lease(action: Action, settings: Settings | None, holder: str, region: str) -> Action:
    """The action with its lease terms in params, for the kinds that must not run twice; else as is.

    `region`: where the table lives when settings name no region (the function's own region)."""
    if settings is None or not settings.lease_table or action.kind not in _LEASED:
        return action
    prefix, hours_field = _LEASED[action.kind]
    terms = {
        "table": settings.lease_table,
        "region": settings.region or region,
        "prefix": prefix,
        "seconds": int(getattr(settings, hours_field)) * 3600,
        "holder": holder,
    }
    return replace(action, params={**action.params, LEASE_PARAM: terms})


@dataclass
class Leases:
    granted: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # another run holds the lease: skipped, not an error
    failed: dict[str, str] = field(default_factory=dict)  # the lease could not be written: not acted on


class LeaseAdapter:
    def __init__(self, client: Any, table: str, holder: str) -> None:
        self._client = client
        self._table = table
        self._holder = holder

    def acquire(self, keys: Mapping[str, str], now: datetime, seconds: int, about: Mapping[str, str]) -> Leases:
        """Take the lease `keys[instance_id]` for each instance, in order. `about`: attributes kept
        on each item for whoever reads the table (account, region, trigger)."""
        leases = Leases()
        stamp = int(now.timestamp())
        for instance_id, key in keys.items():
            item = {
                "pk": {"S": key},
                "holder": {"S": self._holder},
                "expires_at": {"N": str(stamp + seconds)},
                "taken_at": {"S": now.isoformat()},
                **{k: {"S": v} for k, v in about.items() if v},
            }
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                    ExpressionAttributeValues={":now": {"N": str(stamp)}},
                )
            except ClientError as exc:
                if _code(exc) == "ConditionalCheckFailedException":
                    leases.held.append(instance_id)
                else:
                    leases.failed[instance_id] = f"lease not taken: {aws_error_message(exc)}"
                continue
            except AWS_ERRORS as exc:
                leases.failed[instance_id] = f"lease not taken: {aws_error_message(exc)}"
                continue
            leases.granted.append(instance_id)
        return leases

    def release(self, keys: Sequence[str]) -> None:
        """Give back leases this run holds (its action failed). Best effort: a lease not given back
        only expires later."""
        for key in keys:
            try:
                self._client.delete_item(
                    TableName=self._table,
                    Key={"pk": {"S": key}},
                    ConditionExpression="holder = :me",
                    ExpressionAttributeValues={":me": {"S": self._holder}},
                )
            except AWS_ERRORS:
                continue


# --- for the apply handlers -------------------------------------------------------------------


def take_leases(
    action: Action, instance_ids: Sequence[str], snapshot: Snapshot, clients: AwsClients, now: datetime
) -> Leases:
    """Leases for the instances an action is about to act on; all granted (no call) without terms."""
    terms = action.params.get(LEASE_PARAM)
    if not terms or not instance_ids:
        return Leases(granted=list(instance_ids))
    keys = {i: f"{terms['prefix']}#{i}" for i in instance_ids}
    about = {"account": snapshot.account, "region": snapshot.region, "trigger": snapshot.trigger}
    return _adapter(terms, clients).acquire(keys, now, int(terms["seconds"]), about)


def give_back(action: Action, instance_ids: Sequence[str], clients: AwsClients) -> None:
    terms = action.params.get(LEASE_PARAM)
    if terms and instance_ids:
        _adapter(terms, clients).release([f"{terms['prefix']}#{i}" for i in instance_ids])


def _adapter(terms: Mapping[str, Any], clients: AwsClients) -> LeaseAdapter:
    # The table is the home account's, in the function's region: the function's own identity, also
    # when these clients act as a member account's role or in another region.
    return LeaseAdapter(clients.own_in(terms["region"], "dynamodb"), terms["table"], terms["holder"])


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
