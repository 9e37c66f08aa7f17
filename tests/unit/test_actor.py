"""Actor facts from CloudTrail records: the published samples, our own fixtures, and the client labels."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.events.scope import scope_from_event, sweep_scope
from chalicelib.rules.actor import Actor, actor_from_record, client_label

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PUBLISHED = FIXTURES / "published"


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def record_of(event: dict[str, Any]) -> dict[str, Any]:
    if "Records" in event:
        return event["Records"][0]
    return event.get("detail", event)


def test_a_console_iam_user_with_mfa_published_sample():
    # GIVEN the published console call that opens tcp/55 (sanitized source address)
    event = load(PUBLISHED / "cloudtrail-authorize-security-group-ingress-ipv4-ipv6-open.json")
    # WHEN its scope is read
    actor = scope_from_event(event).actor
    # THEN the scope carries who did it, as the record says
    assert actor is not None
    assert (actor.type, actor.principal, actor.client, actor.mfa) == (
        "IAMUser",
        "arn:aws:iam::000000000000:user/test",
        "console",
        True,
    )
    assert actor.invoked_by == "signin.amazonaws.com"
    assert actor.source_ip == "00.000.000.000" and actor.source_ipv4 is None  # not a valid address
    assert actor.event_id == "ed02a212-5eff-4bf6-b5b3-8939726568e9"
    assert actor.event_time == datetime(2020, 2, 17, 5, 42, 21, tzinfo=UTC)
    assert (actor.api, actor.service) == ("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com")
    assert not actor.is_root and not actor.console_without_mfa


def test_a_console_iam_user_without_mfa_published_sample():
    actor = scope_from_event(load(PUBLISHED / "cloudtrail-raw-run-instances-iam-user.json")).actor
    assert actor is not None
    assert (actor.type, actor.principal, actor.client, actor.mfa) == (
        "IAMUser",
        "arn:aws:iam::644160558196:user/c7nbot",
        "console",
        False,
    )
    assert actor.source_ipv4 == "204.63.44.142"
    assert actor.console_without_mfa
    assert actor.api == "RunInstances"


def test_an_aws_service_acting_for_root_published_sample():
    # autoscaling launched these for the root identity: the service acts, not a root sign-in
    for name in ("cloudtrail-raw-run-instances.json", "cloudtrail-run-instances-wrapped.json"):
        actor = scope_from_event(load(PUBLISHED / name)).actor
        assert actor is not None
        assert (actor.type, actor.principal, actor.invoked_by) == (
            "Root",
            "arn:aws:iam::619193117841:root",
            "autoscaling.amazonaws.com",
        )
        assert actor.client == "autoscaling"
        assert actor.source_is_service and actor.source_ipv4 is None
        assert not actor.is_root


def test_root_through_the_cli_published_sample():
    actor = actor_from_record(record_of(load(PUBLISHED / "cloudtrail-raw-terminate-instances-logfile.json")))
    assert (actor.type, actor.principal, actor.client) == ("Root", "arn:aws:iam::123456789012:root", "AWS CLI")
    assert actor.is_root
    assert actor.source_ipv4 == "198.51.100.1"
    assert actor.mfa is None  # the record has no sessionContext: MFA is not known, not "no"


def test_an_assumed_role_session_published_sample():
    record = record_of(load(PUBLISHED / "cloudtrail-raw-run-instances-unauthorized-error.json"))
    actor = actor_from_record(record)
    assert actor.type == "AssumedRole"
    assert actor.role_arn == "arn:aws:iam::900138736586:role/stratus-red-team-ec2lui-role-idtzskbvtd"
    assert actor.session_name == "aws-go-sdk-1722511821294449000"
    assert actor.principal.startswith("arn:aws:sts::900138736586:assumed-role/")
    assert actor.mfa is False
    assert actor.client == "other client"  # the agent names the tool, not an SDK
    # and a failed call is ignored: its scope names nobody
    assert scope_from_event(record).actor is None


def test_an_iam_user_without_session_context_published_sample():
    actor = scope_from_event(
        load(PUBLISHED / "cloudtrail-raw-authorize-security-group-ingress-legacy-cidrip.json")
    ).actor
    assert actor is not None
    assert (actor.type, actor.principal, actor.mfa, actor.role_arn, actor.session_name) == (
        "IAMUser",
        "arn:aws:iam::032092706103:user/christophe",
        None,
        "",
        "",
    )


@pytest.mark.parametrize(
    ("name", "client", "mfa"),
    [
        ("cloudtrail-attach-volume.json", "console", True),
        ("cloudtrail-create-tags-environment-production.json", "console", True),
        ("cloudtrail-modify-instance-metadata-options-optional.json", "AWS CLI", True),
        ("cloudtrail-delete-tags-environment.json", "console", True),
    ],
)
def test_our_assumed_role_fixtures(name: str, client: str, mfa: bool):
    actor = scope_from_event(load(FIXTURES / name)).actor
    assert actor is not None
    assert actor.type == "AssumedRole"
    assert actor.role_arn == "arn:aws:iam::111122223333:role/PlatformEngineer"
    assert actor.session_name == "alice"
    assert actor.source_ipv4 == "198.51.100.23"
    assert (actor.client, actor.mfa) == (client, mfa)


def test_an_assumed_role_console_session_without_mfa():
    actor = scope_from_event(load(FIXTURES / "cloudtrail-authorize-ingress-assumed-role-console-no-mfa.json")).actor
    assert actor is not None
    assert (actor.type, actor.role_arn, actor.session_name, actor.source_ip, actor.client, actor.mfa) == (
        "AssumedRole",
        "arn:aws:iam::111122223333:role/PlatformEngineer",
        "alice",
        "198.51.100.23",
        "console",
        False,
    )
    assert actor.console_without_mfa


def test_a_federated_user():
    actor = scope_from_event(load(FIXTURES / "cloudtrail-authorize-ingress-federated-user.json")).actor
    assert actor is not None
    assert (actor.type, actor.principal, actor.session_name, actor.role_arn, actor.client) == (
        "FederatedUser",
        "arn:aws:sts::111122223333:federated-user/Bob",
        "Bob",
        "arn:aws:iam::111122223333:user/identity-broker",
        "aws-sdk-java",
    )


def test_a_web_identity_role_through_terraform():
    actor = scope_from_event(load(FIXTURES / "cloudtrail-authorize-ingress-web-identity-terraform.json")).actor
    assert actor is not None
    assert actor.federated_provider == "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
    assert (actor.session_name, actor.client) == ("GitHubActions", "Terraform")


def test_aws_service_and_aws_account_identities_from_the_userguide_shapes():
    service = actor_from_record(
        {
            "eventName": "RunInstances",
            "userIdentity": {"type": "AWSService", "invokedBy": "autoscaling.amazonaws.com"},
            "sourceIPAddress": "autoscaling.amazonaws.com",
            "userAgent": "autoscaling.amazonaws.com",
        }
    )
    assert (service.type, service.principal, service.client) == (
        "AWSService",
        "autoscaling.amazonaws.com",
        "autoscaling",
    )
    account = actor_from_record(
        {"userIdentity": {"type": "AWSAccount", "principalId": "AIDAEXAMPLE", "accountId": "444455556666"}}
    )
    assert (account.type, account.principal, account.client) == ("AWSAccount", "account 444455556666", "unknown client")


@pytest.mark.parametrize(
    ("agent", "label"),
    [
        ("signin.amazonaws.com", "console"),
        ("console.amazonaws.com", "console"),
        ("console.ec2.amazonaws.com", "console"),
        ("AWS Internal", "console"),
        ("aws-cli/1.10.10 Python/2.7.9 Windows/7botocore/1.4.1", "AWS CLI"),
        ("aws-cli/2.15.30 md/command#ec2.modify-instance-metadata-options", "AWS CLI"),
        ("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1 lang/python#3.12.1", "boto3"),
        ("Botocore/1.31.0 ua/2.0 os/linux", "botocore"),
        ("aws-sdk-java/1.12.540 Linux/5.10", "aws-sdk-java"),
        ("aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1", "aws-sdk-go-v2"),
        ("aws-sdk-js/3.540.0 ua/2.0 os/linux", "aws-sdk-js"),
        ("APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) aws-sdk-go-v2/1.26.1", "Terraform"),
        ("cloudformation.amazonaws.com", "CloudFormation"),
        ("autoscaling.amazonaws.com", "autoscaling"),
        ("stratus-red-team_1004a4ff", "other client"),
        ("", "unknown client"),
    ],
)
def test_client_labels(agent: str, label: str):
    assert client_label(agent) == label


def test_a_sweep_and_a_state_change_have_no_actor():
    assert sweep_scope("123456789012", "eu-west-1").actor is None
    state = load(PUBLISHED / "ec2-instance-state-change-terminated.json")
    assert scope_from_event(state).actor is None


def test_the_summary_reads_like_a_sentence():
    actor = Actor(
        type="AssumedRole",
        principal="arn:aws:sts::111122223333:assumed-role/PlatformEngineer/alice",
        source_ip="198.51.100.23",
        client="console",
        event_time=datetime(2026, 5, 21, 8, 5, tzinfo=UTC),
    )
    assert actor.summary() == (
        "by arn:aws:sts::111122223333:assumed-role/PlatformEngineer/alice (AssumedRole, console) "
        "from 198.51.100.23 at 2026-05-21 08:05:00 UTC"
    )
