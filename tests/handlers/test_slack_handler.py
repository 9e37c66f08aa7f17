"""The deployed path: a Chalice handler gets an EC2 state-change event, Slack hears about the new
exposure, and the run's metrics are printed as EMF for CloudWatch."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from app import app
from chalicelib.runtime import entry
from devtools.chalice_context import lambda_timeout
from devtools.slack_sink import SlackSink, block_kit_violations
from tests.conftest import PROJECT_DIR

pytestmark = pytest.mark.network_local
REGION = "eu-west-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(var, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.setattr(entry, "_CLIENTS", {})
    with mock_aws():
        yield


def exposed_instance() -> str:
    ec2 = boto3.client("ec2", region_name=REGION)
    group = ec2.create_security_group(GroupName="rdp", Description="rdp")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    spec = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "jump-box"}]}]
    launched = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SecurityGroupIds=[group], TagSpecifications=spec
    )
    return launched["Instances"][0]["InstanceId"]


def test_state_change_handler_posts_to_slack_and_emits_emf(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the dev stage (notify mode), a webhook, and an instance with RDP open to the world
    instance = exposed_instance()
    with SlackSink() as sink, lambda_timeout(PROJECT_DIR, "dev"), Client(app, stage_name="dev") as client:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", sink.url)
        monkeypatch.setenv("METRICS_NAMESPACE", "ec2-warden-test")
        event = client.events.generate_cw_event(
            source="aws.ec2",
            detail_type="EC2 Instance State-change Notification",
            detail={"instance-id": instance, "state": "running"},
            resources=[f"arn:aws:ec2:{REGION}:123456789012:instance/{instance}"],
            region=REGION,
        )
        capsys.readouterr()
        # WHEN the handler runs
        response = client.lambda_.invoke("on_instance_state_change", event)
        # THEN Slack got one valid message about the jump box
        [message] = sink.messages
        assert block_kit_violations(message) == []
        assert "jump-box" in sink.rendered()[0] and "CRITICAL" in sink.rendered()[0]
    assert response.payload["actions"][-1] == {
        "kind": "notify-slack",
        "resource_ids": [response.payload["findings"][0]["id"]],
        "done": True,
        "error": None,
        "reason": f"announce new CRITICAL public-exposure on {instance}",
        "failed_ids": [],
    }
    # AND the run's metrics went to stdout as EMF in the configured namespace
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    namespaces = {m["_aws"]["CloudWatchMetrics"][0]["Namespace"] for m in emf}
    assert namespaces == {"ec2-warden-test"}
    slack = next(m for m in emf if m.get("kind") == "notify-slack")
    assert slack["Actions"] == [1.0]
