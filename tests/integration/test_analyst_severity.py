"""Provider fields, not analyst fields: ec2-warden sets Severity and Types through
FindingProviderFields and compares its prior state on them, so an analyst who lowers a finding's
severity in Security Hub (BatchUpdateFindings, top-level Severity) does not make the next run see a
"changed" finding and announce it again."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from chalicelib.model import ActionKind, FindingStatus
from devtools.slack_sink import SlackSink
from tests.integration.slack_world import PARAMETER, REGION, World, event_scope, run_pipeline

pytestmark = pytest.mark.network_local

SLACK = {"SLACK_WEBHOOK_PARAMETER": PARAMETER, "WARDEN_CHECKS": "public-exposure"}


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(var, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield World()


@pytest.fixture
def sink() -> Iterator[SlackSink]:
    with SlackSink() as running:
        yield running


def hub_findings() -> list[dict]:
    hub = boto3.client("securityhub", region_name=REGION)
    return [f for page in hub.get_paginator("get_findings").paginate() for f in page["Findings"]]


def test_an_analyst_lowering_the_severity_leaves_the_finding_unchanged_and_unannounced(world, sink) -> None:
    # GIVEN a CRITICAL exposure ec2-warden posted and announced once
    world.store_webhook(sink.url)
    box = world.launch(world.open_group("db-sg", [22]), Name="billing-db", Owner="alice@example.com")
    first = run_pipeline(event_scope(box), SLACK)
    (finding,) = first.findings
    assert first.statuses[finding.id] is FindingStatus.NEW and len(sink.messages) == 1
    (posted,) = hub_findings()
    assert posted["FindingProviderFields"]["Severity"]["Label"] == "CRITICAL"
    assert posted["FindingProviderFields"]["Types"] == posted["Types"]
    # WHEN an analyst lowers it to LOW in Security Hub (top-level Severity, BatchUpdateFindings)
    hub = boto3.client("securityhub", region_name=REGION)
    answer = hub.batch_update_findings(
        FindingIdentifiers=[{"Id": posted["Id"], "ProductArn": posted["ProductArn"]}], Severity={"Label": "LOW"}
    )
    assert answer["UnprocessedFindings"] == []
    # AND the next event judges the instance again
    second = run_pipeline(event_scope(box), SLACK)
    # THEN the finding is unchanged, not re-imported, and Slack hears nothing more
    assert second.statuses[finding.id] is FindingStatus.UNCHANGED
    assert not [a for a in second.actions if a.kind is ActionKind.NOTIFY_SLACK and a.done]
    assert len(sink.messages) == 1
    # AND the analyst's severity stands beside ec2-warden's own
    (kept,) = hub_findings()
    assert (kept["Severity"]["Label"], kept["FindingProviderFields"]["Severity"]["Label"]) == ("LOW", "CRITICAL")
