"""A small moto world for the Slack tests: an account with exposed instances, the webhook URL in
an SSM SecureString, and one call to run the pipeline as a Lambda would."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3

from chalicelib.adapters.clients import AwsClients
from chalicelib.events.scope import Scope, sweep_scope
from chalicelib.model import Report
from chalicelib.pipeline import run
from chalicelib.settings import load_settings

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's account
PARAMETER = "/ec2-warden/slack-webhook"
NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
# One session for every test: it caches the service models, which makes each client ~10x cheaper.
SESSION = boto3.session.Session(region_name=REGION)


@dataclass
class World:
    ec2: Any = field(default_factory=lambda: SESSION.client("ec2"))
    ssm: Any = field(default_factory=lambda: SESSION.client("ssm"))
    securityhub: Any = field(default_factory=lambda: SESSION.client("securityhub"))

    def store_webhook(self, url: str) -> None:
        self.ssm.put_parameter(Name=PARAMETER, Value=url, Type="SecureString", Overwrite=True)

    def open_group(self, name: str, ports: Iterable[int]) -> str:
        group = self.ec2.create_security_group(GroupName=name, Description=name)["GroupId"]
        for port in ports:
            self.open_port(group, port)
        return group

    def open_port(self, group: str, port: int) -> None:
        self.ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
            ],
        )

    def close_port(self, group: str, port: int) -> None:
        self.ec2.revoke_security_group_ingress(
            GroupId=group,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
            ],
        )

    def launch(self, group: str, **tags: str) -> str:
        spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}] if tags else []
        reservation = self.ec2.run_instances(
            ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SecurityGroupIds=[group], TagSpecifications=spec
        )
        return reservation["Instances"][0]["InstanceId"]

    def open_finding_ids(self) -> set[str]:
        pages = self.securityhub.get_paginator("get_findings").paginate()
        # moto ignores filters: filter here (EMULATOR.md)
        return {
            f["Id"]
            for page in pages
            for f in page["Findings"]
            if f.get("RecordState") == "ACTIVE" and f["Compliance"]["Status"] == "FAILED"
        }


def event_scope(*instance_ids: str) -> Scope:
    return Scope("RunInstances", ACCOUNT, REGION, "event-1", instance_ids=frozenset(instance_ids))


def run_pipeline(scope: Scope, env: Mapping[str, str], now: datetime = NOW) -> Report:
    settings = load_settings({"WARDEN_MODE": "notify", "AWS_REGION": REGION, **env})
    return run(scope, settings, AwsClients(REGION), now)


def sweep() -> Scope:
    return sweep_scope(ACCOUNT, REGION)
