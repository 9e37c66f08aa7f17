"""A small, honest extension of moto's SSM for the demo and the tests: managed instances and patch state.

moto 5.2.5 has no managed-instance concept: DescribeInstanceInformation, DescribeInstancePatchStates
and ListCommandInvocations raise NotImplementedError, and its SendCommand runs a command on every
instance in the region when it is given InstanceIds (moto adds "all instances matching Targets", and
no Targets matches everything). This module adds what ec2-warden's patch loop needs, and no more:

- a registry of managed instances (ping status, platform, patch state) that a demo or test seeds,
  because nothing in moto can register an SSM agent;
- the three missing calls, answered from the registry in the response shapes of the SSM API
  reference (https://docs.aws.amazon.com/systems-manager/latest/APIReference/), with its limits
  (MaxResults ranges, at most 50 InstanceIds) so a product bug there fails here as it would in AWS;
- SendCommand restricted to the InstanceIds asked for, refusing ids SSM does not manage
  (InvalidInstanceId, as AWS does), and acting like AWS-RunPatchBaseline: an Install run makes the
  instance compliant (or fails, when the seed says so), a Scan refreshes the scan time.

How it hooks in: moto routes every SSM request through `moto.ssm.urls.url_paths["{0}/$"]`, read at
request time by `mock_aws` and when the server builds its SSM app on the first SSM request. `install()`
points that entry at `ManagedFleetResponse.dispatch`, a subclass of moto's own response class; moto
calls a response method named after the action (snake_case), so the subclass adds three methods and
overrides `send_command`. Everything else is moto's. The registry lives in this process, which is
where `mock_aws` and `ThreadedMotoServer` keep their backends too.

Never imported by chalicelib."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.ssm import urls as ssm_urls
from moto.ssm.exceptions import SSMException, ValidationException
from moto.ssm.models import ssm_backends
from moto.ssm.responses import SimpleSystemManagerResponse

PATCH_DOCUMENT = "AWS-RunPatchBaseline"
DEFAULT_BASELINE = "arn:aws:ssm:us-east-1:123456789012:patchbaseline/pb-0123456789abcdef0"
_ROUTE = "{0}/$"
_ORIGINAL_DISPATCH = ssm_urls.url_paths[_ROUTE]


class InvalidInstanceId(SSMException):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidInstanceId", message)


@dataclass(frozen=True)
class PatchFacts:
    """A seeded patch state: what DescribeInstancePatchStates reports for the instance."""

    missing: int = 0
    failed: int = 0
    critical: int = 0
    security: int = 0
    pending_reboot: int = 0
    installed: int = 120
    operation: str = "Scan"
    operation_end_time: datetime | None = None  # None: now, when seeded

    def after_install(self, now: datetime) -> PatchFacts:
        """What an Install run that succeeded leaves: every missing patch installed."""
        return replace(
            self,
            missing=0,
            failed=0,
            critical=0,
            security=0,
            installed=self.installed + self.missing + self.failed,
            operation="Install",
            operation_end_time=now,
        )


@dataclass
class ManagedNode:
    instance_id: str
    ping_status: str = "Online"
    platform_type: str = "Linux"
    platform_name: str = "Amazon Linux"
    platform_version: str = "2023"
    agent_version: str = "3.3.987.0"
    registered_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    patch: PatchFacts | None = None  # None: never scanned
    next_run_status: str = "Success"  # how the next patch command ends here: Success, Failed, TimedOut


class ManagedFleet:
    """Managed instances by (account, region), as SSM would know them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._nodes: dict[tuple[str, str], dict[str, ManagedNode]] = {}
        self.manage_all = False

    def manage_every_instance(self) -> None:
        """From now on, every EC2 instance SSM is asked about is managed, Online, and freshly scanned
        with nothing missing: the fleet of a test that is about something else than patching."""
        self.manage_all = True

    def register(
        self,
        instance_id: str,
        *,
        region: str,
        account: str = DEFAULT_ACCOUNT_ID,
        patch: PatchFacts | None = None,
        **node: Any,
    ) -> ManagedNode:
        if patch is not None and patch.operation_end_time is None:
            patch = replace(patch, operation_end_time=datetime.now(UTC))
        managed = ManagedNode(instance_id, patch=patch, **node)
        with self._lock:
            self._nodes.setdefault((account, region), {})[instance_id] = managed
        return managed

    def nodes(self, account: str, region: str, asked: list[str] | tuple[str, ...] = ()) -> dict[str, ManagedNode]:
        with self._lock:
            known = self._nodes.setdefault((account, region), {})
            if self.manage_all:
                now = datetime.now(UTC)
                for instance_id in asked:
                    if instance_id.startswith("i-") and instance_id not in known:
                        known[instance_id] = ManagedNode(instance_id, patch=PatchFacts(operation_end_time=now))
            return dict(known)

    def reset(self) -> None:
        with self._lock:
            self._nodes.clear()
            self.manage_all = False


FLEET = ManagedFleet()


