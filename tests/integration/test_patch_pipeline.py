"""The patch loop through the whole pipeline, under moto with devtools/moto_ssm.py answering the
SSM calls moto lacks. Call counts are read from the report's api_calls; what was sent is read from
the requests the product made (a botocore hook on its own SSM client), never from moto's records."""

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.clients import AwsClients
from chalicelib.events.scope import sweep_scope
from chalicelib.model import Mode
from chalicelib.pipeline import run, run_event
from chalicelib.rules.patch_tag import PATCH_REQUESTED_TAG, parse_patch_request
from chalicelib.settings import load_settings
from devtools import events, moto_ssm

REGION = "us-east-1"
LATER = datetime.now(UTC) + timedelta(hours=1)  # past the registration grace of instances launched now


@pytest.fixture
def ec2(monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION)


class Recorder:
    """The requests ec2-warden's own SSM client sent, by operation."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.ssm = boto3.client("ssm", region_name=REGION)
        self.ssm.meta.events.register("provide-client-params.ssm.*", self._record)

    def _record(self, params, model, **_):
        self.requests.append((model.name, dict(params)))

    def sent(self, operation: str) -> list[dict]:
        return [p for name, p in self.requests if name == operation]

    def clients(self) -> AwsClients:
        return AwsClients(REGION, clients={"ssm": self.ssm})


def launch(ec2, n=1, env="dev"):
    out = []
    for _ in range(n):  # one reservation each: moto pages DescribeInstances by reservation
        reply = ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Environment", "Value": env}]}],
        )
        out.append(reply["Instances"][0]["InstanceId"])
    return out


def settings(mode: Mode):
    # The patch loop's checks alone; the others have their own flows.
    return load_settings({"WARDEN_CHECKS": "ssm-unmanaged,patch-noncompliant"}, mode=mode, region=REGION)


def unpatched(**kw):
    return moto_ssm.PatchFacts(missing=6, security=2, **kw)


def test_sweep_makes_the_fewest_ssm_calls_and_patches_50_a_command(ec2):
    # GIVEN 120 running instances, 70 of them managed, 55 of those missing patches
    fleet = launch(ec2, 120)
    for k, iid in enumerate(fleet[:70]):
        moto_ssm.FLEET.register(iid, region=REGION, patch=unpatched() if k < 55 else moto_ssm.PatchFacts())
    recorder = Recorder()
    # WHEN an enforce-mode sweep runs
    report = run(sweep_scope(region=REGION), settings(Mode.ENFORCE), recorder.clients(), LATER)
    # THEN SSM is asked ceil(120/50) + ceil(70/50) times, and 55 targets take ceil(55/50) commands
    calls = report.api_calls
    assert calls["ssm:DescribeInstanceInformation"] == 3
    assert calls["ssm:DescribeInstancePatchStates"] == 2
    assert calls["ssm:SendCommand"] == 2
    assert calls["ec2:CreateTags"] == 2
    commands = recorder.sent("SendCommand")
    assert all(len(c["InstanceIds"]) <= 50 for c in commands)
    assert sorted(i for c in commands for i in c["InstanceIds"]) == sorted(fleet[:55])
    assert {c["DocumentName"] for c in commands} == {"AWS-RunPatchBaseline"}
    assert commands[0]["Parameters"] == {"Operation": ["Install"], "RebootOption": ["NoReboot"]}
    checks = {f.check.value for f in report.findings}
    assert checks == {"patch-noncompliant", "ssm-unmanaged"}
    assert sum(f.check.value == "ssm-unmanaged" for f in report.findings) == 50
    # AND every patched instance carries the cooldown tag with its command id
    tags = ec2.describe_tags(Filters=[{"Name": "key", "Values": [PATCH_REQUESTED_TAG]}])["Tags"]
    assert sorted(t["ResourceId"] for t in tags) == sorted(fleet[:55])
    (patch,) = [a for a in report.actions if a.kind.value == "patch"]
    assert patch.done and patch.error is None
    assert all(parse_patch_request(t["Value"])[1] in patch.reason for t in tags)


@pytest.mark.parametrize("mode", [Mode.AUDIT, Mode.NOTIFY])
def test_audit_and_notify_never_send_a_command(ec2, mode):
    (iid,) = launch(ec2)
    moto_ssm.FLEET.register(iid, region=REGION, patch=unpatched())
    recorder = Recorder()
    report = run(sweep_scope(region=REGION), settings(mode), recorder.clients(), LATER)
    assert recorder.sent("SendCommand") == []
    assert "ssm:SendCommand" not in report.api_calls
    (patch,) = [a for a in report.actions if a.kind.value == "patch"]
    assert not patch.done and "not applied" in patch.reason
    assert report.findings[0].check.value == "patch-noncompliant"


def test_duplicate_delivery_of_a_launch_event_sends_one_command(ec2):
    # GIVEN a new managed instance (no scan yet) and its RunInstances event, delivered twice
    (iid,) = launch(ec2)
    moto_ssm.FLEET.register(iid, region=REGION)
    event = events.run_instances([iid], "sg-0123456789abcdef0")
    recorder = Recorder()
    clients = recorder.clients()
    now = datetime.now(UTC)
    first = run_event(event, settings(Mode.ENFORCE), clients, now)
    second = run_event(event, settings(Mode.ENFORCE), clients, now + timedelta(seconds=30))
    # THEN it is patched at once, exactly once
    assert len(recorder.sent("SendCommand")) == 1
    assert recorder.sent("SendCommand")[0]["InstanceIds"] == [iid]
    assert first.api_calls["ssm:SendCommand"] == 1
    assert "ssm:SendCommand" not in second.api_calls


def test_a_start_of_a_managed_instance_patches_it(ec2):
    (iid,) = launch(ec2)
    moto_ssm.FLEET.register(iid, region=REGION)
    recorder = Recorder()
    run_event(events.state_change(iid, "running"), settings(Mode.ENFORCE), recorder.clients(), datetime.now(UTC))
    assert [c["InstanceIds"] for c in recorder.sent("SendCommand")] == [[iid]]


def test_a_launch_of_an_unregistered_instance_waits_for_the_sweep(ec2):
    (iid,) = launch(ec2)
    recorder = Recorder()
    report = run_event(
        events.run_instances([iid], "sg-0123456789abcdef0"),
        settings(Mode.ENFORCE),
        recorder.clients(),
        datetime.now(UTC),
    )
    assert recorder.sent("SendCommand") == []
    assert report.findings == []  # within the registration grace: no verdict yet


def sweep_and_patch(ec2, recorder, **node):
    (iid,) = launch(ec2, env="prod")
    moto_ssm.FLEET.register(iid, region=REGION, patch=unpatched(), **node)
    report = run(sweep_scope(region=REGION), settings(Mode.ENFORCE), recorder.clients(), LATER)
    assert len(recorder.sent("SendCommand")) == 1
    command_id = moto_ssm.ssm_backends["123456789012"][REGION]._commands[-1].command_id
    return iid, report, command_id


def test_a_successful_patch_run_resolves_the_finding(ec2):
    recorder = Recorder()
    iid, report, command_id = sweep_and_patch(ec2, recorder)
    assert [f.severity.value for f in report.findings] == ["HIGH"]
    # WHEN Run Command reports the invocation finished
    invocation, command = moto_ssm.command_events(command_id, region=REGION)
    verify = run_event(invocation, settings(Mode.ENFORCE), recorder.clients(), LATER + timedelta(minutes=10))
    # THEN the instance is re-checked, the finding resolved, and nothing more is sent
    assert verify.trigger == "ssm-invocation:Success", verify.ignored
    assert verify.resolved == [f"ec2-warden/123456789012/{REGION}/patch-noncompliant/{iid}"], (
        verify.ignored,
        verify.errors,
    )
    assert len(recorder.sent("SendCommand")) == 1
    # AND the command-level event that follows finds nothing left to do
    again = run_event(command, settings(Mode.ENFORCE), recorder.clients(), LATER + timedelta(minutes=11))
    assert again.findings == [] and again.resolved == []


@pytest.mark.parametrize("level", ["invocation", "command"])
def test_a_failed_patch_run_raises_the_finding_with_the_command_id(ec2, level):
    recorder = Recorder()
    _iid, _report, command_id = sweep_and_patch(ec2, recorder, next_run_status="Failed")
    invocation, command = moto_ssm.command_events(command_id, region=REGION)
    event = invocation if level == "invocation" else command
    verify = run_event(event, settings(Mode.ENFORCE), recorder.clients(), LATER + timedelta(minutes=10))
    (finding,) = [f for f in verify.findings if f.check.value == "patch-noncompliant"]
    assert finding.severity.value == "CRITICAL"  # HIGH (security patches missing), raised one step
    assert command_id in finding.title and "Failed" in finding.title
    assert verify.statuses[finding.id].value == "changed"
    if level == "command":
        assert verify.api_calls["ssm:ListCommandInvocations"] == 1
    assert len(recorder.sent("SendCommand")) == 1  # a verification never re-sends


def test_a_forged_success_for_a_command_aws_never_ran_changes_nothing(ec2):
    # GIVEN an open patch finding, after ec2-warden sent its patch command
    recorder = Recorder()
    _iid, report, command_id = sweep_and_patch(ec2, recorder)
    (finding,) = report.findings
    invocation, _ = moto_ssm.command_events(command_id, region=REGION)
    # WHEN a Success event arrives for a command id SSM does not know (forged, or another's)
    forged = json.loads(json.dumps(invocation).replace(command_id, "11111111-2222-3333-4444-555555555555"))
    verify = run_event(forged, settings(Mode.ENFORCE), recorder.clients(), LATER + timedelta(minutes=10))
    # THEN ListCommandInvocations was asked (SSM: InvalidCommandId), the event refused, nothing written
    assert verify.ignored == (
        "command 11111111-2222-3333-4444-555555555555 could not be confirmed (InvalidCommandId: Invalid command id.): "
        "refused, nothing written"
    )
    assert verify.api_calls.get("ssm:ListCommandInvocations") == 1
    assert (verify.findings, verify.resolved, verify.actions) == ([], [], [])
    assert finding.id not in verify.resolved and len(recorder.sent("SendCommand")) == 1
