"""The one mapper from ec2-warden findings to the AWS Security Finding Format (ASFF). Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.model import Finding, Instance, PriorFinding, Resolution, Severity
from chalicelib.rules.partitions import instance_arn, partition_of
from chalicelib.rules.timefmt import format_iso_millis

if TYPE_CHECKING:
    from chalicelib.rules.actor import Actor

SCHEMA_VERSION = "2018-10-08"
GENERATOR_PREFIX = "ec2-warden/"
PRODUCT_NAME = "ec2-warden"
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 1024
MAX_TAGS = 50  # ASFF caps Resources[].Tags; EC2 allows 50 tags an instance anyway
NOTE_LIMIT = 512  # BatchUpdateFindings: Note.Text is at most 512 characters
NOTE_AUTHOR = "ec2-warden"  # Note.UpdatedBy (at most 128)

FINDING_TYPES: Mapping[str, tuple[str, ...]] = {
    "public-exposure": (
        "Software and Configuration Checks/AWS Security Best Practices/Network Reachability",
        "Effects/Data Exposure",
    ),
    # --- patch loop
    "ssm-unmanaged": ("Software and Configuration Checks/AWS Security Best Practices",),
    "patch-noncompliant": (
        "Software and Configuration Checks/Vulnerabilities",
        "Software and Configuration Checks/AWS Security Best Practices",
    ),
    "launch-hygiene": ("Software and Configuration Checks/AWS Security Best Practices",),
    "environment-drift": ("Software and Configuration Checks/AWS Security Best Practices",),
}


def product_arn(account: str, region: str) -> str:
    return f"arn:{partition_of(region)}:securityhub:{region}:{account}:product/{account}/default"


def _owner_fields(resource_account: str, reporter: str | None) -> dict[str, str]:
    """ProductFields naming the swept account when another account's hub holds the finding.

    With the default product ARN, AWS accepts a finding only from the account in its AwsAccountId,
    so a finding kept in the home account's hub (`reporter`) carries the home account there and
    names the swept account here and in its resource ARN (see chalicelib/fanout/worker.py)."""
    if reporter is None or reporter == resource_account:
        return {}
    return {"ec2-warden/ResourceAccount": resource_account}


def generator_id(check: str) -> str:
    return f"{GENERATOR_PREFIX}{check}"


def finding_to_asff(
    finding: Finding,
    now: datetime,
    *,
    instance: Instance | None = None,
    prior: PriorFinding | None = None,
    reporter: str | None = None,
) -> dict[str, Any]:
    """A FAILED, ACTIVE finding. FirstObservedAt and CreatedAt survive updates through `prior`.

    `reporter`: the account whose hub receives it, when not the instance's own (see _owner_fields).

    No Workflow here: a provider may not change Workflow.Status through BatchImportFindings once
    the finding exists. A finding ec2-warden resolved (Workflow RESOLVED, see resolution_note) that
    fails again needs no call to reopen either: re-imported under the same id it turns ACTIVE and
    FAILED again, and Security Hub itself resets Workflow.Status from NOTIFIED or RESOLVED to NEW
    when RecordState changes from ARCHIVED to ACTIVE or Compliance.Status from PASSED to WARNING,
    FAILED or NOT_AVAILABLE (API reference, Workflow / WorkflowUpdate: Status "NEW"). A finding a
    person SUPPRESSED keeps that status (the reset covers NOTIFIED and RESOLVED only)."""
    stamp = _utc_iso(now)
    first = prior.first_observed_at if prior else stamp
    owner = reporter or finding.account
    payload = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding.id,
        "ProductArn": product_arn(owner, finding.region),
        "ProductName": PRODUCT_NAME,
        "CompanyName": PRODUCT_NAME,
        "GeneratorId": generator_id(finding.check.value),
        "AwsAccountId": owner,
        "Region": finding.region,
        "Types": list(FINDING_TYPES.get(finding.check.value, ("Software and Configuration Checks",))),
        "FirstObservedAt": first,
        "LastObservedAt": stamp,
        "CreatedAt": first,
        "UpdatedAt": stamp,
        "Severity": {"Label": finding.severity.value},
        "FindingProviderFields": _provider_fields(finding.severity, finding.check.value),
        "Title": clip(finding.title, TITLE_LIMIT),
        "Description": clip(finding.description, DESCRIPTION_LIMIT),
        "Remediation": {"Recommendation": {"Text": clip(finding.remediation, 512)}},
        "ProductFields": {
            "ec2-warden/Check": finding.check.value,
            "ec2-warden/ResourceId": finding.resource_id,
            **_owner_fields(finding.account, reporter),
        },
        "Resources": [_instance_resource(finding, instance)],
        "Compliance": {"Status": "FAILED"},
        "RecordState": "ACTIVE",
    }
    return with_actor(payload, finding.actor, finding.escalated_because, prior)


def resolution_to_asff(
    resolution: Resolution, account: str, region: str, now: datetime, *, reporter: str | None = None
) -> dict[str, Any]:
    """The same finding re-imported as PASSED and ARCHIVED, so a fixed problem clears itself."""
    prior = resolution.prior
    stamp = _utc_iso(now)
    owner = reporter or account
    payload = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": resolution.finding_id,
        "ProductArn": product_arn(owner, region),
        "ProductName": PRODUCT_NAME,
        "CompanyName": PRODUCT_NAME,
        "GeneratorId": generator_id(resolution.check),
        "AwsAccountId": owner,
        "Region": region,
        "Types": list(FINDING_TYPES.get(resolution.check, ("Software and Configuration Checks",))),
        "FirstObservedAt": prior.first_observed_at,
        "LastObservedAt": stamp,
        "CreatedAt": prior.first_observed_at,
        "UpdatedAt": stamp,
        "Severity": {"Label": Severity.INFORMATIONAL.value},
        "FindingProviderFields": _provider_fields(Severity.INFORMATIONAL, resolution.check),
        "Title": clip(f"Resolved: {prior.title}", 256),
        "Description": clip(f"{resolution.reason}. Was: {prior.description}", 1024),
        "ProductFields": {
            "ec2-warden/Check": resolution.check,
            "ec2-warden/ResourceId": resolution.resource_id,
            "ec2-warden/ResolvedBecause": clip(resolution.reason, 256),
            **_owner_fields(account, reporter),
        },
        "Resources": [
            {
                "Type": "AwsEc2Instance",
                "Id": instance_arn(region, account, resolution.resource_id),
                "Partition": partition_of(region),
                "Region": region,
            }
        ],
        "Compliance": {"Status": "PASSED"},
        "RecordState": "ARCHIVED",
    }
    # The archived record still says who raised it, and why it was raised a step.
    return with_actor(payload, None, prior.escalated_because, prior)


def resolution_note(reasons: Sequence[str]) -> str:
    """Note.Text set with Workflow.Status RESOLVED: why ec2-warden resolved the finding.

    BatchUpdateFindings puts one Note on every finding of a call, so a call whose findings share
    one reason (an event's single finding, say) gives it; a mixed call says where each finding's
    own reason is, rather than splitting into one call per reason."""
    distinct = sorted(set(reasons))
    if len(distinct) == 1:
        return clip(f"Resolved by ec2-warden: {distinct[0]}.", NOTE_LIMIT)
    return clip(
        "Resolved by ec2-warden: the instance passes the check again, is no longer running, or no longer "
        "exists. This finding's own reason is in its Description and in ProductFields ec2-warden/ResolvedBecause.",
        NOTE_LIMIT,
    )


def prior_from_asff(raw: Mapping[str, Any]) -> PriorFinding | None:
    """Read back a finding ec2-warden posted; None for anything that is not one of ours."""
    generator = str(raw.get("GeneratorId", ""))
    if not generator.startswith(GENERATOR_PREFIX):
        return None
    fields = raw.get("ProductFields") or {}
    resource_id = fields.get("ec2-warden/ResourceId")
    if not resource_id:
        resources = raw.get("Resources") or [{}]
        resource_id = str(resources[0].get("Id", "")).rsplit("/", 1)[-1]
    # The provider's severity, not the top-level one an analyst may have changed: comparing that
    # would make every later run see a "changed" finding and announce it again.
    provided = (raw.get("FindingProviderFields") or {}).get("Severity") or raw.get("Severity") or {}
    try:
        severity = Severity(str(provided.get("Label", "INFORMATIONAL")))
    except ValueError:
        severity = Severity.INFORMATIONAL
    return PriorFinding(
        id=str(raw["Id"]),
        check=generator[len(GENERATOR_PREFIX) :],
        resource_id=resource_id,
        severity=severity,
        title=str(raw.get("Title", "")),
        description=str(raw.get("Description", "")),
        first_observed_at=str(raw.get("FirstObservedAt") or raw.get("CreatedAt") or ""),
        updated_at=str(raw.get("UpdatedAt", "")),
        workflow_status=str((raw.get("Workflow") or {}).get("Status") or ""),
        **prior_actor(raw),
    )


def _provider_fields(severity: Severity, check: str) -> dict[str, Any]:
    """Severity and Types as the provider says them (BatchImportFindings: providers set these in
    FindingProviderFields). The top-level copies are the analysts' once they change them in
    Security Hub, which then ignores the provider's top-level values."""
    return {
        "Severity": {"Label": severity.value, "Original": severity.value},
        "Types": list(FINDING_TYPES.get(check, ("Software and Configuration Checks",))),
    }


def _instance_resource(finding: Finding, instance: Instance | None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "Type": "AwsEc2Instance",
        "Id": instance_arn(finding.region, finding.account, finding.resource_id),
        "Partition": partition_of(finding.region),
        "Region": finding.region,
    }
    if instance is None:
        return resource
    if instance.tags:
        resource["Tags"] = {k[:128]: v[:256] for k, v in list(instance.tags.items())[:MAX_TAGS]}
    details: dict[str, Any] = {
        "Type": instance.instance_type,
        "ImageId": instance.image_id,
        "IpV4Addresses": [a for a in (*instance.public_ipv4_addresses, *_private_ips(instance)) if a],
        "IpV6Addresses": list(instance.ipv6_addresses),
        "VpcId": instance.vpc_id,
        "SubnetId": instance.subnet_id,
        "NetworkInterfaces": [{"NetworkInterfaceId": e.id} for e in instance.network_interfaces],
    }
    if instance.launch_time is not None:
        details["LaunchedAt"] = _utc_iso(instance.launch_time)
    resource["Details"] = {"AwsEc2Instance": {k: v for k, v in details.items() if v not in (None, "", [])}}
    return resource


def _private_ips(instance: Instance) -> list[str]:
    return [e.private_ip for e in instance.network_interfaces if e.private_ip]


_utc_iso = format_iso_millis


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- who did it: the actor of the change that raised a finding ---------------------------------
# ASFF (AwsSecurityFinding): ProductFields hold at most 50 pairs, keys up to 128 characters and
# values up to 2048; AwsApiCallAction.Api and DomainDetails.Domain up to 128; every string must
# hold a non-blank character. A finding raised by a CloudTrail event carries its Action and the
# actor fields below; one imported without an actor (a sweep's refresh, a resolution) carries on
# those its open finding had, so re-importing never erases who raised it.
MAX_PRODUCT_FIELDS = 50
PRODUCT_FIELD_KEY_LIMIT = 128
PRODUCT_FIELD_VALUE_LIMIT = 2048
API_CALL_TEXT_LIMIT = 128
ACTOR_FIELD = "ec2-warden/Actor"
ACTOR_TYPE_FIELD = "ec2-warden/ActorType"
SOURCE_IP_FIELD = "ec2-warden/SourceIp"
EVENT_ID_FIELD = "ec2-warden/EventId"
ESCALATED_FIELD = "ec2-warden/EscalatedBecause"
ACTOR_FIELDS = (
    ACTOR_FIELD,
    ACTOR_TYPE_FIELD,
    SOURCE_IP_FIELD,
    EVENT_ID_FIELD,
    "ec2-warden/ActorRole",
    "ec2-warden/ActorSession",
    "ec2-warden/ActorClient",
    "ec2-warden/ActorMfa",
    "ec2-warden/ActorInvokedBy",
    "ec2-warden/EventTime",
    "ec2-warden/Api",
)


def with_actor(
    payload: dict[str, Any], actor: Actor | None, escalated_because: str, prior: PriorFinding | None
) -> dict[str, Any]:
    """`payload` with the actor's Action and ProductFields (or the prior finding's, when it has no
    actor of its own), within ASFF's limits."""
    fields = dict(payload.get("ProductFields") or {})
    if actor is not None:
        action = api_call_action(actor)
        fields.update(actor_product_fields(actor))
    elif prior is not None:
        action = dict(prior.action) if prior.action else None
        fields.update(prior.actor_fields)
    else:
        action = None
    if escalated_because:
        fields[ESCALATED_FIELD] = escalated_because
    payload["ProductFields"] = bounded_product_fields(fields)
    if action:
        payload["Action"] = action
    return payload


def api_call_action(actor: Actor) -> dict[str, Any] | None:
    """ASFF Action (ActionType AWS_API_CALL) for the call that raised the finding."""
    call: dict[str, Any] = {}
    if actor.api.strip():
        call["Api"] = actor.api[:API_CALL_TEXT_LIMIT]
    if actor.service.strip():
        call["ServiceName"] = actor.service[:API_CALL_TEXT_LIMIT]
    ipv4 = actor.source_ipv4
    if ipv4 is not None:
        call["CallerType"] = "remoteip"
        call["RemoteIpDetails"] = {"IpAddressV4": ipv4}
    elif actor.source_is_service:  # an AWS service called: CloudTrail names it instead of an address
        call["CallerType"] = "domain"
        call["DomainDetails"] = {"Domain": actor.source_ip[:API_CALL_TEXT_LIMIT]}
    if actor.event_time is not None:
        call["FirstSeen"] = call["LastSeen"] = _utc_iso(actor.event_time)
    if not call:
        return None
    return {"ActionType": "AWS_API_CALL", "AwsApiCallAction": call}


def actor_product_fields(actor: Actor) -> dict[str, str]:
    mfa = "" if actor.mfa is None else ("true" if actor.mfa else "false")
    time = _utc_iso(actor.event_time) if actor.event_time is not None else ""
    pairs = {
        ACTOR_FIELD: actor.principal,
        ACTOR_TYPE_FIELD: actor.type,
        SOURCE_IP_FIELD: actor.source_ip,
        EVENT_ID_FIELD: actor.event_id,
        "ec2-warden/ActorRole": actor.role_arn,
        "ec2-warden/ActorSession": actor.session_name,
        "ec2-warden/ActorClient": actor.client,
        "ec2-warden/ActorMfa": mfa,
        "ec2-warden/ActorInvokedBy": actor.invoked_by,
        "ec2-warden/EventTime": time,
        "ec2-warden/Api": actor.api,
    }
    return {k: v for k, v in pairs.items() if v.strip()}


def bounded_product_fields(fields: Mapping[str, Any]) -> dict[str, str]:
    """At most 50 pairs, keys cut to 128 and values to 2048 characters, blank values left out.
    ec2-warden's own keys come first, so the ones that identify the finding are never dropped."""
    out: dict[str, str] = {}
    for key, value in fields.items():
        text = str(value)
        if not text.strip() or not str(key).strip():
            continue
        out.setdefault(str(key)[:PRODUCT_FIELD_KEY_LIMIT], clip(text, PRODUCT_FIELD_VALUE_LIMIT))
        if len(out) == MAX_PRODUCT_FIELDS:
            break
    return out


def prior_actor(raw: Mapping[str, Any]) -> dict[str, Any]:
    """What an open finding says of who raised it, for PriorFinding (see with_actor)."""
    fields = raw.get("ProductFields") or {}
    action = raw.get("Action")
    kept = action if isinstance(action, Mapping) and action.get("ActionType") == "AWS_API_CALL" else None
    return {
        "action": kept,
        "actor_fields": {k: str(fields[k]) for k in ACTOR_FIELDS if isinstance(fields, Mapping) and fields.get(k)},
        "escalated_because": str(fields.get(ESCALATED_FIELD) or "") if isinstance(fields, Mapping) else "",
    }
