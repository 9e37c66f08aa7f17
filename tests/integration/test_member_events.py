"""Events of member accounts, under moto with several accounts (moto maps assumed-role credentials
to the role's account): each event is judged in its own account with the member role, its finding
lands where FINDINGS_DESTINATION says, and an account not served costs no AWS call."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.sts.models import sts_backends

from chalicelib.adapters.log import logger
from chalicelib.adapters.member_sessions import MEMBER_SESSIONS, REFRESH_BEFORE
from chalicelib.cli import main
from chalicelib.runtime import entry
from chalicelib.runtime.entry import handle_event
from devtools import events
from devtools.fleet import base_network, launch, make_group, tcp
from tests.fanout_support import HOME, create_member_role, member_session, roles_must_exist

pytestmark = pytest.mark.usefixtures("ssm_manages_every_instance")

MEMBER_B = "222222222222"
MEMBER_C = "333333333333"  # served, but its member role was never deployed
STRANGER = "999999999999"


class LambdaContext:
    invoked_function_arn = f"arn:aws:lambda:us-east-1:{HOME}:function:ec2-warden-dev-on_ec2_api_call"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


CONTEXT = LambdaContext()


@pytest.fixture(autouse=True)
def _fresh_container(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    entry._CLIENTS.clear()
    MEMBER_SESSIONS.clear()
    monkeypatch.setenv("WARDEN_CHECKS", "public-exposure")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    yield
    entry._CLIENTS.clear()
    MEMBER_SESSIONS.clear()


def exposed_box(session: Any, region: str = "us-east-1") -> tuple[str, str]:
    """An instance with a public address behind a group about to be opened: (group, instance)."""
    ec2 = session.client("ec2", region_name=region)
    network = base_network(ec2)
    group = make_group(ec2, network, "web", [])
    instance = launch(ec2, network, "web", subnet=network.public_subnet, groups=[group])
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[tcp(22, v4="0.0.0.0/0")])
    return group, instance


@pytest.fixture
def organisation(aws: None) -> dict[str, tuple[str, str]]:
    """Home with its own box; member B with a box and the member role; member C with a box and no role."""
    world = {HOME: exposed_box(boto3.session.Session())}
    world[MEMBER_B] = exposed_box(member_session(MEMBER_B))
    world[MEMBER_C] = exposed_box(member_session(MEMBER_C))
    create_member_role(MEMBER_B)
    return world


def opened(world: dict[str, tuple[str, str]], account: str, region: str = "us-east-1") -> dict[str, Any]:
    return events.authorize_ingress(world[account][0], 22, account=account, region=region)


def findings_in(session: Any) -> list[dict[str, Any]]:
    hub = session.client("securityhub", region_name="us-east-1")
    return [f for page in hub.get_paginator("get_findings").paginate() for f in page["Findings"]]


def assumed_credentials(account: str) -> list[str]:
    roles = [r for backend in sts_backends[account].values() for r in backend.assumed_roles]
    return [s for r in roles for s in (r.access_key_id, r.secret_access_key, r.session_token)]


def test_a_member_event_reads_the_members_instances_with_its_role_and_posts_to_its_hub(monkeypatch, organisation):
    # GIVEN the deployment serves the home account and member B, in notify mode
    monkeypatch.setenv("ALLOWED_ACCOUNTS", f"{HOME},{MEMBER_B}")
    monkeypatch.setenv("WARDEN_MODE", "notify")
    # WHEN member B's AuthorizeSecurityGroupIngress, forwarded to the home bus, reaches the handler
    with roles_must_exist():
        report = handle_event(opened(organisation, MEMBER_B), CONTEXT)
    # THEN B's instance was read with B's credentials (the home account has no such instance)
    assert report["errors"] == []
    assert report["scope"]["account"] == MEMBER_B and report["scope"]["instances"] == [organisation[MEMBER_B][1]]
    assert [(f["resource_id"], f["severity"]) for f in report["findings"]] == [(organisation[MEMBER_B][1], "CRITICAL")]
    assert report["api_calls"]["sts:AssumeRole"] == 1
    # AND the finding is in B's own hub under B's account; nothing in the home hub
    in_b = findings_in(member_session(MEMBER_B))
    assert [(f["AwsAccountId"], f["Resources"][0]["Id"].rsplit("/", 1)[1]) for f in in_b] == [
        (MEMBER_B, organisation[MEMBER_B][1])
    ]
    assert findings_in(boto3.session.Session()) == []


def test_findings_destination_home_imports_under_the_home_account_naming_the_member(monkeypatch, organisation):
    monkeypatch.setenv("ALLOWED_ACCOUNTS", f"{HOME},{MEMBER_B}")
    monkeypatch.setenv("WARDEN_MODE", "notify")
    monkeypatch.setenv("FINDINGS_DESTINATION", "home")
    with roles_must_exist():
        report = handle_event(opened(organisation, MEMBER_B), CONTEXT)
    assert report["errors"] == [] and len(report["findings"]) == 1
    (finding,) = findings_in(boto3.session.Session())
    # AWS accepts a default-product finding only from the account in its AwsAccountId
    assert finding["AwsAccountId"] == HOME
    assert finding["ProductFields"]["ec2-warden/ResourceAccount"] == MEMBER_B
    assert finding["Resources"][0]["Id"] == f"arn:aws:ec2:us-east-1:{MEMBER_B}:instance/{organisation[MEMBER_B][1]}"
    assert findings_in(member_session(MEMBER_B)) == []


def test_an_event_from_an_account_not_served_is_ignored_with_no_aws_call(monkeypatch, organisation):
    monkeypatch.setenv("ALLOWED_ACCOUNTS", f"{HOME},{MEMBER_B}")
    event = events.authorize_ingress("sg-0123456789abcdef0", 22, account=STRANGER)
    with roles_must_exist():
        report = handle_event(event, CONTEXT)
    assert report["ignored"] == f"account {STRANGER} is not one this deployment serves (ALLOWED_ACCOUNTS)"
    assert report["api_calls"] == {} and report["findings"] == []
    assert assumed_credentials(STRANGER) == []  # no role was even tried


def test_a_missing_member_role_fails_that_event_alone(monkeypatch, organisation, capsys):
    monkeypatch.setenv("ALLOWED_ACCOUNTS", f"{HOME},{MEMBER_B},{MEMBER_C}")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED")
    with roles_must_exist():
        refused = handle_event(opened(organisation, MEMBER_C), CONTEXT)
        served = handle_event(opened(organisation, MEMBER_B), CONTEXT)
        home = handle_event(opened(organisation, HOME), CONTEXT)
    # THEN C's event says why, naming the role, and read nothing in any account
    (error,) = refused["errors"]
    assert error["where"] == "sts:AssumeRole"
    assert error["message"].startswith(
        f"cannot act in account {MEMBER_C} as arn:aws:iam::{MEMBER_C}:role/ec2-warden-member-reader: AccessDenied"
    )
    assert refused["api_calls"] == {"sts:AssumeRole": 1} and refused["findings"] == []
    # AND the ActionErrors metric counts it
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    refusals = [m for m in metrics if m.get("kind") == "assume-role"]
    assert [m["ActionErrors"] for m in refusals] == [[1.0]]  # EMF: a list of values
    # AND the other events of the same container went through, each in its own account
    assert [f["resource_id"] for f in served["findings"]] == [organisation[MEMBER_B][1]]
    assert [f["resource_id"] for f in home["findings"]] == [organisation[HOME][1]]
    assert "sts:AssumeRole" not in home["api_calls"]


def test_one_assume_role_per_account_while_the_credentials_last_then_a_fresh_one(monkeypatch, organisation):
    monkeypatch.setenv("ALLOWED_ACCOUNTS", f"{HOME},{MEMBER_B}")
    monkeypatch.setenv("SWEEP_REGIONS", "us-east-1,eu-west-1")
    group_eu, _ = exposed_box(member_session(MEMBER_B, "eu-west-1"), "eu-west-1")
    clock = [datetime.now(UTC)]
    monkeypatch.setattr(MEMBER_SESSIONS, "_clock", lambda: clock[0])
    with roles_must_exist():
        reports = [handle_event(opened(organisation, MEMBER_B), CONTEXT) for _ in range(3)]
        reports.append(
            handle_event(events.authorize_ingress(group_eu, 22, account=MEMBER_B, region="eu-west-1"), CONTEXT)
        )
        # WHEN the credentials come within REFRESH_BEFORE of their expiry (an hour's session)
        clock[0] += timedelta(hours=1) - REFRESH_BEFORE + timedelta(seconds=1)
        reports.append(handle_event(opened(organisation, MEMBER_B), CONTEXT))
    assumed = [r["api_calls"].get("sts:AssumeRole", 0) for r in reports]
    # THEN four events in two regions took one AssumeRole; the fifth, near expiry, a fresh one
    assert assumed == [1, 0, 0, 0, 1]
    assert all(len(r["findings"]) == 1 and r["errors"] == [] for r in reports)


def test_organization_serves_its_active_accounts_listed_once_an_hour(monkeypatch, aws):
    # GIVEN an Organization with one member account (which got the member role) and a stranger outside it
    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(Email="m@example.com", AccountName="m")["CreateAccountStatus"]["AccountId"]
    world = {member: exposed_box(member_session(member))}
    create_member_role(member)
    monkeypatch.setenv("ALLOWED_ACCOUNTS", "organization")
    with roles_must_exist():
        first = handle_event(opened(world, member), CONTEXT)
        outside = handle_event(events.authorize_ingress("sg-0123456789abcdef0", 22, account=STRANGER), CONTEXT)
        again = handle_event(opened(world, member), CONTEXT)
    assert [f["resource_id"] for f in first["findings"]] == [world[member][1]]
    assert first["api_calls"]["organizations:ListAccounts"] == 1 and first["api_calls"]["sts:AssumeRole"] == 1
    assert "not an ACTIVE account of the organisation" in outside["ignored"] and outside["api_calls"] == {}
    assert "organizations:ListAccounts" not in again["api_calls"] and "sts:AssumeRole" not in again["api_calls"]


@pytest.fixture
def every_log_line() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    level = logger.log_level
    logger.addHandler(handler)
    logger.setLevel("DEBUG")
    yield stream
    logger.setLevel(level)
    logger.removeHandler(handler)


def test_member_credentials_never_show_in_the_report_the_log_or_an_error(monkeypatch, organisation, every_log_line):
    monkeypatch.setenv("ALLOWED_ACCOUNTS", f"{HOME},{MEMBER_B},{MEMBER_C}")
    monkeypatch.setenv("WARDEN_MODE", "notify")
    with roles_must_exist():
        shown = [handle_event(opened(organisation, a), CONTEXT) for a in (MEMBER_B, MEMBER_C, MEMBER_B)]
    text = every_log_line.getvalue() + json.dumps(shown) + repr(MEMBER_SESSIONS._members)
    assert "event judged in its own account" in text and "AccessDenied" in text  # the lines are here
    secrets = assumed_credentials(MEMBER_B)
    assert secrets
    for secret in secrets[1:]:  # the access key id is public; the secret key and token are not
        if secret != secrets[0]:
            assert secret not in text


def test_replay_judges_a_member_event_in_the_member_account(monkeypatch, organisation, tmp_path: Path):
    # GIVEN a captured event of member B and a caller whose own credentials are the home account's
    monkeypatch.setenv("ALLOWED_ACCOUNTS", f"{HOME},{MEMBER_B}")
    path = tmp_path / "event.json"
    path.write_text(json.dumps(opened(organisation, MEMBER_B)))
    out, err = io.StringIO(), io.StringIO()
    # WHEN replayed
    with roles_must_exist():
        code = main(["replay", str(path), "--format", "json"], stdout=out, stderr=err)
    report = json.loads(out.getvalue())
    # THEN it assumed B's member role with the caller's credentials and judged B's instance
    assert code == 0, err.getvalue()
    assert [f["resource_id"] for f in report["findings"]] == [organisation[MEMBER_B][1]]
    assert report["api_calls"]["sts:AssumeRole"] == 1 and report["api_calls"]["sts:GetCallerIdentity"] == 1


def test_replay_of_an_event_whose_role_refuses_exits_1_with_the_reason(monkeypatch, organisation, tmp_path: Path):
    monkeypatch.setenv("ALLOWED_ACCOUNTS", MEMBER_C)
    path = tmp_path / "event.json"
    path.write_text(json.dumps(opened(organisation, MEMBER_C)))
    out, err = io.StringIO(), io.StringIO()
    with roles_must_exist():
        code = main(["replay", str(path)], stdout=out, stderr=err)
    assert code == 1
    assert err.getvalue().startswith(f"ec2-warden: could not finish: cannot act in account {MEMBER_C}")


def test_an_organisation_that_cannot_be_listed_fails_the_event_and_reads_nothing(monkeypatch, organisation):
    from tests.fanout_support import refused

    monkeypatch.setenv("ALLOWED_ACCOUNTS", "organization")
    denied = "You don't have permissions to access this resource."
    with refused("organizations.us-east-1.amazonaws.com", "AccessDeniedException", denied, 400, json_protocol=True):
        report = handle_event(opened(organisation, MEMBER_B), CONTEXT)
    assert report["errors"] == [{"where": "organizations:ListAccounts", "message": f"AccessDeniedException: {denied}"}]
    assert report["api_calls"] == {"organizations:ListAccounts": 1} and report["findings"] == []
