"""The pipeline telling Slack, over real HTTP to a local webhook sink, with EC2, Security Hub and
SSM under moto. Slack failing in any way never fails the run nor loses a finding."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from moto import mock_aws

from chalicelib.model import ActionKind, Report
from devtools.slack_sink import Reply, SlackSink, block_kit_violations
from tests.integration.slack_world import ACCOUNT, NOW, PARAMETER, REGION, World, event_scope, run_pipeline, sweep

pytestmark = pytest.mark.network_local
# public-exposure alone: the digests asserted here count exposure findings.
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


def slack_outcomes(report: Report) -> list:
    return [a for a in report.actions if a.kind is ActionKind.NOTIFY_SLACK]


def test_a_critical_exposure_is_announced_once_after_it_reached_security_hub(world: World, sink: SlackSink) -> None:
    # GIVEN the webhook URL in an SSM SecureString and a database with SSH open to the world
    world.store_webhook(sink.url)
    instance = world.launch(world.open_group("db-sg", [22]), Name="billing-db", Owner="alice@example.com")
    # WHEN the launch event runs through the pipeline in notify mode
    report = run_pipeline(event_scope(instance), SLACK)
    # THEN one valid message reached the sink, saying what, where, who, why, and that it is in Security Hub
    [message] = sink.messages
    assert block_kit_violations(message) == []
    [text] = sink.rendered()
    for expected in (
        "CRITICAL",
        "public-exposure",
        instance,
        "billing-db",
        "alice@example.com",
        ACCOUNT,
        REGION,
        "tcp 22 open to 0.0.0.0/0",
        "Posted to Security Hub.",
    ):
        assert expected in text, expected
    assert report.findings[0].id in world.open_finding_ids()
    [outcome] = slack_outcomes(report)
    assert outcome.done and outcome.error is None
    assert report.api_calls["ssm:GetParameter"] == 1
    # AND WHEN the same event is replayed, the unchanged finding is not announced again
    again = run_pipeline(event_scope(instance), SLACK)
    assert slack_outcomes(again) == []
    assert len(sink.received) == 1


def test_a_raised_severity_is_announced(world: World, sink: SlackSink) -> None:
    world.store_webhook(sink.url)
    group = world.open_group("cache-sg", [6379])
    instance = world.launch(group, Name="cache")
    run_pipeline(event_scope(instance), SLACK)
    assert "HIGH" in sink.rendered()[0]
    world.open_port(group, 22)
    run_pipeline(event_scope(instance), SLACK)
    assert len(sink.messages) == 2
    assert "Severity raised from HIGH to CRITICAL." in sink.rendered()[1]


def test_sweeps_send_a_digest_only_when_there_is_news(world: World, sink: SlackSink) -> None:
    # GIVEN two exposed instances that no event announced
    world.store_webhook(sink.url)
    db_group = world.open_group("db-sg", [22])
    world.launch(db_group, Name="billing-db", Owner="alice")
    world.launch(world.open_group("web-sg", [8080]), Name="web")
    # WHEN the first sweep runs: one digest with both as new
    first = run_pipeline(sweep(), SLACK)
    [digest] = sink.messages
    assert block_kit_violations(digest) == []
    text = sink.rendered()[0]
    assert "Open findings: 2" in text and "public-exposure: 1 CRITICAL · 1 MEDIUM" in text
    assert "New since the last sweep (2)" in text and "owner alice" in text
    assert "import-findings 2 done" in text
    assert [o.done for o in slack_outcomes(first)] == [True]
    # WHEN nothing changed: no message
    run_pipeline(sweep(), SLACK, now=NOW.replace(hour=13))
    assert len(sink.messages) == 1
    # WHEN the SSH rule goes away: a digest that says what was resolved
    world.close_port(db_group, 22)
    run_pipeline(sweep(), SLACK, now=NOW.replace(hour=14))
    assert len(sink.messages) == 2
    resolved = sink.rendered()[1]
    assert "Resolved (1)" in resolved and "now passes public-exposure" in resolved
    assert "Open findings: 1" in resolved


def test_a_429_with_retry_after_is_waited_out_and_the_message_delivered(world: World, sink: SlackSink) -> None:
    world.store_webhook(sink.url)
    instance = world.launch(world.open_group("db-sg", [22]))
    sink.answer(Reply(429, "rate_limited", {"Retry-After": "1"}))
    report = run_pipeline(event_scope(instance), SLACK)
    assert [r.reply.status for r in sink.received] == [429, 200]
    [outcome] = slack_outcomes(report)
    assert outcome.done and not report.errors


def test_a_retry_after_longer_than_the_lambda_can_wait_fails_the_message_at_once(world: World, sink: SlackSink) -> None:
    world.store_webhook(sink.url)
    instance = world.launch(world.open_group("db-sg", [22]))
    sink.answer(Reply(429, "rate_limited", {"Retry-After": "3600"}))
    report = run_pipeline(event_scope(instance), SLACK)
    assert len(sink.received) == 1  # no retry
    [outcome] = slack_outcomes(report)
    assert not outcome.done and "HTTP 429" in (outcome.error or "")


def test_slack_answering_500_every_time_fails_the_message_not_the_run(world: World, sink: SlackSink) -> None:
    # GIVEN Slack is down (500 on every attempt)
    world.store_webhook(sink.url)
    instance = world.launch(world.open_group("db-sg", [22]))
    sink.answer_always(Reply(500, "internal_error"))
    # WHEN the event runs
    report = run_pipeline(event_scope(instance), SLACK)
    # THEN the run completes, the finding is in Security Hub, and the Slack error is reported
    assert report.completed
    assert report.findings[0].id in world.open_finding_ids()
    [outcome] = slack_outcomes(report)
    assert not outcome.done and outcome.error == "Slack answered HTTP 500: internal_error"
    assert [e.where for e in report.errors] == ["action:notify-slack"]
    assert len(sink.received) == 2  # one retry, bounded


def test_a_webhook_that_refuses_connections_is_an_error_not_a_crash(world: World) -> None:
    # GIVEN a webhook URL on a port where nothing listens
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    world.store_webhook(f"http://127.0.0.1:{port}/services/T0/B0/refusedtoken000000000000")
    group = world.open_group("db-sg", [22, 3389])
    first, second = world.launch(group), world.launch(group)
    # WHEN an event with two findings runs
    report = run_pipeline(event_scope(first, second), SLACK)
    # THEN both messages fail; the second is not even tried once Slack is known unreachable
    assert report.completed
    outcomes = slack_outcomes(report)
    assert len(outcomes) == 2 and not any(o.done for o in outcomes)
    assert outcomes[0].error.startswith("Slack not reached: ConnectionRefusedError")
    assert outcomes[1].error.startswith("not sent: Slack not reached")
    assert set(world.open_finding_ids()) == {f.id for f in report.findings}


def test_a_missing_parameter_is_reported_by_name(world: World) -> None:
    instance = world.launch(world.open_group("db-sg", [22]))
    report = run_pipeline(event_scope(instance), SLACK)
    [outcome] = slack_outcomes(report)
    assert PARAMETER in (outcome.error or "") and "ParameterNotFound" in (outcome.error or "")
    assert report.completed


def test_audit_mode_reads_no_parameter_and_posts_nothing(world: World, sink: SlackSink) -> None:
    world.store_webhook(sink.url)
    instance = world.launch(world.open_group("db-sg", [22]))
    report = run_pipeline(event_scope(instance), {**SLACK, "WARDEN_MODE": "audit"})
    assert sink.received == []
    assert "ssm:GetParameter" not in report.api_calls
    [outcome] = slack_outcomes(report)
    assert outcome.reason.startswith("audit mode: not applied (")


def test_slack_webhook_url_setting_needs_no_parameter(world: World, sink: SlackSink) -> None:
    instance = world.launch(world.open_group("db-sg", [22]))
    report = run_pipeline(event_scope(instance), {"SLACK_WEBHOOK_URL": sink.url})
    assert len(sink.messages) == 1
    assert "ssm:GetParameter" not in report.api_calls


def test_the_cli_prints_only_its_report_on_stdout_no_metrics(
    world: World, sink: SlackSink, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.cli import main

    world.launch(world.open_group("db-sg", [22]))
    monkeypatch.setenv("SLACK_WEBHOOK_URL", sink.url)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    capsys.readouterr()
    assert main(["sweep", "--mode", "notify", "--region", REGION, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)  # one JSON document, nothing else
    assert report["actions"][-1]["kind"] == "notify-slack" and report["actions"][-1]["done"]
    assert len(sink.messages) == 1


def test_an_event_with_many_findings_sends_nine_messages_and_a_roll_up(world: World, sink: SlackSink) -> None:
    # GIVEN one RunInstances that launched 12 instances into a world-open SSH group
    world.store_webhook(sink.url)
    group = world.open_group("fleet-sg", [22])
    launched = world.ec2.run_instances(ImageId="ami-12c6146b", MinCount=12, MaxCount=12, SecurityGroupIds=[group])
    ids = [i["InstanceId"] for i in launched["Instances"]]
    # WHEN the event runs
    report = run_pipeline(event_scope(*ids), SLACK)
    # THEN 9 single messages and one roll-up naming the other 3, all valid and all delivered
    assert len(sink.messages) == 10
    assert all(block_kit_violations(m) == [] for m in sink.messages)
    assert "3 more, after the 9 sent one by one" in sink.rendered()[-1]
    assert [o.done for o in slack_outcomes(report)] == [True] * 10


def test_the_sink_refuses_what_slack_would_refuse(sink: SlackSink) -> None:
    from chalicelib.adapters.slack import SlackAdapter, SlackError

    too_many = {"text": "x", "blocks": [{"type": "divider"}] * 51}
    with pytest.raises(SlackError, match="HTTP 400: invalid_blocks"):
        SlackAdapter(sink.url).post(too_many)
