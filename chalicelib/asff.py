"""The one mapper from ec2-warden findings to the AWS Security Finding Format (ASFF). Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .model import Finding, Instance, PriorFinding, Resolution, Severity
from .partitions import instance_arn, partition_of

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
    # --- patch loop (issue 4)
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
    names the swept account here and in its resource ARN (see chalicelib/fanout_entry.py)."""
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
    return {
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


def resolution_to_asff(
    resolution: Resolution, account: str, region: str, now: datetime, *, reporter: str | None = None
) -> dict[str, Any]:
    """The same finding re-imported as PASSED and ARCHIVED, so a fixed problem clears itself."""
    prior = resolution.prior
    stamp = _utc_iso(now)
    owner = reporter or account
    return {
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


def _utc_iso(ts: datetime) -> str:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
