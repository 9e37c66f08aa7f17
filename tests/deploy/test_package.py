"""`chalice package` from this checkout: the template lints clean, its EventBridge rules carry
exactly the patterns app.py registers, and each stage gets its own policy file verbatim."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from moto.events.models import EventPattern

import app as chalice_app
from chalicelib.adapters.service_models import MODELS_DIR, OPERATIONS
from chalicelib.events.scope import EC2_CALLS, STATES_HANDLED

from .project import FIXTURE_EVENTS, cfn_lint_problems, chalice_config, stage_policy

pytestmark = pytest.mark.network_registry


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Handler ("app.sweep") -> the function's properties."""
    return {
        r["Properties"]["Handler"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    }


def event_rules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Handler -> the one EventBridge pattern that triggers it."""
    out = {}
    for handler, props in functions(template).items():
        patterns = [
            e["Properties"]["Pattern"] for e in props.get("Events", {}).values() if e["Type"] == "CloudWatchEvent"
        ]
        if patterns:
            assert len(patterns) == 1, f"{handler} has {len(patterns)} EventBridge rules"
            out[handler] = patterns[0]
    return out


def test_packaged_prod_template_passes_cfn_lint(packaged_prod: tuple[Path, dict[str, Any]]) -> None:
    # GIVEN the app packaged for prod WHEN cfn-lint reads the template THEN it finds nothing
    out_dir, _ = packaged_prod
    assert cfn_lint_problems(out_dir / "sam.json") == []
    assert (out_dir / "deployment.zip").stat().st_size > 0


def test_every_registered_event_pattern_is_in_the_template_exactly(packaged_prod) -> None:
    # GIVEN the rules app.py registers
    registered = {
        e.handler_string: e.event_pattern
        for e in chalice_app.app.event_sources
        if type(e).__name__ == "CloudWatchEventConfig"
    }
    assert registered, "app.py registers no EventBridge rule"
    # WHEN packaged THEN each function's rule carries that pattern, key for key and in order
    _, template = packaged_prod
    assert event_rules(template) == registered


def test_the_patterns_name_every_call_and_state_the_responders_handle(packaged_prod) -> None:
    _, template = packaged_prod
    rules = event_rules(template)
    api = rules["app.on_ec2_api_call"]
    assert api["detail"]["eventName"] == list(EC2_CALLS)
    assert api["detail"]["eventSource"] == ["ec2.amazonaws.com"]
    assert api["detail-type"] == ["AWS API Call via CloudTrail"]
    state = rules["app.on_instance_state_change"]
    assert state["detail"]["state"] == list(STATES_HANDLED)
    assert state["detail-type"] == ["EC2 Instance State-change Notification"]


def _load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURE_EVENTS / name).read_text())


def _running(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "detail": {**event["detail"], "state": "running"}}


@pytest.mark.parametrize(
    ("fixture", "as_running", "handler"),
    [
        ("cloudtrail-run-instances-wrapped.json", False, "app.on_ec2_api_call"),
        ("cloudtrail-authorize-security-group-ingress-ipv4-ipv6-open.json", False, "app.on_ec2_api_call"),
        ("cloudtrail-modify-instance-attribute-disable-api-termination.json", False, "app.on_ec2_api_call"),
        # The published state-change samples are "pending" and "terminated"; the same event
        # entering "running" is what the responder waits for.
        ("ec2-instance-state-change-pending.json", True, "app.on_instance_state_change"),
        ("ec2-instance-state-change-pending.json", False, None),
        ("ec2-instance-state-change-terminated.json", False, None),
        ("cloudtrail-create-security-group.json", False, None),
        ("scheduled-event.json", False, None),
        ("securityhub-findings-imported.json", False, None),
        ("ssm-ec2-command-status-change.json", False, None),
    ],
)
def test_real_events_reach_exactly_the_right_function(packaged_prod, fixture, as_running, handler) -> None:
    # GIVEN a real published event WHEN EventBridge (moto's matcher) applies the packaged rules
    event = _running(_load(fixture)) if as_running else _load(fixture)
    _, template = packaged_prod
    hits = [h for h, p in event_rules(template).items() if EventPattern.load(json.dumps(p)).matches_event(event)]
    # THEN it reaches the function that handles it, and only that one (or none)
    assert hits == ([handler] if handler else [])


@pytest.mark.parametrize("stage", ["prod", "dev"])
def test_each_stage_schedules_the_sweep_and_uses_its_policy_file(stage, request) -> None:
    _, template = request.getfixturevalue(f"packaged_{stage}")
    stage_env = chalice_config()["stages"][stage]["environment_variables"]
    sweep = functions(template)["app.sweep"]
    schedules = [e["Properties"]["Schedule"] for e in sweep["Events"].values() if e["Type"] == "Schedule"]
    assert schedules == [stage_env["SWEEP_SCHEDULE"]]
    assert sweep["Environment"]["Variables"]["WARDEN_MODE"] == stage_env["WARDEN_MODE"]
    roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert roles, "no role in the packaged template"
    for role in roles:
        assert [p["PolicyDocument"] for p in role["Properties"]["Policies"]] == [stage_policy(stage)]
        assert role["Properties"].get("ManagedPolicyArns", []) == []


def test_the_deployment_package_carries_the_trimmed_service_models(packaged_prod) -> None:
    # clients.py reads chalicelib/adapters/models/ first; without it in the zip every client would fall back
    # to botocore's full models (slower cold start, same answers)
    out, _ = packaged_prod
    with zipfile.ZipFile(out / "deployment.zip") as package:
        names = set(package.namelist())
    expected = {f"chalicelib/adapters/models/{p.relative_to(MODELS_DIR)}" for p in MODELS_DIR.rglob("service-2.json")}
    assert len(expected) == len(OPERATIONS) and expected <= names
