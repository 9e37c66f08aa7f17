"""The Slack webhook URL is a secret: it must not appear in any log line, report, metric or error
text, whatever Slack answers. Every run goes through the Lambda entry point with all logging
captured at DEBUG: stdout and stderr (file descriptors), Powertools' logger, and the standard
logging tree (slack-sdk logs the URL there when it retries, unless it is silenced)."""

from __future__ import annotations

import io
import json
import logging
import socket
import traceback
from collections.abc import Iterator

import pytest
from moto import mock_aws

from chalicelib.adapters.log import logger as powertools_logger
from chalicelib.adapters.slack import SlackAdapter, SlackError
from chalicelib.runtime import entry
from devtools.slack_sink import Reply, SlackSink
from tests.integration.slack_world import ACCOUNT, PARAMETER, REGION, World

pytestmark = pytest.mark.network_local
TOKEN = "s3cr3tT0kenZZZ9q8w7e6r5t4y"
SECRET_PATH = f"/services/T0SECRET0/B0SECRET0/{TOKEN}"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(var, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.setattr(entry, "_CLIENTS", {})  # clients built inside this test's mock
    with mock_aws():
        yield World()


@pytest.fixture
def all_logs() -> Iterator[io.StringIO]:
    """Everything logged through Python logging or Powertools, at DEBUG, into one buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    saved = (root.level, logging.getLogger("slack_sdk").level)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("slack_sdk").setLevel(logging.DEBUG)
    powertools_handler = powertools_logger.registered_handler
    old_stream = powertools_handler.setStream(buffer)  # type: ignore[attr-defined]
    old_level = powertools_logger.log_level
    powertools_logger.setLevel("DEBUG")
    try:
        yield buffer
    finally:
        powertools_logger.setLevel(old_level)
        powertools_handler.setStream(old_stream)  # type: ignore[attr-defined]
        root.removeHandler(handler)
        root.setLevel(saved[0])
        logging.getLogger("slack_sdk").setLevel(saved[1])


def state_change(instance_id: str) -> dict:
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": ACCOUNT,
        "time": "2026-01-31T12:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance_id}"],
        "detail": {"instance-id": instance_id, "state": "running"},
    }


def refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_secret_absent(text: str, url: str) -> None:
    for secret in (url, SECRET_PATH, TOKEN):
        assert secret not in text, f"the webhook secret leaked: {secret[:12]}…"


@pytest.mark.parametrize(
    "slack",
    ["answers 200", "answers 500", "answers 400", "rate-limits for an hour", "refuses connections", "bad scheme"],
)
def test_the_webhook_url_appears_nowhere_whatever_slack_does(
    slack: str,
    world: World,
    all_logs: io.StringIO,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with SlackSink(path=SECRET_PATH) as sink:
        # GIVEN the webhook URL stored as a SecureString, and Slack behaving as the case says
        url = sink.url
        if slack == "answers 500":
            sink.answer_always(Reply(500, "internal_error"))
        elif slack == "answers 400":
            sink.answer_always(Reply(400, f"invalid_payload for {url}"))  # even if Slack echoed the URL
        elif slack == "rate-limits for an hour":
            sink.answer_always(Reply(429, "rate_limited", {"Retry-After": "3600"}))
        elif slack == "refuses connections":
            url = f"http://127.0.0.1:{refused_port()}{SECRET_PATH}"
        elif slack == "bad scheme":
            url = f"gopher://hooks.example{SECRET_PATH}"
        world.store_webhook(url)
        group = world.open_group("db-sg", [22])
        instance = world.launch(group, Name="billing-db")
        monkeypatch.setenv("WARDEN_MODE", "notify")
        monkeypatch.setenv("SLACK_WEBHOOK_PARAMETER", PARAMETER)
        monkeypatch.setenv("AWS_REGION", REGION)
        # (the test's own PutParameter is logged by botocore at DEBUG: that is the test, not the product)
        all_logs.seek(0)
        all_logs.truncate()
        capfd.readouterr()

        # WHEN the event goes through the Lambda entry point (settings, pipeline, log lines, metrics)
        report = entry.handle_event(state_change(instance))

        # THEN the run finished and said what happened to Slack, without the URL anywhere
        assert report["findings"] and report["actions"][-1]["kind"] == "notify-slack"
        assert report["actions"][-1]["done"] is (slack == "answers 200")
        captured = capfd.readouterr()
        logs = all_logs.getvalue()
        assert '"slack message' in logs or '"slack unavailable"' in logs  # the logs were captured
        assert '"_aws"' in captured.out  # so were the EMF metrics on stdout
        for text in (json.dumps(report), captured.out, captured.err, logs):
            assert_secret_absent(text, url)


def test_adapter_errors_and_their_tracebacks_never_carry_the_url(all_logs: io.StringIO) -> None:
    url = f"http://127.0.0.1:{refused_port()}{SECRET_PATH}"
    with pytest.raises(SlackError) as caught:
        SlackAdapter(url).post({"text": "hello"})
    rendered = "".join(traceback.format_exception(caught.value))
    for text in (str(caught.value), repr(caught.value), rendered, all_logs.getvalue()):
        assert_secret_absent(text, url)
