"""Event -> scope. The only module that knows the shapes of EventBridge and CloudTrail events.

A scope says which instances to look at: the whole region (a sweep), or those an event touches,
named directly or through a security group or a network interface that the snapshot resolves.
Events ec2-warden does not act on give a scope with `ignored` set and a reason; events that are
not events at all raise EventError. Neither leads to any AWS call."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.rules import ids as id_rules
from chalicelib.rules.actor import Actor, actor_from_record


class EventError(ValueError):
    """The input is not an event ec2-warden can read (shape, types or ids are wrong)."""


CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
STATE_CHANGE_DETAIL_TYPE = "EC2 Instance State-change Notification"
SCHEDULED_DETAIL_TYPE = "Scheduled Event"

# CloudTrail calls the responders handle. The EventBridge rule in app.py is built from this list.
EC2_CALLS: tuple[str, ...] = (
    "RunInstances",
    "AuthorizeSecurityGroupIngress",
    "RevokeSecurityGroupIngress",
    "ModifySecurityGroupRules",
    "AssociateAddress",
    "ModifyInstanceAttribute",
    "ModifyNetworkInterfaceAttribute",
    # launch-hygiene / environment-drift: tags (an Environment tag turning to production is the
    # "rolled into production" moment), metadata options and volumes change what they judge.
    "CreateTags",
    "DeleteTags",
    "ModifyInstanceMetadataOptions",
    "AttachVolume",
)
# State changes that call for a fresh look at the instance.
STATES_HANDLED: tuple[str, ...] = ("running",)

# --- patch loop: Run Command status events close the loop on patch commands.
SSM_COMMAND_DETAIL_TYPE = "EC2 Command Status-change Notification"
SSM_INVOCATION_DETAIL_TYPE = "EC2 Command Invocation Status-change Notification"
PATCH_DOCUMENT = "AWS-RunPatchBaseline"
# Final statuses of a command or an invocation (Run Command's CommandStatus / CommandInvocationStatus).
COMMAND_STATUSES_HANDLED: tuple[str, ...] = ("Success", "Failed", "TimedOut", "Cancelled")
# Triggers that mean "this instance has just started": a managed one is patched at once.
LAUNCH_TRIGGERS: frozenset[str] = frozenset({"RunInstances", "state:running"})

_INSTANCE_ID = id_rules.INSTANCE_ID
_GROUP_ID = id_rules.SECURITY_GROUP_ID
_ENI_ID = id_rules.NETWORK_INTERFACE_ID
_GROUP_NAME_MAX = 255  # EC2: a security group name is at most 255 characters


@dataclass(frozen=True)
class CommandEvent:
    """A Run Command status event: one command, its final status, and whether it is per instance."""

    command_id: str
    status: str
    document_name: str | None
    per_instance: bool  # True for an invocation event (the status is this instance's own)


@dataclass(frozen=True)
class Scope:
    trigger: str  # "sweep", a CloudTrail eventName, or "state:<name>"
    account: str | None = None
    region: str | None = None
    event_id: str | None = None
    instance_ids: frozenset[str] = frozenset()
    group_ids: frozenset[str] = frozenset()
    network_interface_ids: frozenset[str] = frozenset()
    ignored: str | None = None
    command: CommandEvent | None = None  # set for SSM command status events (patch loop)
    # Groups a call named only by groupName (default VPC): the snapshot resolves them to ids.
    group_names: frozenset[str] = frozenset()
    # Who made the change, for a CloudTrail event (events/actor.py); None for sweeps, state
    # changes, SSM status events and log files whose acting records have several authors.
    actor: Actor | None = None

    @property
    def is_sweep(self) -> bool:
        return self.trigger == "sweep"

    @property
    def is_launch(self) -> bool:
        return bool(LAUNCH_TRIGGERS & set(self.trigger.split("+")))

    @property
    def is_empty(self) -> bool:
        return not (self.instance_ids or self.group_ids or self.network_interface_ids or self.group_names)


def sweep_scope(account: str | None = None, region: str | None = None) -> Scope:
    return Scope(trigger="sweep", account=account, region=region)


def scope_from_event(event: Any) -> Scope:
    """Read an EventBridge event, a raw CloudTrail record or a CloudTrail log file."""
    if not isinstance(event, Mapping):
        raise EventError(f"an event is a JSON object, not {type(event).__name__}")
    if "Records" in event:
        return _scope_from_log_file(event["Records"])
    if "detail-type" in event or "detail" in event:
        return _scope_from_envelope(event)
    if "eventName" in event:
        return _scope_from_record(event, event_id=None)
    raise EventError("not an EventBridge event (no detail-type) nor a CloudTrail record (no eventName)")


def _scope_from_envelope(event: Mapping[str, Any]) -> Scope:
    detail_type = _req_str(event, "detail-type")
    source = _req_str(event, "source")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise EventError("detail must be a JSON object")
    event_id = _opt_str(event, "id")
    account = _account(event.get("account"), "account")
    region = _region(event.get("region"), "region")
    if detail_type == CLOUDTRAIL_DETAIL_TYPE:
        scope = _scope_from_record(detail, event_id=event_id)
        return _with_envelope(scope, account, region)
    if detail_type == STATE_CHANGE_DETAIL_TYPE:
        if source != "aws.ec2":
            raise EventError(f"{detail_type} must come from aws.ec2, not {source!r}")
        instance_id = _instance_id(detail.get("instance-id"), "detail.instance-id")
        state = _req_str(detail, "state", "detail.state")
        trigger = f"state:{state}"
        if state not in STATES_HANDLED:
            return Scope(trigger, account, region, event_id, ignored=f"state {state!r} needs no check")
        return Scope(trigger, account, region, event_id, instance_ids=frozenset({instance_id}))
    if detail_type == SCHEDULED_DETAIL_TYPE:
        return Scope("sweep", account, region, event_id)
    if detail_type in (SSM_COMMAND_DETAIL_TYPE, SSM_INVOCATION_DETAIL_TYPE):
        if source != "aws.ssm":
            raise EventError(f"{detail_type} must come from aws.ssm, not {source!r}")
        return _scope_from_command_event(event, detail, detail_type, account, region, event_id)
    return Scope(detail_type, account, region, event_id, ignored=f"detail-type {detail_type!r} is not handled")


def _scope_from_command_event(
    event: Mapping[str, Any],
    detail: Mapping[str, Any],
    detail_type: str,
    account: str | None,
    region: str | None,
    event_id: str | None,
) -> Scope:
    per_instance = detail_type == SSM_INVOCATION_DETAIL_TYPE
    command_id = _req_str(detail, "command-id", "detail.command-id")
    status = _req_str(detail, "status", "detail.status")
    document = _opt_str(detail, "document-name")
    trigger = f"{'ssm-invocation' if per_instance else 'ssm-command'}:{status}"
    base = Scope(trigger, account, region, event_id)
    # Events that do not name the document are read (the rule in app.py filters on it anyway).
    if document is not None and document != PATCH_DOCUMENT:
        return _ignored(base, f"command {command_id} ran {document}, not {PATCH_DOCUMENT}")
    if status not in COMMAND_STATUSES_HANDLED:
        return _ignored(base, f"command {command_id} is {status}, not finished")
    if per_instance:
        ids = {_instance_id(detail.get("instance-id"), "detail.instance-id")}
    else:
        ids = _instance_ids_of_resources(event.get("resources"))
    if not ids:
        return _ignored(base, f"command {command_id} names no EC2 instance")
    return Scope(
        trigger,
        account,
        region,
        event_id,
        instance_ids=frozenset(ids),
        command=CommandEvent(command_id, status, document, per_instance),
    )


def _instance_ids_of_resources(resources: Any) -> set[str]:
    """EC2 instance ids from an event's resource ARNs; managed on-premises nodes (mi-...) are not ours."""
    if resources is None:
        return set()
    if not isinstance(resources, list):
        raise EventError("resources must be a list of ARNs")
    ids: set[str] = set()
    for arn in resources:
        if not isinstance(arn, str):
            raise EventError("resources must be a list of ARNs")
        if arn.startswith("arn:") and ":instance/" in arn:
            ids.add(_instance_id(arn.rsplit("/", 1)[-1], "resources[]"))
    return ids


