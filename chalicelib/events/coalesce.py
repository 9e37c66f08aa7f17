"""A batch of queued events -> one scope per account and region. Pure.

Each record is read with the one event parser (chalicelib/events/scope.py), so it gets the same
validation and the same ignore reasons as when it arrives alone. Records are then grouped by
account and region and their scopes united (instances, groups, interfaces, group names), so a
storm of events costs one pipeline run per account and region. A Run Command status event keeps
its command facts: it runs in a group of its own (one command per scope). A record seen twice
(same event id) is handled once. A record that cannot be read is reported for itself."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.events.scope import EventError, Scope, scope_from_event

MAX_BODY_BYTES = 256 * 1024  # EventBridge's largest event; SQS's largest message


@dataclass(frozen=True)
class RecordOutcome:
    """What became of one SQS record: failed (malformed), ignored (with the reason), or run in
    group `group` (an index into the batch's groups)."""

    message_id: str
    event_id: str | None = None
    failed: str | None = None
    ignored: str | None = None
    group: int | None = None


@dataclass(frozen=True)
class Group:
    """One pipeline run: the united scope and the records it stands for."""

    scope: Scope
    message_ids: tuple[str, ...]
    events: int
    swept: bool = False  # read like a sweep: more instances than EVENT_BATCH_SWEEP_ABOVE


@dataclass
class Batch:
    outcomes: list[RecordOutcome] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)


def coalesce(records: Iterable[Mapping[str, Any]], sweep_above: int | None = None) -> Batch:
    """Parse every record and unite the scopes of each account and region. `sweep_above`: a group
    naming more instances than this is read like a sweep of its account and region."""
    batch = Batch()
    seen: dict[str, str] = {}  # event id -> message id of its first record
    pending: dict[tuple[str | None, str | None, str | None], list[tuple[str, Scope]]] = {}
    slots: list[tuple[str, Any]] = []  # (message id, key or outcome) in record order
    for record in records:
        message_id = str(record.get("messageId", ""))
        try:
            scope = scope_from_event(_event_of(record))
        except EventError as exc:
            slots.append((message_id, RecordOutcome(message_id, failed=str(exc))))
            continue
        if scope.event_id is not None and scope.event_id in seen:
            why = f"duplicate of message {seen[scope.event_id]} (event {scope.event_id}): handled once"
            slots.append((message_id, RecordOutcome(message_id, scope.event_id, ignored=why)))
            continue
        if scope.event_id is not None:
            seen[scope.event_id] = message_id
        if scope.ignored:
            slots.append((message_id, RecordOutcome(message_id, scope.event_id, ignored=scope.ignored)))
            continue
        key = (scope.account, scope.region, scope.command.command_id if scope.command else None)
        if scope.command is not None:
            key = (*key[:2], f"{key[2]}/{message_id}")  # a command's facts never merge with another's
        pending.setdefault(key, []).append((message_id, scope))
        slots.append((message_id, key))
    index: dict[Any, int] = {}
    for key, members in pending.items():
        index[key] = len(batch.groups)
        batch.groups.append(_group([s for _, s in members], tuple(m for m, _ in members), sweep_above))
    for message_id, slot in slots:
        if isinstance(slot, RecordOutcome):
            batch.outcomes.append(slot)
        else:
            scope = next(s for m, s in pending[slot] if m == message_id)
            batch.outcomes.append(RecordOutcome(message_id, scope.event_id, group=index[slot]))
    return batch


def _event_of(record: Mapping[str, Any]) -> Any:
    """The EventBridge event an SQS record carries (the rule's target sends the event as the body)."""
    body = record.get("body")
    if not isinstance(body, str):
        raise EventError("the SQS record has no body")
    if len(body.encode()) > MAX_BODY_BYTES:
        raise EventError(f"the body is over {MAX_BODY_BYTES} bytes; no event is")
    try:
        return json.loads(body)
    except ValueError:
        raise EventError("the body is not JSON") from None
    except RecursionError:
        raise EventError("the body nests deeper than any event does") from None


def _group(scopes: list[Scope], message_ids: tuple[str, ...], sweep_above: int | None) -> Group:
    first = scopes[0]
    united = Scope(
        trigger="+".join(sorted({s.trigger for s in scopes})),
        account=first.account,
        region=first.region,
        event_id=first.event_id if len(scopes) == 1 else f"batch:{first.event_id}+{len(scopes) - 1}",
        instance_ids=frozenset().union(*(s.instance_ids for s in scopes)),
        group_ids=frozenset().union(*(s.group_ids for s in scopes)),
        network_interface_ids=frozenset().union(*(s.network_interface_ids for s in scopes)),
        group_names=frozenset().union(*(s.group_names for s in scopes)),
        command=first.command,
    )
    if sweep_above is not None and united.command is None and len(united.instance_ids) > sweep_above:
        # A storm over much of an account: read it page by page like a sweep, not in chunks of ids.
        return Group(_as_sweep(united), message_ids, len(scopes), swept=True)
    return Group(united, message_ids, len(scopes))


def _as_sweep(scope: Scope) -> Scope:
    """A sweep of the scope's account and region: it is judged like a sweep (every instance there,
    no launch-time patching)."""
    return Scope(trigger="sweep", account=scope.account, region=scope.region, event_id=scope.event_id)
