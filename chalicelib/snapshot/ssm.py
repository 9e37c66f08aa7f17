"""SSM reads for the patch loop: which instances SSM manages, their patch state, and how a patch
command ended per instance.

Request and response shapes follow the SSM API reference (DescribeInstanceInformation,
DescribeInstancePatchStates, ListCommandInvocations). moto 5.2.5 implements none of the three, so
their tests use botocore's Stubber (tests/integration/test_ssm_reads.py) and the demo answers them
from devtools/moto_ssm.py. Raw SSM dicts are turned into model objects here and go no further."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from chalicelib.adapters.clients import AWS_ERRORS, AwsClients, aws_error_message
from chalicelib.events.scope import Scope
from chalicelib.model import Instance, PatchRun, PatchState, ReadError, SsmInstanceInfo
from chalicelib.snapshot.ec2 import shared_text
from chalicelib.snapshot.refusal import UnconfirmedEventError

# DescribeInstanceInformation: MaxResults 5-50. DescribeInstancePatchStates: at most 50 InstanceIds
# (MaxResults 10-100). ListCommandInvocations: MaxResults 1-50. So 50 ids a call, one page each.
IDS_PER_CALL = 50


def read_ssm_facets(
    scope: Scope, clients: AwsClients, instances: Iterable[Instance], errors: list[ReadError]
) -> tuple[dict[str, SsmInstanceInfo] | None, dict[str, PatchState] | None, dict[str, PatchRun]]:
    """The SSM facets of a snapshot: ceil(running/50) + ceil(managed/50) calls, plus the command's
    invocations when a command-level event reports a failure. A failed read leaves its facet None."""
    running = sorted(i.id for i in instances if i.state == "running")
    if not running:
        return {}, {}, {}
    ssm = clients.get("ssm")
    try:
        info = read_instance_information(ssm, running)
    except AWS_ERRORS as exc:
        errors.append(ReadError("ssm:DescribeInstanceInformation", aws_error_message(exc)))
        return None, None, {}
    states: dict[str, PatchState] | None
    try:
        states = read_patch_states(ssm, sorted(info)) if info else {}
    except AWS_ERRORS as exc:
        errors.append(ReadError("ssm:DescribeInstancePatchStates", aws_error_message(exc)))
        states = None
    return info, states, _patch_runs(scope, ssm, set(running), errors)


def read_instance_information(ssm: Any, instance_ids: Iterable[str]) -> dict[str, SsmInstanceInfo]:
    """SSM's view of these instances. An instance SSM does not know is absent from the result."""
    found: dict[str, SsmInstanceInfo] = {}
    known = {i: i for i in instance_ids}  # the snapshot's id strings, shared rather than copied
    for chunk in _chunks(sorted(known), IDS_PER_CALL):
        for page in _pages(ssm, "describe_instance_information", Filters=[{"Key": "InstanceIds", "Values": chunk}]):
            for raw in page.get("InstanceInformationList", []):
                info = _instance_info(raw, known)
                if info is not None:
                    found[info.instance_id] = info
    return found


def read_patch_states(ssm: Any, instance_ids: Iterable[str]) -> dict[str, PatchState]:
    """Patch Manager's last report per instance. An instance never scanned is absent."""
    found: dict[str, PatchState] = {}
    known = {i: i for i in instance_ids}
    for chunk in _chunks(sorted(known), IDS_PER_CALL):
        for page in _pages(ssm, "describe_instance_patch_states", InstanceIds=chunk):
            for raw in page.get("InstancePatchStates", []):
                if raw.get("InstanceId"):
                    state = _patch_state(raw, known)
                    found[state.instance_id] = state
    return found


def read_invocation_statuses(ssm: Any, command_id: str) -> dict[str, str]:
    """Instance id -> Status of every invocation of one command."""
    statuses: dict[str, str] = {}
    for page in _pages(ssm, "list_command_invocations", CommandId=command_id):
        for raw in page.get("CommandInvocations", []):
            if raw.get("InstanceId") and raw.get("Status"):
                statuses[raw["InstanceId"]] = raw["Status"]
    return statuses