def _with_envelope(scope: Scope, account: str | None, region: str | None) -> Scope:
    # The envelope's region is where the rule fired; the record's wins when they differ only if set.
    return Scope(
        trigger=scope.trigger,
        account=scope.account or account,
        region=scope.region or region,
        event_id=scope.event_id,
        instance_ids=scope.instance_ids,
        group_ids=scope.group_ids,
        network_interface_ids=scope.network_interface_ids,
        ignored=scope.ignored,
        group_names=scope.group_names,
        actor=scope.actor,
    )


def _scope_from_log_file(records: Any) -> Scope:
    if not isinstance(records, list) or not records:
        raise EventError("Records must be a non-empty list of CloudTrail records")
    scopes = [_scope_from_record(r, event_id=None) for r in records]
    acting = [s for s in scopes if not s.ignored]
    if not acting:
        reasons = "; ".join(sorted({s.ignored or "" for s in scopes}))
        return Scope("Records", scopes[0].account, scopes[0].region, ignored=reasons)
    places = {(s.account, s.region) for s in acting}
    if len(places) > 1:
        raise EventError("the log file spans several accounts or regions; replay one at a time")
    account, region = places.pop()
    return Scope(
        trigger="+".join(sorted({s.trigger for s in acting})),
        account=account,
        region=region,
        instance_ids=frozenset().union(*(s.instance_ids for s in acting)),
        group_ids=frozenset().union(*(s.group_ids for s in acting)),
        network_interface_ids=frozenset().union(*(s.network_interface_ids for s in acting)),
        group_names=frozenset().union(*(s.group_names for s in acting)),
        actor=acting[0].actor if len(acting) == 1 else None,
    )


