"""EC2 adapter for the idle lifecycle: mark and unmark instances with tags, stop the ones that are due.

Fewest calls: CreateTags and DeleteTags take up to 1,000 resources that share the same tags, and
StopInstances takes many ids, so each action is one call per 1,000 instances. EC2 fails such a
call as a whole when one instance is wrong (IncorrectInstanceState, OperationNotPermitted, a
tag-conditioned UnauthorizedOperation, TagLimitExceeded), so a failed batch is retried without the
instances its error message names (one more call), else split in halves until the culprits stand
alone: a few bad instances among many cost a few calls, not one per instance. A retry budget keeps a
global failure (say, no permission at all) from turning into hundreds of failing calls.

Right before StopInstances the instances are read again (DescribeInstances for just those ids): a
warden:protect tag set, a deadline moved or a state changed since the snapshot is honoured. Then,
with LEASE_TABLE set, each instance still due is leased (apply/lease.py): a concurrent run that
read the same fleet at the same moment finds the lease taken and skips the instance."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.clients import AWS_ERRORS, AwsClients, aws_error_message
from chalicelib.apply.lease import LEASE_HELD, give_back, take_leases
from chalicelib.model import Action, ActionOutcome, Instance, Snapshot
from chalicelib.rules.idle import still_due_for_stop
from chalicelib.rules.ids import instance_ids_in
from chalicelib.snapshot.ec2 import iter_instances_by_id

MAX_RESOURCES_PER_CALL = 1000  # CreateTags / DeleteTags limit; StopInstances is held to the same
RETRY_BUDGET = 40  # extra calls one batch operation may spend finding the instances that fail it


@dataclass
class BatchResult:
    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # instance id -> "Code: message"


class Ec2Adapter:
    def __init__(self, client: Any) -> None:
        self._client = client
        self._retries_left = RETRY_BUDGET

    def create_tags(self, instance_ids: Sequence[str], tags: Mapping[str, str]) -> BatchResult:
        tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
        return self._in_batches(instance_ids, lambda ids: self._client.create_tags(Resources=ids, Tags=tag_list))

    def delete_tags(self, instance_ids: Sequence[str], keys: Sequence[str]) -> BatchResult:
        # Keys without values: delete whatever value the tag holds (an unparsable one included).
        tag_list = [{"Key": k} for k in keys]
        return self._in_batches(instance_ids, lambda ids: self._client.delete_tags(Resources=ids, Tags=tag_list))

    def stop_instances(self, instance_ids: Sequence[str]) -> BatchResult:
        return self._in_batches(instance_ids, lambda ids: self._client.stop_instances(InstanceIds=ids))

    def describe(self, instance_ids: Sequence[str], region: str, account: str) -> dict[str, Instance]:
        return {i.id: i for i in iter_instances_by_id(self._client, instance_ids, region, account)}

    def _in_batches(self, instance_ids: Sequence[str], call: Callable[[list[str]], Any]) -> BatchResult:
        result = BatchResult()
        self._retries_left = RETRY_BUDGET
        ids = list(dict.fromkeys(instance_ids))
        for start in range(0, len(ids), MAX_RESOURCES_PER_CALL):
            self._attempt(ids[start : start + MAX_RESOURCES_PER_CALL], call, result, retry=False)
        return result

    def _attempt(self, ids: list[str], call: Callable[[list[str]], Any], result: BatchResult, retry: bool) -> None:
        if not ids:
            return
        if retry:
            if self._retries_left <= 0:
                for i in ids:
                    result.failed[i] = "not attempted: retry budget spent on earlier failures"
                return
            self._retries_left -= 1
        try:
            call(ids)
        except ClientError as exc:
            message = aws_error_message(exc)
            if len(ids) == 1:
                result.failed[ids[0]] = message
                return
            mentioned = instance_ids_in(message)
            named = [i for i in ids if i in mentioned]
            if named:  # IncorrectInstanceState, OperationNotPermitted... name their instance
                for i in named:
                    result.failed[i] = message
                self._attempt([i for i in ids if i not in mentioned], call, result, retry=True)
                return
            half = len(ids) // 2
            self._attempt(ids[:half], call, result, retry=True)
            self._attempt(ids[half:], call, result, retry=True)
            return
        except AWS_ERRORS as exc:  # connection or retry exhaustion: splitting would not help
            for i in ids:
                result.failed[i] = aws_error_message(exc)
            return
        result.done.extend(ids)


# --- handlers for apply's dispatch table ------------------------------------------------------


def mark_idle(action: Action, snapshot: Snapshot, clients: AwsClients, now: datetime) -> ActionOutcome:
    result = Ec2Adapter(clients.ec2).create_tags(action.resource_ids, action.params["tags"])
    return _outcome(action, result, verb="marked")


def tag_launched_by(action: Action, snapshot: Snapshot, clients: AwsClients, now: datetime) -> ActionOutcome:
    """warden:launched-by on the instances a RunInstances launched (planning_actor.py)."""
    result = Ec2Adapter(clients.ec2).create_tags(action.resource_ids, action.params["tags"])
    return _outcome(action, result, verb="tagged")


def unmark_idle(action: Action, snapshot: Snapshot, clients: AwsClients, now: datetime) -> ActionOutcome:
    result = Ec2Adapter(clients.ec2).delete_tags(action.resource_ids, action.params["keys"])
    return _outcome(action, result, verb="unmarked")


def stop_idle(action: Action, snapshot: Snapshot, clients: AwsClients, now: datetime) -> ActionOutcome:
    adapter = Ec2Adapter(clients.ec2)
    fresh = adapter.describe(action.resource_ids, snapshot.region, snapshot.account)
    due: list[str] = []
    skipped: dict[str, str] = {}
    for instance_id in action.resource_ids:
        instance = fresh.get(instance_id)
        why_not = "gone" if instance is None else still_due_for_stop(instance, now)
        if why_not is None:
            due.append(instance_id)
        else:
            skipped[instance_id] = why_not
    leases = take_leases(action, due, snapshot, clients, now)
    skipped.update(dict.fromkeys(leases.held, LEASE_HELD))
    stopped = adapter.stop_instances(leases.granted) if leases.granted else BatchResult()
    give_back(action, sorted(stopped.failed), clients)
    failed = {**leases.failed, **stopped.failed}
    if stopped.done:
        tagged = adapter.create_tags(stopped.done, action.params["tags"])
        for instance_id, message in tagged.failed.items():
            failed[instance_id] = f"stopped, but warden:stopped-by not written: {message}"
    parts = [f"stopped {len(stopped.done)}" + (f" ({', '.join(stopped.done[:10])})" if stopped.done else "")]
    if skipped:
        parts.append("skipped " + ", ".join(f"{i} ({why})" for i, why in sorted(skipped.items())[:10]))
    return ActionOutcome(
        action.kind,
        action.resource_ids,
        done=not failed,
        error=_errors(failed, len(action.resource_ids)),
        reason=f"{action.reason}; " + "; ".join(parts),
        failed_ids=tuple(sorted(failed)),
    )


def _outcome(action: Action, result: BatchResult, verb: str) -> ActionOutcome:
    return ActionOutcome(
        action.kind,
        action.resource_ids,
        done=not result.failed,
        error=_errors(result.failed, len(action.resource_ids)),
        reason=f"{action.reason}; {verb} {len(result.done)}",
        failed_ids=tuple(sorted(result.failed)),
    )


def _errors(failed: Mapping[str, str], planned: int) -> str | None:
    if not failed:
        return None
    shown = "; ".join(f"{i}: {msg}" for i, msg in sorted(failed.items())[:10])
    more = f" (and {len(failed) - 10} more)" if len(failed) > 10 else ""
    return f"{len(failed)} of {planned} failed: {shown}{more}"
