"""Fuzzed userIdentity shapes (missing fields, unknown types, very long ARNs, unicode, wrong types):
reading the actor never fails, a run with it completes, and what it writes stays inside ASFF's and
Slack's limits, escaped."""

from __future__ import annotations

import copy
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from chalicelib.adapters.clients import AwsClients
from chalicelib.checks import run_checks
from chalicelib.events.scope import scope_from_event
from chalicelib.model import ActionKind, Mode
from chalicelib.notify import FindingNotice, finding_message, rollup_message
from chalicelib.pipeline import run_event
from chalicelib.plan import plan_actions
from chalicelib.rules.actor import actor_from_record
from chalicelib.rules.asff import finding_to_asff, prior_from_asff
from chalicelib.settings import load_settings
from devtools import events
from devtools.slack_sink import block_kit_violations
from tests.builders import NOW, eni, group, instance, rule, snapshot

TEXT = st.one_of(
    st.text(max_size=60),
    st.text(min_size=2000, max_size=6000),  # past every limit downstream
    st.sampled_from(["", " ", "<!channel>", "<https://evil.example|click>", "&amp;", "`x`", "☃" * 300, "\x00\n"]),
)
ARN = st.one_of(
    TEXT,
    st.builds(lambda s: f"arn:aws:sts::111122223333:assumed-role/{s}", st.text(min_size=1, max_size=3000)),
    st.just("arn:aws:iam::111122223333:root"),
)
ODD = st.one_of(st.none(), st.integers(), st.booleans(), st.lists(st.text(max_size=5), max_size=3), st.just({}))
IDENTITY_TYPE = st.one_of(
    st.sampled_from(["Root", "IAMUser", "AssumedRole", "FederatedUser", "AWSService", "AWSAccount", "Unknown"]),
    st.sampled_from(["IdentityCenterUser", "SAMLUser", "WebIdentityUser", "Directory"]),
    TEXT,
    ODD,
)
MFA = st.one_of(st.sampled_from(["true", "false", "TRUE", "yes", ""]), ODD)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(None), strategy)


