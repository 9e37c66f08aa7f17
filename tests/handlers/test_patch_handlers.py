"""The on_patch_command handler through Chalice's test client, with AWS's published SSM samples and
events in their shape, and the EventBridge rule it is deployed with."""

import copy
import json
from pathlib import Path

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws
from moto.events.models import EventPattern

import app as warden_app
from chalicelib.runtime import entry
from devtools import events, moto_ssm
from devtools.chalice_context import lambda_timeout

PROJECT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT / "tests" / "fixtures" / "published"
SAMPLES = ["ssm-ec2-command-status-change.json", "ssm-ec2-command-invocation-status-change.json"]
REGION = "us-east-1"


def sample(name):
    return json.loads((FIXTURES / name).read_text())


def rule_pattern(name: str) -> EventPattern:
    (source,) = [s for s in warden_app.app.event_sources if s.name == name]
    return EventPattern.load(json.dumps(source.event_pattern))


@pytest.fixture
def client(monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)  # Lambda sets it; the sweep handler reads it
    monkeypatch.setenv("WARDEN_CHECKS", "ssm-unmanaged,patch-noncompliant")  # the patch loop's checks alone
    monkeypatch.setattr(entry, "_CLIENTS", {})  # clients built under another mock must not leak in
    with (
        mock_aws(),
        lambda_timeout(PROJECT, "dev"),
        Client(warden_app.app, stage_name="dev", project_dir=str(PROJECT)) as c,
    ):
        yield c


@pytest.mark.parametrize("name", SAMPLES)
def test_the_rule_matches_patch_commands_only(name):
    pattern = rule_pattern("on_patch_command")
    published = sample(name)
    assert not pattern.matches_event(published)  # AWS-RunPowerShellScript: not ours
    patch = copy.deepcopy(published)
    patch["detail"]["document-name"] = "AWS-RunPatchBaseline"
    assert pattern.matches_event(patch)
    patch["detail"]["status"] = "InProgress"
    assert not pattern.matches_event(patch)


@pytest.mark.parametrize("name", SAMPLES)
def test_published_samples_are_ignored_without_an_aws_call(client, name):
    report = client.lambda_.invoke("on_patch_command", sample(name)).payload
    assert "AWS-RunPatchBaseline" in report["ignored"]
    assert report["api_calls"] == {}


def test_a_successful_patch_command_resolves_the_finding_it_fixed(client):
    # GIVEN a managed prod web server missing security patches, found by the dev stage's sweep (notify)
    ec2 = boto3.client("ec2", region_name=REGION)
    iid = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    node = moto_ssm.FLEET.register(iid, region=REGION, patch=moto_ssm.PatchFacts(missing=3, security=3))
    sweep = client.lambda_.invoke(
        "sweep", client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [], REGION)
    ).payload
    assert [f["check"] for f in sweep["findings"]] == ["patch-noncompliant"]
    assert "ssm:SendCommand" not in sweep["api_calls"]  # notify mode sends nothing
    # WHEN someone's Patch Manager run installs the patches and Run Command reports Success
    ssm = boto3.client("ssm", region_name=REGION)
    command = ssm.send_command(
        InstanceIds=[iid], DocumentName="AWS-RunPatchBaseline", Parameters={"Operation": ["Install"]}
    )["Command"]
    assert node.patch.missing == 0
    invocation, _ = moto_ssm.command_events(command["CommandId"], region=REGION)
    report = client.lambda_.invoke("on_patch_command", invocation).payload
    # THEN the handler re-checks the instance and resolves the finding
    assert report["trigger"] == "ssm-invocation:Success"
    assert report["resolved"] == [f"ec2-warden/123456789012/{REGION}/patch-noncompliant/{iid}"]


def test_the_launch_rule_still_reaches_the_ec2_handlers(client):
    # The patch loop rides on the existing launch rules; nothing new is needed for RunInstances.
    event = events.run_instances(["i-0123456789abcdef0"], "sg-0123456789abcdef0")
    assert rule_pattern("on_ec2_api_call").matches_event(event)
