"""Build events in the shapes AWS documents, for the demo and for tests that need ids of their own.

Envelope: EventBridge's "AWS API Call via CloudTrail" and "EC2 Instance State-change Notification".
Records: CloudTrail's eventVersion 1.08 fields (userIdentity, eventSource, requestParameters,
responseElements ...), with EC2's lowercase-camel parameter names and {"items": [...]} lists."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

ACCOUNT = "123456789012"  # moto's default account


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cloudtrail_record(
    name: str,
    request: dict[str, Any] | None,
    response: dict[str, Any] | None,
    *,
    account: str = ACCOUNT,
    region: str = "us-east-1",
    error_code: str | None = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLEPRINCIPAL",
            "arn": f"arn:aws:iam::{account}:user/alice",
            "accountId": account,
            "userName": "alice",
        },
        "eventTime": _now(),
        "eventSource": "ec2.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": request,
        "responseElements": response,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if error_code:
        record["errorCode"] = error_code
        record["errorMessage"] = "You are not authorized to perform this operation."
        record["responseElements"] = None
    return record


def wrap(record: dict[str, Any]) -> dict[str, Any]:
    """The EventBridge envelope AWS puts around a CloudTrail record."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ec2",
        "account": record["recipientAccountId"],
        "time": record["eventTime"],
        "region": record["awsRegion"],
        "resources": [],
        "detail": record,
    }


def ingress_permission(port: int, cidr: str) -> dict[str, Any]:
    return {
        "ipProtocol": "tcp",
        "fromPort": port,
        "toPort": port,
        "groups": {},
        "ipRanges": {"items": [{"cidrIp": cidr}]},
        "ipv6Ranges": {},
        "prefixListIds": {},
    }


def authorize_ingress(group_id: str, port: int, cidr: str = "0.0.0.0/0", **kw: Any) -> dict[str, Any]:
    request = {"groupId": group_id, "ipPermissions": {"items": [ingress_permission(port, cidr)]}}
    response = {
        "requestId": str(uuid.uuid4()),
        "_return": True,
        "securityGroupRuleSet": {
            "items": [
                {
                    "groupOwnerId": kw.get("account", ACCOUNT),
                    "groupId": group_id,
                    "securityGroupRuleId": "sgr-0123456789abcdef0",
                    "isEgress": False,
                    "ipProtocol": "tcp",
                    "fromPort": port,
                    "toPort": port,
                    "cidrIpv4": cidr,
                }
            ]
        },
    }
    return wrap(cloudtrail_record("AuthorizeSecurityGroupIngress", request, response, **kw))


def authorize_ingress_by_name(group_name: str, port: int, cidr: str = "0.0.0.0/0", **kw: Any) -> dict[str, Any]:
    """The call naming its default-VPC group by name only, as CloudTrail recorded it before it
    added securityGroupRuleSet to the response: no group id anywhere in the record."""
    request = {"groupName": group_name, "ipPermissions": {"items": [ingress_permission(port, cidr)]}}
    response = {"requestId": str(uuid.uuid4()), "_return": True}
    return wrap(cloudtrail_record("AuthorizeSecurityGroupIngress", request, response, **kw))


def revoke_ingress(group_id: str, port: int, cidr: str = "0.0.0.0/0", **kw: Any) -> dict[str, Any]:
    request = {"groupId": group_id, "ipPermissions": {"items": [ingress_permission(port, cidr)]}}
    response = {"requestId": str(uuid.uuid4()), "_return": True}
    return wrap(cloudtrail_record("RevokeSecurityGroupIngress", request, response, **kw))


def modify_security_group_rules(group_id: str, rule_id: str, cidr: str, port: int, **kw: Any) -> dict[str, Any]:
    request = {
        "ModifySecurityGroupRulesRequest": {
            "GroupId": group_id,
            "SecurityGroupRule": {
                "SecurityGroupRuleId": rule_id,
                "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIpv4": cidr},
            },
        }
    }
    response = {"ModifySecurityGroupRulesResponse": {"requestId": str(uuid.uuid4()), "return": True}}
    return wrap(cloudtrail_record("ModifySecurityGroupRules", request, response, **kw))


