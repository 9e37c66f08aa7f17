"""The Slack webhook SecureString lives in the function's own region (AWS_REGION): a run for another
region's event (SWEEP_REGIONS) or another region's sweep reads it there, not in the region swept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.clients import AwsClients
from chalicelib.events.scope import sweep_scope
from chalicelib.model import ActionKind
from chalicelib.pipeline import run
from chalicelib.runtime import entry
from chalicelib.settings import load_settings
from devtools.slack_sink import SlackSink

pytestmark = pytest.mark.network_local
HOME, OTHER = "us-east-1", "eu-west-1"
ACCOUNT = "123456789012"  # moto's
PARAMETER = "/ec2-warden/slack-webhook"
ENV = {
    "WARDEN_MODE": "notify",
    "WARDEN_CHECKS": "public-exposure",
    "SLACK_WEBHOOK_PARAMETER": PARAMETER,
    "SWEEP_REGIONS": f"{HOME},{OTHER}",
}


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch, ssm_manages_every_instance: Any) -> Iterator[SlackSink]:
    # GIVEN the function in HOME, serving OTHER too, with the webhook SecureString in HOME only
    monkeypatch.setenv("AWS_REGION", HOME)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(entry, "_CLIENTS", {})  # clients built inside this test's mock
    with mock_aws(), SlackSink() as running:
        boto3.client("ssm", region_name=HOME).put_parameter(Name=PARAMETER, Value=running.url, Type="SecureString")
        yield running


def exposed_instance(region: str) -> str:
    ec2 = boto3.client("ec2", region_name=region)
    group = ec2.create_security_group(GroupName="ssh", Description="ssh")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    reservation = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SecurityGroupIds=[group])
    return reservation["Instances"][0]["InstanceId"]


def state_change(instance_id: str, region: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "1f2e3d4c-0000-4000-8000-000000000001",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": ACCOUNT,
        "time": "2026-01-31T12:00:00Z",
        "region": region,
        "resources": [f"arn:aws:ec2:{region}:{ACCOUNT}:instance/{instance_id}"],
        "detail": {"instance-id": instance_id, "state": "running"},
    }


def test_an_event_from_another_region_reads_the_webhook_in_the_home_region(sink: SlackSink) -> None:
    instance = exposed_instance(OTHER)
    # WHEN OTHER's state-change event reaches the Lambda entry point in HOME
    report = entry.handle_event(state_change(instance, OTHER))
    # THEN Slack was told about OTHER's instance: the parameter was read in HOME
    (slack,) = [a for a in report["actions"] if a["kind"] == ActionKind.NOTIFY_SLACK.value]
    assert report["scope"]["region"] == OTHER and slack["done"] is True, slack["error"]
    assert sink.messages and any(instance in text for text in sink.rendered())
    assert report["api_calls"]["ssm:GetParameter"] == 1


def test_a_sweep_of_another_region_with_the_home_clients_reads_it_in_the_home_region(sink: SlackSink) -> None:
    instance = exposed_instance(OTHER)
    settings = load_settings()
    # WHEN the home clients run OTHER's sweep (the pipeline switches them to OTHER)
    report = run(sweep_scope(ACCOUNT, OTHER), settings, AwsClients(HOME), datetime.now(UTC))
    (slack,) = [a for a in report.actions if a.kind is ActionKind.NOTIFY_SLACK]
    assert slack.done is True, slack.error
    assert any(instance in text for text in sink.rendered())
