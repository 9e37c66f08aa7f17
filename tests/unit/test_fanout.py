"""The fan-out's pure part and its settings: targets, messages, the worker's answer to Lambda."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.adapters.clients import TemporaryCredentials
from chalicelib.fanout.targets import (
    MessageError,
    MessageResult,
    Target,
    batch_response,
    chunks,
    decode_target,
    encode_target,
    member_role_arn,
    outside_plan,
    plan_targets,
)
from chalicelib.model import CheckName, Finding, PriorFinding, Resolution, Severity
from chalicelib.rules.asff import finding_to_asff, resolution_to_asff
from chalicelib.settings import FindingsDestination, SettingsError, load_settings

URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/ec2-warden-fanout"
ACCOUNTS = st.lists(st.from_regex(r"\A\d{12}\Z"), max_size=8)
REGIONS = st.lists(st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"]), max_size=6)


@given(ACCOUNTS, REGIONS)
def test_plan_is_every_account_times_every_region_once(accounts, regions):
    targets = plan_targets(accounts, regions)
    assert len(targets) == len(set(accounts)) * len(set(regions)) == len(set(targets))
    assert set(targets) == {Target(a, r) for a in accounts for r in regions}


@given(ACCOUNTS, REGIONS)
def test_every_planned_target_survives_the_message_round_trip(accounts, regions):
    for target in plan_targets(accounts, regions):
        assert decode_target(encode_target(target, "sweep-1")) == (target, "sweep-1")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (None, "not a fan-out message"),
        ("x" * 2000, "not a fan-out message"),
        ("not json", "not JSON"),
        ("[1]", "version 1"),
        (json.dumps({"version": 2, "account": "123456789012", "region": "us-east-1"}), "version 1"),
        (json.dumps({"version": 1, "account": "12345", "region": "us-east-1"}), "12-digit"),
        (json.dumps({"version": 1, "account": "123456789012", "region": "mars"}), "region name"),
        (json.dumps({"version": 1, "account": "123456789012", "region": "us-east-1", "sweep_id": 7}), "sweep_id"),
    ],
)
def test_a_message_that_is_not_a_target_is_refused_with_a_reason(body, says):
    with pytest.raises(MessageError, match=says):
        decode_target(body)


def test_sendmessagebatch_chunks_are_ten_at_most():
    assert [len(c) for c in chunks(list(range(23)))] == [10, 10, 3]
    assert list(chunks([])) == []


def test_the_worker_checks_a_target_against_the_settings():
    listed = load_settings({"SWEEP_ACCOUNTS": "111111111111", "SWEEP_REGIONS": "eu-west-1", "FANOUT_QUEUE_URL": URL})
    assert outside_plan(Target("111111111111", "eu-west-1"), listed, "123456789012", "eu-west-1") is None
    assert "SWEEP_ACCOUNTS" in outside_plan(Target("222222222222", "eu-west-1"), listed, None, None)
    assert "SWEEP_REGIONS" in outside_plan(Target("111111111111", "us-east-1"), listed, None, None)
    # no SWEEP_ACCOUNTS: the function's own account only; organization: any account
    own = load_settings({"FANOUT_QUEUE_URL": URL})
    assert "SWEEP_ACCOUNTS" in outside_plan(Target("111111111111", "eu-west-1"), own, "123456789012", "eu-west-1")
    org = load_settings({"SWEEP_ACCOUNTS": "Organization", "FANOUT_QUEUE_URL": URL})
    assert outside_plan(Target("999999999999", "eu-west-1"), org, "123456789012", "eu-west-1") is None


def test_the_answer_lists_only_failed_messages_for_lambda():
    ok = MessageResult("a", Target("111111111111", "eu-west-1"), failed=False, instances=3)
    bad = MessageResult("b", Target("222222222222", "eu-west-1"), failed=True, errors=("sts:AssumeRole: AccessDenied",))
    ignored = MessageResult("c", Target("333333333333", "eu-west-1"), failed=False, ignored="not in SWEEP_ACCOUNTS")
    answer = batch_response([ok, bad, ignored])
    assert answer["batchItemFailures"] == [{"itemIdentifier": "b"}]
    assert [r["message_id"] for r in answer["results"]] == ["a", "b", "c"]
    assert batch_response([ok])["batchItemFailures"] == []


def test_member_role_arn_follows_the_partition():
    assert member_role_arn("111111111111", "ec2-warden-member") == "arn:aws:iam::111111111111:role/ec2-warden-member"
    assert member_role_arn("111111111111", "r", "aws-cn") == "arn:aws-cn:iam::111111111111:role/r"


def test_credentials_never_show_in_a_repr():
    creds = TemporaryCredentials("ASIAEXAMPLEKEYID1234", "secret/abc", "token/xyz", datetime(2026, 1, 1, tzinfo=UTC))
    shown = repr(creds) + str(creds)
    assert "ASIAEXAMPLE" not in shown and "secret/abc" not in shown and "token/xyz" not in shown


# ---------------------------------------------------------------------------------------------
# Settings


def test_fanout_settings_parse():
    settings = load_settings(
        {
            "SWEEP_ACCOUNTS": "111111111111, 222222222222,111111111111",
            "FANOUT_QUEUE_URL": URL,
            "WARDEN_MEMBER_ROLE": "audit-role",
            "FINDINGS_DESTINATION": "HOME",
        }
    )
    assert settings.sweep_accounts == ("111111111111", "222222222222")
    assert not settings.sweeps_organization
    assert (settings.member_role, settings.findings_destination) == ("audit-role", FindingsDestination.HOME)
    assert load_settings({}).findings_destination is FindingsDestination.MEMBER
    assert load_settings({"SWEEP_ACCOUNTS": "organization", "FANOUT_QUEUE_URL": URL}).sweeps_organization


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SWEEP_ACCOUNTS": "organization,111111111111", "FANOUT_QUEUE_URL": URL}, "SWEEP_ACCOUNTS"),
        ({"SWEEP_ACCOUNTS": "1234", "FANOUT_QUEUE_URL": URL}, "SWEEP_ACCOUNTS"),
        ({"SWEEP_ACCOUNTS": ",", "FANOUT_QUEUE_URL": URL}, "SWEEP_ACCOUNTS"),
        ({"SWEEP_ACCOUNTS": "111111111111"}, "FANOUT_QUEUE_URL"),  # would quietly sweep one account
        ({"FANOUT_QUEUE_URL": "sqs://queue"}, "FANOUT_QUEUE_URL"),
        ({"FANOUT_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/ec2-warden-fanout"}, "FANOUT_QUEUE_URL"),
        ({"FANOUT_QUEUE_URL": URL.replace("fanout", "other")}, "FANOUT_QUEUE_NAME"),  # nobody reads it
        ({"FANOUT_QUEUE_NAME": "bad name"}, "FANOUT_QUEUE_NAME"),
        ({"WARDEN_MEMBER_ROLE": "role/with/path"}, "WARDEN_MEMBER_ROLE"),
        ({"FINDINGS_DESTINATION": "slack"}, "FINDINGS_DESTINATION"),
    ],
)
def test_a_bad_fanout_setting_names_its_variable(env, variable):
    with pytest.raises(SettingsError, match=variable):
        load_settings(env)


# ---------------------------------------------------------------------------------------------
# ASFF when the home account's hub keeps a member's finding (FINDINGS_DESTINATION=home)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
FINDING = Finding(
    check=CheckName.PUBLIC_EXPOSURE,
    resource_id="i-0123456789abcdef0",
    account="111111111111",
    region="eu-west-1",
    severity=Severity.CRITICAL,
    title="SSH open to the internet",
    description="tcp 22 open to 0.0.0.0/0",
    remediation="Close it",
)


def test_a_member_finding_reported_from_home_carries_the_home_account_as_aws_requires():
    asff = finding_to_asff(FINDING, NOW, reporter="123456789012")
    assert asff["AwsAccountId"] == "123456789012"
    assert asff["ProductArn"] == "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default"
    assert asff["Resources"][0]["Id"] == "arn:aws:ec2:eu-west-1:111111111111:instance/i-0123456789abcdef0"
    assert asff["ProductFields"]["ec2-warden/ResourceAccount"] == "111111111111"


def test_without_a_reporter_the_finding_is_the_members_own():
    asff = finding_to_asff(FINDING, NOW)
    assert asff["AwsAccountId"] == "111111111111" and "ec2-warden/ResourceAccount" not in asff["ProductFields"]
    assert finding_to_asff(FINDING, NOW, reporter="111111111111") == asff


def test_a_resolution_reported_from_home_names_the_member_too():
    prior = PriorFinding(FINDING.id, "public-exposure", FINDING.resource_id, Severity.CRITICAL, "t", "d", "x", "y")
    resolution = Resolution(FINDING.id, "public-exposure", FINDING.resource_id, "the port was closed", prior)
    asff = resolution_to_asff(resolution, "111111111111", "eu-west-1", NOW, reporter="123456789012")
    assert (asff["AwsAccountId"], asff["ProductFields"]["ec2-warden/ResourceAccount"]) == (
        "123456789012",
        "111111111111",
    )
    assert asff["Resources"][0]["Id"].split(":")[4] == "111111111111"