def _patch_runs(scope: Scope, ssm: Any, running: set[str], errors: list[ReadError]) -> dict[str, PatchRun]:
    """How the command in the triggering event ended on each instance in scope.

    An invocation event and a successful command speak for their instances; a command that failed
    may have succeeded on some instances, so its invocations are listed to tell which."""
    command = scope.command
    if command is None:
        return {}
    ids = scope.instance_ids & running
    if command.per_instance and command.status != "Success":
        return {i: PatchRun(command.command_id, command.status) for i in sorted(ids)}
    # A Success is AWS's word, not the event's: a forged or stale one must change nothing.
    try:
        statuses = read_invocation_statuses(ssm, command.command_id)
    except AWS_ERRORS as exc:
        if command.status == "Success":
            raise UnconfirmedEventError(
                f"command {command.command_id} could not be confirmed ({aws_error_message(exc)}): "
                "refused, nothing written"
            ) from exc
        errors.append(ReadError("ssm:ListCommandInvocations", aws_error_message(exc)))
        return {}
    if command.status == "Success":
        unconfirmed = sorted(i for i in scope.instance_ids if statuses.get(i) != "Success")
        if unconfirmed:
            said = ", ".join(f"{i} {statuses.get(i, 'no invocation')}" for i in unconfirmed[:5])
            raise UnconfirmedEventError(
                f"the event says command {command.command_id} succeeded; ListCommandInvocations says {said}: "
                "refused, nothing written"
            )
    return {i: PatchRun(command.command_id, statuses[i]) for i in sorted(ids) if statuses.get(i) in _FINAL_STATUSES}


_FINAL_STATUSES = frozenset({"Success", "Failed", "TimedOut", "Cancelled"})


def _pages(ssm: Any, operation: str, **kwargs: Any) -> Iterator[Mapping[str, Any]]:
    paginator = ssm.get_paginator(operation)
    yield from paginator.paginate(**kwargs, PaginationConfig={"PageSize": IDS_PER_CALL})


def _instance_info(raw: Mapping[str, Any], known: Mapping[str, str] | None = None) -> SsmInstanceInfo | None:
    instance_id = raw.get("InstanceId")
    if not instance_id or not str(instance_id).startswith("i-"):
        return None  # on-premises managed nodes (mi-...) are not EC2 instances
    return SsmInstanceInfo(
        instance_id=_known(str(instance_id), known),
        ping_status=_shared(raw.get("PingStatus", "")),
        platform_type=_shared(raw.get("PlatformType", "")),
        agent_version=_shared(raw.get("AgentVersion", "")),
        last_ping_at=raw.get("LastPingDateTime"),
    )


def _patch_state(raw: Mapping[str, Any], known: Mapping[str, str] | None = None) -> PatchState:
    def count(key: str) -> int:
        return int(raw.get(key) or 0)

    return PatchState(
        instance_id=_known(str(raw["InstanceId"]), known),
        operation=_shared(raw.get("Operation", "")),
        operation_end_time=raw.get("OperationEndTime"),
        baseline_id=_shared(raw.get("BaselineId", "")),
        missing_count=count("MissingCount"),
        failed_count=count("FailedCount"),
        installed_pending_reboot_count=count("InstalledPendingRebootCount"),
        installed_rejected_count=count("InstalledRejectedCount"),
        critical_non_compliant_count=count("CriticalNonCompliantCount"),
        security_non_compliant_count=count("SecurityNonCompliantCount"),
        other_non_compliant_count=count("OtherNonCompliantCount"),
        installed_count=count("InstalledCount"),
        reboot_option=_shared(raw.get("RebootOption", "")),
    )


def _shared(value: object) -> str:
    """One string object for values every instance repeats ("Online", "Linux", a baseline id, an
    agent version): 9,000 managed instances hold ~2 MB less (bench/: the 128 MB Lambda)."""
    return str(shared_text(str(value)))  # str() of a str is that same object


def _known(instance_id: str, known: Mapping[str, str] | None) -> str:
    return known.get(instance_id, instance_id) if known else instance_id


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