def install() -> None:
    """Route moto's SSM through the extension (idempotent). Call before the first SSM request."""
    ssm_urls.url_paths[_ROUTE] = ManagedFleetResponse.dispatch


def uninstall() -> None:
    ssm_urls.url_paths[_ROUTE] = _ORIGINAL_DISPATCH


class ManagedFleetResponse(SimpleSystemManagerResponse):
    """moto's SSM responses plus the managed-instance calls, answered from FLEET."""

    def _nodes(self, asked: list[str] | tuple[str, ...] = ()) -> dict[str, ManagedNode]:
        return FLEET.nodes(self.current_account, self.region, asked)

    def describe_instance_information(self) -> ActionResult:
        max_results = self._get_int_param("MaxResults") or 50
        if not 5 <= max_results <= 50:
            raise ValidationException("MaxResults must be between 5 and 50")
        filters = self._get_param("Filters") or []
        asked = [v for f in filters if f.get("Key") == "InstanceIds" for v in f.get("Values") or []]
        nodes = sorted(self._nodes(asked).values(), key=lambda n: n.instance_id)
        for flt in filters:
            key, values = flt.get("Key"), set(flt.get("Values") or [])
            if key == "InstanceIds":
                nodes = [n for n in nodes if n.instance_id in values]
            elif key == "PingStatus":
                nodes = [n for n in nodes if n.ping_status in values]
            else:
                raise SSMException("InvalidFilterKey", f"filter key {key} is not supported here")
        page, token = _page(nodes, self._get_param("NextToken"), max_results)
        result: dict[str, Any] = {"InstanceInformationList": [_information(n) for n in page]}
        if token:
            result["NextToken"] = token
        return ActionResult(result)

    def describe_instance_patch_states(self) -> ActionResult:
        ids = self._get_param("InstanceIds") or []
        if len(ids) > 50:
            raise ValidationException("InstanceIds: member must have length less than or equal to 50")
        max_results = self._get_int_param("MaxResults") or 50
        if not 10 <= max_results <= 100:
            raise ValidationException("MaxResults must be between 10 and 100")
        nodes = self._nodes(ids)
        scanned = [nodes[i] for i in sorted(set(ids)) if i in nodes and nodes[i].patch is not None]
        page, token = _page(scanned, self._get_param("NextToken"), max_results)
        result: dict[str, Any] = {"InstancePatchStates": [_patch_state(n) for n in page]}
        if token:
            result["NextToken"] = token
        return ActionResult(result)

    def list_command_invocations(self) -> ActionResult:
        command_id = self._get_param("CommandId")
        commands = [self.ssm_backend.get_command_by_id(command_id)] if command_id else self.ssm_backend._commands
        rows = [
            {k: inv[k] for k in ("CommandId", "InstanceId", "DocumentName", "Status", "StatusDetails")}
            | {"RequestedDateTime": command.requested_date_time}
            for command in commands
            for inv in command.invocations
        ]
        max_results = self._get_int_param("MaxResults") or 50
        page, token = _page(rows, self._get_param("NextToken"), max_results)
        result: dict[str, Any] = {"CommandInvocations": page}
        if token:
            result["NextToken"] = token
        return ActionResult(result)

    def send_command(self) -> ActionResult:
        ids = list(self._get_param("InstanceIds") or [])
        targets = self._get_param("Targets") or []
        if len(ids) > 50:
            raise ValidationException("InstanceIds: member must have length less than or equal to 50")
        nodes = self._nodes(ids)
        unknown = [i for i in ids if i not in nodes]
        if unknown:
            # AWS refuses the whole call when one id is not a managed node it can reach.
            raise InvalidInstanceId(f"Instances {unknown} not in a valid state for account {self.current_account}")
        command = self.ssm_backend.send_command(
            comment=self._get_param("Comment", ""),
            document_name=self._get_param("DocumentName"),
            timeout_seconds=self._get_int_param("TimeoutSeconds"),
            instance_ids=list(ids),  # moto extends the list it is given in place
            max_concurrency=self._get_param("MaxConcurrency", "50"),
            max_errors=self._get_param("MaxErrors", "0"),
            notification_config=self._get_param("NotificationConfig"),
            output_s3_bucket_name=self._get_param("OutputS3BucketName", ""),
            output_s3_key_prefix=self._get_param("OutputS3KeyPrefix", ""),
            output_s3_region=self._get_param("OutputS3Region", ""),
            parameters=self._get_param("Parameters", {}),
            service_role_arn=self._get_param("ServiceRoleArn", ""),
            targets=targets,
        )
        if ids and not targets:  # moto's bug: it added every instance in the region
            command.instance_ids = sorted(set(ids))
            command.target_count = command.completed_count = len(command.instance_ids)
        if command.document_name == PATCH_DOCUMENT:
            _run_patch_baseline(command, nodes)
        else:
            command.invocations = [command.invocation_response(i, "aws:runShellScript") for i in command.instance_ids]
        return ActionResult({"Command": command.response_object()})


