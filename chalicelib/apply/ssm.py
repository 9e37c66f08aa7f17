"""SSM adapter: run AWS-RunPatchBaseline on instances, and record each request on the instance.

SendCommand takes at most 50 instance ids, and refuses the whole call (InvalidInstanceId) when one
of them is not a managed node it can reach (terminated meanwhile, agent gone). So ids go 50 a call,
and a refused call is split in halves until the bad ids stand alone: the rest are patched, the bad
ones reported. Any other error (throttling after botocore's retries, access denied) fails that
call's ids only. Every command that was sent is recorded in the `warden:patch-requested-at` tag of
its instances, one CreateTags per command: that tag is the cooldown that keeps repeated events
and sweeps from piling up commands. Runs that read the fleet at the same moment (before either tag
lands) are kept apart by a per-instance lease taken right before SendCommand (apply/lease.py)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.clients import AWS_ERRORS, AwsClients, aws_error_message
from chalicelib.apply.lease import LEASE_HELD, give_back, take_leases
from chalicelib.model import Action, ActionOutcome, Snapshot
from chalicelib.rules.patch_tag import PATCH_REQUESTED_TAG, format_patch_request

IDS_PER_COMMAND = 50
OUTPUT_PREFIX = "ec2-warden/patch"


@dataclass
class PatchResult:
    commands: dict[str, list[str]] = field(default_factory=dict)  # command id -> instance ids
    failed: dict[str, str] = field(default_factory=dict)  # instance id -> "Code: message"
    untagged: dict[str, str] = field(default_factory=dict)  # sent, but the cooldown tag failed

    @property
    def sent(self) -> list[str]:
        return sorted(i for ids in self.commands.values() for i in ids)


class SsmPatchAdapter:
    def __init__(self, ssm: Any, ec2: Any) -> None:
        self._ssm = ssm
        self._ec2 = ec2

    def run_patch_baseline(self, instance_ids: Sequence[str], params: Mapping[str, Any], now: datetime) -> PatchResult:
        result = PatchResult()
        for chunk in _chunks(sorted(set(instance_ids)), IDS_PER_COMMAND):
            self._send(chunk, params, now, result)
        return result

    def _send(self, ids: list[str], params: Mapping[str, Any], now: datetime, result: PatchResult) -> None:
        try:
            response = self._ssm.send_command(**send_command_request(ids, params))
        except ClientError as exc:
            if _code(exc) == "InvalidInstanceId" and len(ids) > 1:
                middle = len(ids) // 2
                self._send(ids[:middle], params, now, result)
                self._send(ids[middle:], params, now, result)
                return
            result.failed.update(dict.fromkeys(ids, aws_error_message(exc)))
            return
        except AWS_ERRORS as exc:
            result.failed.update(dict.fromkeys(ids, aws_error_message(exc)))
            return
        command_id = response["Command"]["CommandId"]
        result.commands[command_id] = list(ids)
        try:
            self._ec2.create_tags(
                Resources=list(ids),
                Tags=[{"Key": PATCH_REQUESTED_TAG, "Value": format_patch_request(now, command_id)}],
            )
        except AWS_ERRORS as exc:
            result.untagged.update(dict.fromkeys(ids, aws_error_message(exc)))


def carry_out_patch(action: Action, snapshot: Snapshot, clients: AwsClients, now: datetime) -> ActionOutcome:
    """The PATCH action: lease, SendCommand in batches, tag what was sent, report what was not."""
    leases = take_leases(action, sorted(set(action.resource_ids)), snapshot, clients, now)
    result = (
        SsmPatchAdapter(clients.get("ssm"), clients.ec2).run_patch_baseline(leases.granted, action.params, now)
        if leases.granted
        else PatchResult()
    )
    give_back(action, sorted(result.failed), clients)
    result.failed.update(leases.failed)
    sent = ", ".join(f"{cid} ({len(ids)})" for cid, ids in sorted(result.commands.items()))
    reason = f"{action.reason}; command(s) {sent}" if sent else action.reason
    if leases.held:
        reason += f"; skipped {len(leases.held)} ({LEASE_HELD}): " + ", ".join(leases.held[:10])
    problems = [f"{i}: {why}" for i, why in sorted(result.failed.items())]
    problems += [
        f"{i}: sent, but {PATCH_REQUESTED_TAG} not written: {why}" for i, why in sorted(result.untagged.items())
    ]
    return ActionOutcome(
        action.kind,
        action.resource_ids,
        # Done when something was sent, or when everything not sent is another run's to send.
        done=bool(result.commands) or (bool(leases.held) and not problems),
        error=(f"{len(problems)} problem(s): " + "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else ""))
        if problems
        else None,
        reason=reason,
        failed_ids=tuple(sorted(result.failed)),
    )


def send_command_request(ids: list[str], params: Mapping[str, Any]) -> dict[str, Any]:
    """The SendCommand request for one batch (SSM API reference: SendCommand; AWS-RunPatchBaseline
    takes Operation and RebootOption as lists of one string)."""
    request: dict[str, Any] = {
        "InstanceIds": list(ids),
        "DocumentName": params["document"],
        "Parameters": {
            "Operation": [params["operation"]],
            "RebootOption": [params["reboot_option"]],
        },
        "MaxConcurrency": params["max_concurrency"],
        "MaxErrors": params["max_errors"],
        "Comment": params.get("comment", ""),
    }
    if params.get("output_s3_bucket"):
        request["OutputS3BucketName"] = params["output_s3_bucket"]
        request["OutputS3KeyPrefix"] = OUTPUT_PREFIX
    return request


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
