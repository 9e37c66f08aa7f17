"""Patch-loop settings, SSM command status events, and the warden:patch-requested-at tag (no AWS)."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chalicelib.events.scope import EventError, scope_from_event
from chalicelib.rules.patch_tag import format_patch_request, parse_patch_request
from chalicelib.settings import Settings, SettingsError, load_settings

pytestmark = pytest.mark.disable_socket

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "published"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def patch_event(name: str, **detail) -> dict:
    event = copy.deepcopy(fixture(name))
    event["detail"]["document-name"] = "AWS-RunPatchBaseline"
    event["detail"].update(detail)
    return event


# --- settings ------------------------------------------------------------------------------------


def test_defaults():
    s = load_settings({})
    assert (s.environment_tag, s.production_environments) == ("Environment", ("prod", "production"))
    assert s.ssm_registration_grace_minutes == 30
    assert s.patch_scan_max_age_days == 7
    assert (s.patch_operation, s.patch_reboot_option) == ("Install", "NoReboot")
    assert s.patch_output_s3_bucket is None


def test_values_are_read_and_normalised():
    s = load_settings(
        {
            "PRODUCTION_ENVIRONMENTS": "Prod, LIVE,prod",
            "PATCH_OPERATION": "scan",
            "PATCH_REBOOT_OPTION": "rebootifneeded",
            "PATCH_MAX_CONCURRENCY": "25%",
            "PATCH_MAX_ERRORS": "0",
            "PATCH_COOLDOWN_HOURS": "6",
            "PATCH_OUTPUT_S3_BUCKET": "my-patch-logs",
        }
    )
    assert s.production_environments == ("prod", "live")
    assert (s.patch_operation, s.patch_reboot_option) == ("Scan", "RebootIfNeeded")
    assert (s.patch_max_concurrency, s.patch_max_errors) == ("25%", "0")
    assert s.patch_cooldown_hours == 6
    assert s.patch_output_s3_bucket == "my-patch-logs"


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("PATCH_OPERATION", "Uninstall"),
        ("PATCH_REBOOT_OPTION", "Always"),
        ("PATCH_MAX_CONCURRENCY", "0"),
        ("PATCH_MAX_CONCURRENCY", "150%"),
        ("PATCH_MAX_ERRORS", "ten"),
        ("PATCH_COOLDOWN_HOURS", "0"),
        ("PATCH_SCAN_MAX_AGE_DAYS", "-1"),
        ("SSM_REGISTRATION_GRACE_MINUTES", "soon"),
        ("PATCH_OUTPUT_S3_BUCKET", "Not_A_Bucket"),
        ("ENVIRONMENT_TAG", "aws:env"),
        ("PRODUCTION_ENVIRONMENTS", " , "),
    ],
)
def test_bad_values_name_the_variable(var, value):
    with pytest.raises(SettingsError, match=var):
        load_settings({var: value})


def test_settings_defaults_match_the_dataclass():
    assert load_settings({}) == Settings()


# --- the cooldown tag ----------------------------------------------------------------------------


def test_tag_round_trip():
    at = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    value = format_patch_request(at, "0b8e1b2a-1111-2222-3333-444455556666")
    assert value == "2026-01-31T12:00:00Z 0b8e1b2a-1111-2222-3333-444455556666"
    assert parse_patch_request(value) == (at, "0b8e1b2a-1111-2222-3333-444455556666")


@pytest.mark.parametrize("value", [None, "", "yesterday", "not-a-time cmd"])
def test_tags_that_are_not_ours_read_as_absent(value):
    assert parse_patch_request(value) is None


# --- SSM command status events -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["ssm-ec2-command-status-change.json", "ssm-ec2-command-invocation-status-change.json"]
)
def test_published_samples_run_another_document_and_are_ignored(name):
    # GIVEN AWS's published samples (AWS-RunPowerShellScript), THEN ec2-warden does nothing with them
    scope = scope_from_event(fixture(name))
    assert scope.ignored and "AWS-RunPatchBaseline" in scope.ignored


def test_an_invocation_event_scopes_its_own_instance_with_its_status():
    scope = scope_from_event(patch_event("ssm-ec2-command-invocation-status-change.json", status="Failed"))
    assert scope.ignored is None
    # The sample's resources name another instance than detail.instance-id; the detail is the invocation's own.
    assert scope.instance_ids == {"i-9bb89e2b"}
    assert scope.trigger == "ssm-invocation:Failed"
    assert (scope.command.command_id, scope.command.status, scope.command.per_instance) == (
        "e8d3c0e4-71f7-4491-898f-c9b35bee5f3b",
        "Failed",
        True,
    )
    assert not scope.is_launch and not scope.is_sweep


def test_a_command_event_scopes_the_instances_in_its_resources():
    event = patch_event("ssm-ec2-command-status-change.json", status="TimedOut")
    event["resources"].append("arn:aws:ssm:us-east-1:123456789012:managed-instance/mi-0123456789abcdef0")
    scope = scope_from_event(event)
    assert scope.instance_ids == {"i-abcd1111"}
    assert scope.command.per_instance is False


@pytest.mark.parametrize("status", ["InProgress", "Pending", "Delayed", "Cancelling"])
def test_unfinished_commands_are_ignored(status):
    scope = scope_from_event(patch_event("ssm-ec2-command-invocation-status-change.json", status=status))
    assert scope.ignored and "not finished" in scope.ignored


def test_an_event_without_a_document_name_is_read():
    event = patch_event("ssm-ec2-command-invocation-status-change.json")
    del event["detail"]["document-name"]
    assert scope_from_event(event).instance_ids == {"i-9bb89e2b"}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e.update(source="aws.ec2"), "aws.ssm"),
        (lambda e: e["detail"].pop("command-id"), "command-id"),
        (lambda e: e["detail"].update({"instance-id": "vol-1"}), "instance-id"),
    ],
)
def test_malformed_command_events_are_refused(mutate, message):
    event = patch_event("ssm-ec2-command-invocation-status-change.json")
    mutate(event)
    with pytest.raises(EventError, match=message):
        scope_from_event(event)


def test_launch_triggers():
    run = scope_from_event(fixture("cloudtrail-run-instances-wrapped.json"))
    assert run.is_launch
    state = fixture("ec2-instance-state-change-pending.json")
    state = {**state, "version": "0", "detail": {**state["detail"], "state": "running"}}
    assert scope_from_event(state).is_launch