@st.composite
def identities(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:  # not an object at all
        return draw(st.one_of(ODD, TEXT))
    fields = {
        "type": maybe(IDENTITY_TYPE),
        "arn": maybe(st.one_of(ARN, ODD)),
        "principalId": maybe(st.one_of(TEXT, ODD)),
        "accountId": maybe(st.one_of(st.just("111122223333"), TEXT, ODD)),
        "invokedBy": maybe(st.one_of(st.sampled_from(["signin.amazonaws.com", "autoscaling.amazonaws.com"]), TEXT)),
        "sessionContext": maybe(
            st.one_of(
                ODD,
                st.fixed_dictionaries(
                    {},
                    optional={
                        "sessionIssuer": st.one_of(ODD, st.fixed_dictionaries({}, optional={"arn": ARN, "type": TEXT})),
                        "webIdFederationData": st.one_of(
                            ODD, st.fixed_dictionaries({}, optional={"federatedProvider": st.one_of(TEXT, ODD)})
                        ),
                        "attributes": st.one_of(ODD, st.fixed_dictionaries({}, optional={"mfaAuthenticated": MFA})),
                        "sourceIdentity": st.one_of(TEXT, ODD),
                    },
                ),
            )
        ),
    }
    drawn = {k: draw(v) for k, v in fields.items()}
    return {k: v for k, v in drawn.items() if v is not None}


ADDRESS = st.one_of(
    st.ip_addresses().map(str),
    st.sampled_from(["00.000.000.000", "autoscaling.amazonaws.com", "AWS Internal"]),
    TEXT,
    ODD,
)
AGENT = st.one_of(
    st.sampled_from(
        ["console.ec2.amazonaws.com", "aws-cli/2.15.0", "Boto3/1.34.0", "APN/1.0 HashiCorp/1.0 Terraform/1.7"]
    ),
    TEXT,
    ODD,
)
TIME = st.one_of(st.sampled_from(["2026-05-21T08:05:00Z", "0001-01-01T00:00:00+01:00", "yesterday"]), TEXT, ODD)
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fuzzed(event: dict[str, Any], identity: Any, address: Any, agent: Any, when: Any, event_id: Any) -> dict[str, Any]:
    out = copy.deepcopy(event)
    detail = out["detail"]
    for key, value in (
        ("userIdentity", identity),
        ("sourceIPAddress", address),
        ("userAgent", agent),
        ("eventTime", when),
        ("eventID", event_id),
    ):
        if value is None:
            detail.pop(key, None)
        else:
            detail[key] = value
    return out


def assert_asff_within_limits(payload: dict[str, Any]) -> None:
    json.dumps(payload)
    fields = payload["ProductFields"]
    assert len(fields) <= 50
    for key, value in fields.items():
        assert isinstance(key, str) and isinstance(value, str)
        assert 1 <= len(key) <= 128 and key.strip()
        assert 1 <= len(value) <= 2048 and value.strip()
    assert len(payload["Title"]) <= 256 and len(payload["Description"]) <= 1024
    action = payload.get("Action")
    if action is not None:
        assert action["ActionType"] == "AWS_API_CALL"
        call = action["AwsApiCallAction"]
        assert call  # never an empty object
        for key in ("Api", "ServiceName"):
            if key in call:
                assert 1 <= len(call[key]) <= 128 and call[key].strip()
        if "RemoteIpDetails" in call:
            ipaddress.IPv4Address(call["RemoteIpDetails"]["IpAddressV4"])
            assert call["CallerType"] == "remoteip"
        if "DomainDetails" in call:
            assert 1 <= len(call["DomainDetails"]["Domain"]) <= 128
            assert call["CallerType"] == "domain"


@FAST
@given(identity=identities(), address=maybe(ADDRESS), agent=maybe(AGENT), when=maybe(TIME), event_id=maybe(TEXT))
def test_any_identity_reads_and_stays_within_asff_and_slack_limits(identity, address, agent, when, event_id):
    event = fuzzed(events.authorize_ingress("sg-00000001", 3306), identity, address, agent, when, event_id)
    # Reading the actor never fails, however the identity looks
    assert actor_from_record(event["detail"]) is not None
    scope = scope_from_event(event)
    assert scope.actor is not None and scope.group_ids == {"sg-00000001"}
    # and the findings it raises stay inside every limit downstream
    box = instance("i-00000001", enis=(eni(public_ip="203.0.113.9"),))
    snap = replace(
        snapshot([box], [group("sg-00000001", rule(ports=(3306, 3306), v4=("0.0.0.0/0",)))], is_sweep=False),
        actor=scope.actor,
        trigger=scope.trigger,
    )
    settings_ = load_settings({"WARDEN_CHECKS": "public-exposure", "TAG_LAUNCHED_BY": "on"}, mode=Mode.ENFORCE)
    plan = plan_actions(run_checks(snap, settings_, NOW), snap, settings_, NOW)
    [finding] = plan.findings
    payload = finding_to_asff(finding, NOW)
    assert_asff_within_limits(payload)
    prior = prior_from_asff(payload)
    assert prior is not None
    assert_asff_within_limits(finding_to_asff(replace(finding, actor=None), NOW, prior=prior))
    notice = FindingNotice(finding, plan.statuses[finding.id])
    for message in (finding_message(notice), rollup_message([notice] * 12, 9)):
        assert block_kit_violations(message) == []
        text = json.dumps(message)
        assert "<!channel>" not in text and "<https://evil.example" not in text
    for action in plan.actions:
        if action.kind is ActionKind.TAG_LAUNCHED_BY:  # never for this call, but bounded if it were
            assert all(len(v) <= 256 for v in action.params["tags"].values())


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(identity=identities(), address=maybe(ADDRESS), agent=maybe(AGENT), when=maybe(TIME))
def test_a_run_with_any_identity_completes_and_imports_valid_findings(moto_world, identity, address, agent, when):
    group_id, securityhub = moto_world
    event = fuzzed(events.authorize_ingress(group_id, 22), identity, address, agent, when, "e-1")
    report = run_event(
        event, load_settings({"WARDEN_CHECKS": "public-exposure"}, mode=Mode.NOTIFY), AwsClients("us-east-1"), NOW
    )
    assert report.completed and not report.errors, report.errors
    [finding] = report.findings
    assert finding.actor is not None
    json.dumps(report.to_dict())
    for page in securityhub.get_paginator("get_findings").paginate():
        for posted in page["Findings"]:
            assert_asff_within_limits(posted)


@pytest.fixture(scope="module")
def moto_world() -> Iterator[tuple[str, Any]]:
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        group_id = ec2.create_security_group(GroupName="fuzz", Description="fuzz")["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=group_id,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
        ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SecurityGroupIds=[group_id])
        yield group_id, boto3.client("securityhub", region_name="us-east-1")
