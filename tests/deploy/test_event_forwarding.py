"""Organisation-wide events as infrastructure: the member side forwards exactly what app.py's
handlers match to the home bus, with a role allowed that one bus; the home bus accepts events
from the organisation or listed accounts only; and the forwarded events, landing on the home
account's default bus, match Chalice's own rules as they are."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from cfnlint.decode import decode
from moto.events.models import EventPattern

import app as chalice_app
from devtools import events
from tests.conftest import shared_event

from .project import INFRA_DIR

RULE_OF_HANDLER = {
    "on_ec2_api_call": "Ec2ApiCallsToHome",
    "on_instance_state_change": "InstanceStateChangesToHome",
    "on_patch_command": "PatchCommandsToHome",
}
HOME_BUS = "arn:${AWS::Partition}:events:${HomeRegion}:${HomeAccountId}:event-bus/${HomeEventBusName}"


def load(name: str) -> dict[str, Any]:
    template, errors = decode(str(INFRA_DIR / name))
    assert not errors, errors
    return template


def handler_patterns() -> dict[str, dict[str, Any]]:
    return {
        e.name: e.event_pattern for e in chalice_app.app.event_sources if type(e).__name__ == "CloudWatchEventConfig"
    }


def test_the_member_rules_forward_exactly_what_the_handlers_match() -> None:
    resources = load("event-forwarding.yaml")["Resources"]
    rules = {k: v for k, v in resources.items() if v["Type"] == "AWS::Events::Rule"}
    # GIVEN one forwarding rule per EventBridge handler of app.py, and no other
    assert set(handler_patterns()) == set(RULE_OF_HANDLER)
    assert set(rules) == set(RULE_OF_HANDLER.values())
    for handler, pattern in handler_patterns().items():
        # THEN each rule's pattern is the handler's, to the letter
        assert rules[RULE_OF_HANDLER[handler]]["Properties"]["EventPattern"] == pattern, handler


def test_every_rule_targets_the_home_bus_with_a_role_that_may_put_there_only() -> None:
    resources = load("event-forwarding.yaml")["Resources"]
    for name in RULE_OF_HANDLER.values():
        (target,) = resources[name]["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::Sub": HOME_BUS}
        assert target["RoleArn"] == {"Fn::GetAtt": ["ForwardingRole", "Arn"]}
    role = resources["ForwardingRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    ((statement,),) = [p["PolicyDocument"]["Statement"] for p in role["Policies"]]
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == (
        "Allow",
        "events:PutEvents",
        {"Fn::Sub": HOME_BUS},
    )
    assert "RoleName" not in role  # one account takes the stack in every region: IAM names are global


def test_the_home_bus_accepts_put_events_from_the_organisation_or_listed_accounts_only() -> None:
    template = load("event-receiving.yaml")
    policies = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Events::EventBusPolicy"}
    assert set(policies) == {"OrganizationMayPutEvents", "ListedAccountsMayPutEvents"}
    org = policies["OrganizationMayPutEvents"]
    assert org["Condition"] == "FromOrganization"
    statement = org["Properties"]["Statement"]
    assert (statement["Effect"], statement["Action"], statement["Principal"]) == ("Allow", "events:PutEvents", "*")
    # a "*" principal is held to the organisation by aws:PrincipalOrgID
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}}
    listed = policies["ListedAccountsMayPutEvents"]
    assert listed["Condition"] == "FromAccounts"
    assert listed["Properties"]["Statement"]["Principal"] == {"AWS": {"Ref": "SourceAccountIds"}}
    assert listed["Properties"]["Statement"]["Action"] == "events:PutEvents"
    # AND a stack that lets nobody in refuses to deploy
    (rule,) = template["Rules"].values()
    assert "OrganizationId" in str(rule["Assertions"]) and "SourceAccountIds" in str(rule["Assertions"])


def _patch_run(event: dict[str, Any]) -> dict[str, Any]:
    """The published samples ran other documents; the handler listens for AWS-RunPatchBaseline."""
    event["detail"]["document-name"] = "AWS-RunPatchBaseline"
    return event


def _forwarded(event: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    """What lands on the home bus: the member's event, its account and region kept."""
    out = copy.deepcopy(event)
    out["account"], out["region"] = account, region
    return out


@pytest.mark.parametrize(
    ("handler", "event"),
    [
        ("on_ec2_api_call", events.authorize_ingress("sg-0123456789abcdef0", 22, account="222222222222")),
        ("on_ec2_api_call", shared_event("cloudtrail-run-instances-wrapped.json")),
        ("on_instance_state_change", events.state_change("i-0123456789abcdef0", "running")),
        ("on_patch_command", _patch_run(shared_event("ssm-ec2-command-status-change.json"))),
        ("on_patch_command", _patch_run(shared_event("ssm-ec2-command-invocation-status-change.json"))),
    ],
)
def test_a_forwarded_member_event_matches_the_handlers_rule_on_the_home_default_bus(handler, event) -> None:
    # GIVEN a member account's event as the home bus receives it (another account, another region)
    forwarded = _forwarded(event, "222222222222", "eu-central-1")
    patterns = handler_patterns()
    # THEN Chalice's rule for its handler matches it (moto's EventBridge pattern matcher), and no
    # other handler's rule does
    matched = [name for name, p in patterns.items() if EventPattern.load(_json(p)).matches_event(forwarded)]
    assert matched == [handler]
    # AND the member rule forwards it in the first place (same pattern, in the member account)
    member_rule = load("event-forwarding.yaml")["Resources"][RULE_OF_HANDLER[handler]]
    assert EventPattern.load(_json(member_rule["Properties"]["EventPattern"])).matches_event(event)


def _json(pattern: dict[str, Any]) -> str:
    return json.dumps(pattern)


QUEUE_RULE_OF_HANDLER = {
    "on_ec2_api_call": "Ec2ApiCallsToQueue",
    "on_instance_state_change": "InstanceStateChangesToQueue",
    "on_patch_command": "PatchCommandsToQueue",
}


def test_the_queued_delivery_rules_match_exactly_what_the_direct_handlers_match() -> None:
    # EVENT_DELIVERY=queued: infra/queues.yaml's rules replace Chalice's, with the same patterns
    resources = load("queues.yaml")["Resources"]
    rules = {k: v for k, v in resources.items() if v["Type"] == "AWS::Events::Rule"}
    assert set(rules) == set(QUEUE_RULE_OF_HANDLER.values())
    for handler, pattern in handler_patterns().items():
        rule = rules[QUEUE_RULE_OF_HANDLER[handler]]
        assert rule["Properties"]["EventPattern"] == pattern, handler
        assert rule["Properties"]["Targets"] == [{"Id": "events-queue", "Arn": {"Fn::GetAtt": ["EventsQueue", "Arn"]}}]
        assert rule["Condition"] == "Queued"