def _run_patch_baseline(command: Any, nodes: dict[str, ManagedNode]) -> None:
    """What AWS-RunPatchBaseline does to each target, as far as the patch state shows it."""
    operation = (command.parameters.get("Operation") or ["Scan"])[0]
    now = datetime.now(UTC)
    invocations = []
    for instance_id in command.instance_ids:
        node = nodes[instance_id]
        status = node.next_run_status
        plugin = "PatchWindows" if node.platform_type == "Windows" else "PatchLinux"
        invocation = command.invocation_response(instance_id, plugin)
        invocation.update(Status=status, StatusDetails=status, ResponseCode=0 if status == "Success" else 1)
        invocations.append(invocation)
        if status != "Success":
            continue
        patch = node.patch or PatchFacts(operation_end_time=now)
        node.patch = patch.after_install(now) if operation == "Install" else replace(patch, operation_end_time=now)
    command.invocations = invocations
    failed = [i for i in invocations if i["Status"] != "Success"]
    command.error_count = len(failed)
    command.status = failed[0]["Status"] if failed else "Success"


def command_events(command_id: str, *, region: str, account: str = DEFAULT_ACCOUNT_ID) -> list[dict[str, Any]]:
    """The EventBridge events Run Command emits when this command finishes: one "EC2 Command Invocation
    Status-change Notification" per instance, then one "EC2 Command Status-change Notification"
    (shapes as in AWS's published samples, tests/fixtures/published/ssm-*.json)."""
    command = ssm_backends[account][region].get_command_by_id(command_id)
    requested = _iso(command.requested_date_time)
    arn = f"arn:aws:ec2:{region}:{account}:instance/"
    out = []
    for inv in command.invocations:
        out.append(
            _envelope(
                "EC2 Command Invocation Status-change Notification",
                account,
                region,
                [arn + inv["InstanceId"]],
                {
                    "command-id": command_id,
                    "document-name": command.document_name,
                    "instance-id": inv["InstanceId"],
                    "requested-date-time": requested,
                    "status": inv["Status"],
                },
            )
        )
    out.append(
        _envelope(
            "EC2 Command Status-change Notification",
            account,
            region,
            [arn + i for i in command.instance_ids],
            {
                "command-id": command_id,
                "document-name": command.document_name,
                "expire-after": _iso(command.expires_after),
                "parameters": command.parameters,
                "requested-date-time": requested,
                "status": command.status,
            },
        )
    )
    return out


def backdate_launch(instance_id: str, age: timedelta, *, region: str, account: str = DEFAULT_ACCOUNT_ID) -> None:
    """moto stamps LaunchTime with the real clock; the registration grace needs older instances."""
    from moto.ec2.models import ec2_backends

    instance = ec2_backends[account][region].get_instance(instance_id)
    instance.launch_time = instance.launch_time - age


# --- response shapes (SSM API reference: InstanceInformation, InstancePatchState) ----------------


def _information(node: ManagedNode) -> dict[str, Any]:
    return {
        "InstanceId": node.instance_id,
        "PingStatus": node.ping_status,
        "LastPingDateTime": datetime.now(UTC) if node.ping_status == "Online" else node.registered_at,
        "AgentVersion": node.agent_version,
        "IsLatestVersion": True,
        "PlatformType": node.platform_type,
        "PlatformName": node.platform_name,
        "PlatformVersion": node.platform_version,
        "ResourceType": "EC2Instance",
        "RegistrationDate": node.registered_at,
        "AssociationStatus": "Success",
    }


def _patch_state(node: ManagedNode) -> dict[str, Any]:
    patch = node.patch or PatchFacts()
    end = patch.operation_end_time or datetime.now(UTC)
    return {
        "InstanceId": node.instance_id,
        "PatchGroup": "default",
        "BaselineId": DEFAULT_BASELINE,
        "InstalledCount": patch.installed,
        "InstalledOtherCount": 0,
        "InstalledPendingRebootCount": patch.pending_reboot,
        "InstalledRejectedCount": 0,
        "MissingCount": patch.missing,
        "FailedCount": patch.failed,
        "UnreportedNotApplicableCount": 0,
        "NotApplicableCount": 300,
        "OperationStartTime": end - timedelta(minutes=2),
        "OperationEndTime": end,
        "Operation": patch.operation,
        "RebootOption": "NoReboot",
        "CriticalNonCompliantCount": patch.critical,
        "SecurityNonCompliantCount": patch.security,
        "OtherNonCompliantCount": max(patch.missing + patch.failed - patch.security, 0),
    }


def _page(items: list[Any], token: str | None, size: int) -> tuple[list[Any], str | None]:
    start = int(token) if token and token.isdigit() else 0
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def _envelope(
    detail_type: str, account: str, region: str, resources: list[str], detail: dict[str, Any]
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "aws.ssm",
        "account": account,
        "time": _iso(datetime.now(UTC)),
        "region": region,
        "resources": resources,
        "detail": detail,
    }


def _iso(ts: datetime) -> str:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
