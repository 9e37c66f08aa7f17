"""Injected AWS faults: retries absorb a 10% fault rate, and a dead service does not stop the others."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.clients import AwsClients
from chalicelib.adapters.log import logger
from chalicelib.events.scope import sweep_scope
from chalicelib.model import Mode
from chalicelib.pipeline import run
from chalicelib.settings import load_settings
from devtools.faults import FaultInjector
from devtools.fleet import seed_exposure_fleet
from tests.output_scan import SECRET_ACCESS_KEY, SECRETS, SESSION_TOKEN, WEBHOOK_URL, captured_output, leaked

# Patch loop (issue 4): these tests are about exposure, on a fleet SSM manages and keeps patched.
pytestmark = pytest.mark.usefixtures("ssm_manages_every_instance")

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
EXPOSURE_ONLY = {"WARDEN_CHECKS": "public-exposure"}  # the fault story is told with exposure findings
NOTIFY = load_settings(EXPOSURE_ONLY, mode=Mode.NOTIFY)


def outcome(report: dict) -> tuple:
    return (
        sorted((f["id"], f["severity"]) for f in report["findings"]),
        sorted(report["resolved"]),
        sorted((a["kind"], tuple(sorted(a["resource_ids"]))) for a in report["actions"]),
    )


def test_ten_percent_faults_give_the_same_result(ec2):
    seed_exposure_fleet(ec2)
    clean = run(sweep_scope(region="us-east-1"), NOTIFY, AwsClients("us-east-1"), NOW).to_dict()
    # The same fleet again, from a clean Security Hub view: compare plans, not statuses.
    faulty_clients = AwsClients("us-east-1", max_attempts=6)
    injector = FaultInjector(rate=0.10, seed=3)
    for service in ("ec2", "securityhub"):
        injector.attach(faulty_clients.get(service))
    audit = load_settings(EXPOSURE_ONLY)
    runs = [run(sweep_scope(region="us-east-1"), audit, faulty_clients, NOW).to_dict() for _ in range(8)]
    audit_clean = run(sweep_scope(region="us-east-1"), audit, AwsClients("us-east-1"), NOW).to_dict()
    assert sum(injector.injected.values()) >= 1
    for report in runs:
        assert report["errors"] == []
        assert outcome(report) == outcome(audit_clean)
    assert len(clean["findings"]) == len(audit_clean["findings"])


def test_a_dead_security_hub_does_not_stop_the_ec2_work(ec2):
    fleet = seed_exposure_fleet(ec2)
    clients = AwsClients("us-east-1", max_attempts=2)
    injector = FaultInjector(rate=1.0, kinds=("503",))
    injector.attach(clients.get("securityhub"))
    report = run(sweep_scope(region="us-east-1"), NOTIFY, clients, NOW).to_dict()
    assert {f["resource_id"] for f in report["findings"]} == fleet.exposed_ids()
    assert {e["where"] for e in report["errors"]} == {"securityhub:GetFindings", "action:import-findings"}
    assert report["actions"][0]["done"] is False


def test_throttled_ec2_reads_are_retried(ec2):
    seed_exposure_fleet(ec2)
    clients = AwsClients("us-east-1", max_attempts=5)
    injector = FaultInjector(rate=0.5, kinds=("RequestLimitExceeded", "ReadTimeout"), seed=11)
    injector.attach(clients.get("ec2"))
    report = run(sweep_scope(region="us-east-1"), load_settings(EXPOSURE_ONLY), clients, NOW).to_dict()
    assert report["errors"] == [] and len(report["findings"]) == 8
    assert sum(injector.injected.values()) >= 1


@pytest.mark.parametrize(
    ("rate", "services"), [(0.30, ("ec2", "securityhub", "ssm")), (1.0, ("securityhub",))], ids=["30%", "dead-hub"]
)
def test_no_secret_in_the_output_of_a_faulty_run(ec2, monkeypatch, rate, services):
    # GIVEN a notify run that holds a webhook URL (whose Slack refuses connections) and session
    # credentials, under injected faults
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    seed_exposure_fleet(ec2)
    settings = load_settings(
        {"SLACK_WEBHOOK_URL": WEBHOOK_URL.replace("https://hooks.slack.com", "http://127.0.0.1:9")}
    )
    settings = load_settings({}, mode=Mode.NOTIFY, slack_webhook_url=settings.slack_webhook_url)
    secrets = (settings.slack_webhook_url or "", *SECRETS)
    clients = AwsClients("us-east-1", max_attempts=3)
    injector = FaultInjector(rate=rate, seed=4)
    for service in services:
        injector.attach(clients.get(service))
    # WHEN it runs, everything it logs, reports and raises is kept
    with captured_output() as out:
        try:
            texts = [json.dumps(run(sweep_scope(region="us-east-1"), settings, clients, NOW).to_dict())]
        except Exception as exc:
            texts = [repr(exc), str(exc)]
    # THEN the run did meet faults and a failing Slack, and no secret is in any of it
    assert sum(injector.injected.values()) >= 1
    assert "slack" in texts[0].lower() or "slack" in out.getvalue().lower()
    assert leaked([out.getvalue(), *texts], secrets) == []


def test_the_secret_scan_finds_a_secret_it_is_shown():
    # The scan can fail: a log line or an exception text with a secret in it is caught.
    with captured_output() as out:
        logger.info("posting", extra={"url": WEBHOOK_URL})
        logging.getLogger("botocore.test").warning("token %s", SESSION_TOKEN)
    assert leaked([out.getvalue()]) == [WEBHOOK_URL, "webhookSecretScan0123456789", SESSION_TOKEN]
    assert leaked([str(RuntimeError(SECRET_ACCESS_KEY))]) == [SECRET_ACCESS_KEY]