def _scope_from_record(record: Any, event_id: str | None) -> Scope:
    if not isinstance(record, Mapping):
        raise EventError("a CloudTrail record must be a JSON object")
    name = _req_str(record, "eventName")
    source = _opt_str(record, "eventSource")
    record_id = _opt_str(record, "eventID")
    event_id = event_id or record_id
    account = _account(record.get("recipientAccountId"), "recipientAccountId")
    region = _region(record.get("awsRegion"), "awsRegion")
    base = Scope(trigger=name, account=account, region=region, event_id=event_id)
    if source is not None and source != "ec2.amazonaws.com":
        return _ignored(base, f"eventSource {source!r} is not EC2")
    if record.get("errorCode") is not None:
        return _ignored(base, f"{name} failed with {record.get('errorCode')}: nothing changed")
    if name not in EC2_CALLS:
        return _ignored(base, f"{name} is not a call ec2-warden responds to")
    params = record.get("requestParameters")
    response = record.get("responseElements")
    if params is not None and not isinstance(params, Mapping):
        raise EventError("requestParameters must be a JSON object")
    if response is not None and not isinstance(response, Mapping):
        raise EventError("responseElements must be a JSON object")
    params = params or {}
    response = response or {}
    reader = _READERS[name]
    found = reader(params, response)
    if found.is_empty:
        return _ignored(base, found.ignored or f"{name} names no instance, group or interface")
    return Scope(
        trigger=name,
        account=account,
        region=region,
        event_id=event_id,
        instance_ids=found.instance_ids,
        group_ids=found.group_ids,
        network_interface_ids=found.network_interface_ids,
        group_names=found.group_names,
        actor=actor_from_record(record),
    )


def _ignored(scope: Scope, reason: str) -> Scope:
    return Scope(scope.trigger, scope.account, scope.region, scope.event_id, ignored=reason)


# --- one reader per CloudTrail call ----------------------------------------------------------


def _read_run_instances(params: Mapping[str, Any], response: Mapping[str, Any]) -> Scope:
    items = _items(response.get("instancesSet"), "responseElements.instancesSet")
    ids = {_instance_id(_field(i, "instanceId"), "instancesSet.items[].instanceId") for i in items}
    return Scope("RunInstances", instance_ids=frozenset(ids))


def _read_group_rule_change(params: Mapping[str, Any], response: Mapping[str, Any]) -> Scope:
    groups: set[str] = set()
    wrapped = params.get("ModifySecurityGroupRulesRequest")
    if isinstance(wrapped, Mapping):
        params = wrapped
    for key in ("groupId", "GroupId"):
        if params.get(key) is not None:
            groups.add(_group_id(params.get(key), f"requestParameters.{key}"))
    rules = response.get("securityGroupRuleSet")
    if rules is not None:
        for rule in _items(rules, "responseElements.securityGroupRuleSet"):
            if isinstance(rule, Mapping) and rule.get("groupId") is not None:
                groups.add(_group_id(rule.get("groupId"), "securityGroupRuleSet.items[].groupId"))
    if not groups and params.get("groupName") is not None:
        # Default VPC (EC2-Classic is gone): the snapshot finds the group by name.
        return Scope("", group_names=frozenset({_group_name(params.get("groupName"), "requestParameters.groupName")}))
    return Scope("", group_ids=frozenset(groups))


def _read_associate_address(params: Mapping[str, Any], response: Mapping[str, Any]) -> Scope:
    if params.get("instanceId") is not None:
        return Scope("", instance_ids=frozenset({_instance_id(params.get("instanceId"), "instanceId")}))
    if params.get("networkInterfaceId") is not None:
        eni = _eni_id(params.get("networkInterfaceId"), "networkInterfaceId")
        return Scope("", network_interface_ids=frozenset({eni}))
    return Scope("", ignored="AssociateAddress names neither an instance nor a network interface")


def _read_modify_instance_attribute(params: Mapping[str, Any], response: Mapping[str, Any]) -> Scope:
    # Any attribute: groups, instance type, user data, source/dest check... each can change a verdict.
    instance = _instance_id(params.get("instanceId"), "requestParameters.instanceId")
    if "groupSet" in params:
        _items(params.get("groupSet"), "requestParameters.groupSet")
    return Scope("", instance_ids=frozenset({instance}))


