"""Injected AWS faults: retries absorb a 10% fault rate, and a dead service does not stop the others."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.clients import AwsClients
from chalicelib.model import Mode
from chalicelib.pipeline import run
from chalicelib.scope import sweep_scope
from chalicelib.settings import load_settings
from devtools.faults import FaultInjector
from devtools.fleet import seed_exposure_fleet

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