def run_instances(instance_ids: list[str], group_id: str, **kw: Any) -> dict[str, Any]:
    request = {
        "instancesSet": {"items": [{"imageId": "ami-12c6146b", "minCount": 1, "maxCount": len(instance_ids)}]},
        "groupSet": {"items": [{"groupId": group_id}]},
        "instanceType": "t3.micro",
    }
    response = {
        "requestId": str(uuid.uuid4()),
        "reservationId": "r-0123456789abcdef0",
        "ownerId": kw.get("account", ACCOUNT),
        "groupSet": {},
        "instancesSet": {
            "items": [
                {"instanceId": i, "imageId": "ami-12c6146b", "instanceState": {"code": 0, "name": "pending"}}
                for i in instance_ids
            ]
        },
    }
    return wrap(cloudtrail_record("RunInstances", request, response, **kw))


def associate_address(*, instance_id: str | None = None, eni_id: str | None = None, **kw: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"allocationId": "eipalloc-0123456789abcdef0", "allowReassociation": False}
    if instance_id:
        request["instanceId"] = instance_id
    if eni_id:
        request["networkInterfaceId"] = eni_id
    response = {"requestId": str(uuid.uuid4()), "_return": True, "associationId": "eipassoc-0123456789abcdef0"}
    return wrap(cloudtrail_record("AssociateAddress", request, response, **kw))


def modify_instance_groups(instance_id: str, group_ids: list[str], **kw: Any) -> dict[str, Any]:
    request = {"instanceId": instance_id, "groupSet": {"items": [{"groupId": g} for g in group_ids]}}
    response = {"requestId": str(uuid.uuid4()), "_return": True}
    return wrap(cloudtrail_record("ModifyInstanceAttribute", request, response, **kw))


def modify_eni_groups(eni_id: str, group_ids: list[str], **kw: Any) -> dict[str, Any]:
    request = {"networkInterfaceId": eni_id, "groupSet": {"items": [{"groupId": g} for g in group_ids]}}
    response = {"requestId": str(uuid.uuid4()), "_return": True}
    return wrap(cloudtrail_record("ModifyNetworkInterfaceAttribute", request, response, **kw))


def state_change(instance_id: str, state: str, *, account: str = ACCOUNT, region: str = "us-east-1") -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": account,
        "time": _now(),
        "region": region,
        "resources": [f"arn:aws:ec2:{region}:{account}:instance/{instance_id}"],
        "detail": {"instance-id": instance_id, "state": state},
    }


def create_tags(resource_ids: list[str], tags: dict[str, str], **kw: Any) -> dict[str, Any]:
    request = {
        "resourcesSet": {"items": [{"resourceId": r} for r in resource_ids]},
        "tagSet": {"items": [{"key": k, "value": v} for k, v in tags.items()]},
    }
    return wrap(cloudtrail_record("CreateTags", request, {"requestId": str(uuid.uuid4()), "_return": True}, **kw))


def modify_metadata_options(instance_id: str, http_tokens: str, **kw: Any) -> dict[str, Any]:
    # Recorded wrapped, with the API's own member names (like ModifySecurityGroupRules).
    request = {"ModifyInstanceMetadataOptionsRequest": {"InstanceId": instance_id, "HttpTokens": http_tokens}}
    response = {
        "ModifyInstanceMetadataOptionsResponse": {
            "instanceId": instance_id,
            "instanceMetadataOptions": {"state": "pending", "httpTokens": http_tokens, "httpEndpoint": "enabled"},
            "requestId": str(uuid.uuid4()),
        }
    }
    return wrap(cloudtrail_record("ModifyInstanceMetadataOptions", request, response, **kw))
