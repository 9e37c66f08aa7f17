"""The fan-out worker acts only where it may: the member role its mode needs (the reader outside
enforce), and, with SWEEP_ACCOUNTS=organization, only the Organization's ACTIVE accounts."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from chalicelib.fanout.targets import Target, encode_target
from chalicelib.fanout.worker import handle_sweep_messages
from chalicelib.runtime import entry
from tests.fanout_support import HOME, MEMBER_ROLE, READER_ROLE, member_session, roles_must_exist, sqs_records

pytestmark = pytest.mark.usefixtures("ssm_manages_every_instance")

OUTSIDER = "222222222222"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/ec2-warden-fanout"


class LambdaContext:
    invoked_function_arn = f"arn:aws:lambda:us-east-1:{HOME}:function:ec2-warden-dev-sweep_worker"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


@pytest.fixture(autouse=True)
def _fresh_clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WARDEN_CHECKS", "public-exposure")
    monkeypatch.setenv("FANOUT_QUEUE_URL", QUEUE_URL)
    entry._CLIENTS.clear()
    yield
    entry._CLIENTS.clear()


def body(account: str) -> str:
    return encode_target(Target(account, "us-east-1"), "sweep-0001")


def only_role(account: str, name: str) -> None:
    member_session(account).client("iam").create_role(RoleName=name, AssumeRolePolicyDocument="{}")


@pytest.mark.parametrize("mode", ["notify", "audit"])
def test_outside_enforce_the_worker_assumes_the_reader_and_never_the_writer(monkeypatch, aws, mode):
    # GIVEN a member account holding only the writer role
    member = "111111111111"
    only_role(member, MEMBER_ROLE)
    monkeypatch.setenv("WARDEN_MODE", mode)
    monkeypatch.setenv("SWEEP_ACCOUNTS", f"{HOME},{member}")
    # WHEN a notify (or audit) worker gets the member's message (and the home account's)
    with roles_must_exist():
        result, home = handle_sweep_messages(sqs_records([body(member), body(HOME)]), LambdaContext())["results"]
    # THEN it asked for the reader, which is missing, and did not fall back to the writer
    assert result["failed"] and f"role/{READER_ROLE}" in result["errors"][0], result
    assert not home["failed"]


def test_enforce_assumes_the_writer_named_by_warden_member_role(monkeypatch, aws):
    member = "111111111111"
    only_role(member, READER_ROLE)
    monkeypatch.setenv("WARDEN_MODE", "enforce")
    monkeypatch.setenv("SWEEP_ACCOUNTS", f"{HOME},{member}")
    with roles_must_exist():
        result, _ = handle_sweep_messages(sqs_records([body(member), body(HOME)]), LambdaContext())["results"]
    assert result["failed"] and f"role/{MEMBER_ROLE}" in result["errors"][0], result


def test_organization_targets_outside_its_active_accounts_are_refused_before_any_role(monkeypatch, aws):
    # GIVEN an Organization of the home account and one member (the member role deployed there)
    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(Email="m@example.com", AccountName="m")["CreateAccountStatus"]["AccountId"]
    closed = org.create_account(Email="c@example.com", AccountName="c")["CreateAccountStatus"]["AccountId"]
    org.close_account(AccountId=closed)
    only_role(member, READER_ROLE)
    monkeypatch.setenv("WARDEN_MODE", "notify")
    monkeypatch.setenv("SWEEP_ACCOUNTS", "organization")
    # WHEN the worker gets messages for the member, an account outside the Organization, a closed one
    with roles_must_exist():
        response = handle_sweep_messages(sqs_records([body(member), body(OUTSIDER), body(closed)]), LambdaContext())
    ok, outsider, gone = response["results"]
    # THEN the member is swept; the two others are refused with a reason, no role assumed there
    assert not ok["failed"] and ok["ignored"] is None
    for refused, account in ((outsider, OUTSIDER), (gone, closed)):
        assert refused["ignored"] == (
            f"account {account} is not an ACTIVE account of the Organization (SWEEP_ACCOUNTS=organization)"
        )
        assert refused["api_calls"] == 0 and not refused["failed"]
    assert response["batchItemFailures"] == []