def _read_modify_eni_attribute(params: Mapping[str, Any], response: Mapping[str, Any]) -> Scope:
    if "groupSet" not in params:
        return Scope("", ignored="ModifyNetworkInterfaceAttribute changed no security groups")
    eni = _eni_id(params.get("networkInterfaceId"), "requestParameters.networkInterfaceId")
    _items(params.get("groupSet"), "requestParameters.groupSet")
    return Scope("", network_interface_ids=frozenset({eni}))


def _read_tag_change(params: Mapping[str, Any], response: Mapping[str, Any]) -> Scope:
    """CreateTags/DeleteTags name up to 1,000 resources of any kind; only instances matter here."""
    resources = _items(params.get("resourcesSet"), "requestParameters.resourcesSet")
    ids = set()
    for item in resources:
        resource_id = _field(item, "resourceId")
        if not isinstance(resource_id, str):
            raise EventError("resourcesSet.items[].resourceId must be a string")
        if resource_id.startswith("i-"):
            ids.add(_instance_id(resource_id, "resourcesSet.items[].resourceId"))
    _items(params.get("tagSet"), "requestParameters.tagSet")  # shape check; DeleteTags may omit it (all tags)
    if not ids:
        return Scope("", ignored="the tags changed on no instance")
    return Scope("", instance_ids=frozenset(ids))


def _read_metadata_options(params: Mapping[str, Any], response: Mapping[str, Any]) -> Scope:
    # CloudTrail records this newer call wrapped: {"ModifyInstanceMetadataOptionsRequest": {"InstanceId": ...}}.
    wrapped = params.get("ModifyInstanceMetadataOptionsRequest")
    if isinstance(wrapped, Mapping):
        params = wrapped
    key = "InstanceId" if "InstanceId" in params else "instanceId"
    instance = _instance_id(params.get(key), f"requestParameters.{key}")
    return Scope("", instance_ids=frozenset({instance}))


def _read_attach_volume(params: Mapping[str, Any], response: Mapping[str, Any]) -> Scope:
    instance = _instance_id(params.get("instanceId"), "requestParameters.instanceId")
    return Scope("", instance_ids=frozenset({instance}))


_READERS = {
    "RunInstances": _read_run_instances,
    "AuthorizeSecurityGroupIngress": _read_group_rule_change,
    "RevokeSecurityGroupIngress": _read_group_rule_change,
    "ModifySecurityGroupRules": _read_group_rule_change,
    "AssociateAddress": _read_associate_address,
    "ModifyInstanceAttribute": _read_modify_instance_attribute,
    "ModifyNetworkInterfaceAttribute": _read_modify_eni_attribute,
    "CreateTags": _read_tag_change,
    "DeleteTags": _read_tag_change,
    "ModifyInstanceMetadataOptions": _read_metadata_options,
    "AttachVolume": _read_attach_volume,
}


# --- field readers: each failure names the field ---------------------------------------------


def _items(container: Any, where: str) -> list[Any]:
    """CloudTrail's {"items": [...]} lists; {} (as published for empty sets) is an empty list."""
    if container is None or container == {}:
        return []
    if not isinstance(container, Mapping):
        raise EventError(f"{where} must be an object with items")
    items = container.get("items", [])
    if not isinstance(items, list):
        raise EventError(f"{where}.items must be a list")
    if len(items) > 1000:
        raise EventError(f"{where}.items lists {len(items)} entries; EC2 returns at most 1000")
    return items


def _field(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, Mapping) else None


def _req_str(obj: Mapping[str, Any], key: str, where: str | None = None) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise EventError(f"{where or key} must be a non-empty string")
    return value


def _opt_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventError(f"{key} must be a string")
    return value


def _checked(pattern: re.Pattern[str], what: str) -> Any:
    def check(value: Any, where: str) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            raise EventError(f"{where} is not {what}: {str(value)[:40]!r}")
        return value

    return check


_instance_id = _checked(_INSTANCE_ID, "an instance id (i-...)")
_group_id = _checked(_GROUP_ID, "a security group id (sg-...)")
_eni_id = _checked(_ENI_ID, "a network interface id (eni-...)")


def _account(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not id_rules.is_account_id(value):
        raise EventError(f"{where} is not a 12-digit account id: {str(value)[:40]!r}")
    return value


def _region(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not id_rules.is_region(value):
        raise EventError(f"{where} is not a region name: {str(value)[:40]!r}")
    return value


def _group_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > _GROUP_NAME_MAX:
        raise EventError(f"{where} is not a security group name: {str(value)[:40]!r}")
    return value


def describe(scope: Scope) -> str:
    if scope.is_sweep:
        return "every instance"
    parts: list[str] = []
    for label, ids in (
        ("instances", scope.instance_ids),
        ("groups", scope.group_ids),
        ("interfaces", scope.network_interface_ids),
        ("group names", scope.group_names),
    ):
        if ids:
            parts.append(f"{label} {', '.join(sorted(ids))}")
    return "; ".join(parts) or "nothing"
