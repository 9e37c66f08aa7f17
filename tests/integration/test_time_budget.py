"""A spent time budget stops new AWS attempts; what was not done is reported, not lost silently."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.adapters.clients import AwsClients
from chalicelib.events.scope import sweep_scope
from chalicelib.model import Mode
from chalicelib.pipeline import run
from chalicelib.runtime.entry import time_budget
from chalicelib.settings import load_settings
from devtools.fleet import seed_exposure_fleet

# Patch loop (issue 4): these tests are about exposure, on a fleet SSM manages and keeps patched.
pytestmark = pytest.mark.usefixtures("ssm_manages_every_instance")

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

EXPOSURE_ONLY = {"WARDEN_CHECKS": "public-exposure"}  # told with exposure findings


class Context:
    def __init__(self, millis: int) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


def test_budget_leaves_a_margin():
    assert time_budget(Context(300_000)) == 270.0
    assert time_budget(Context(20_000)) == 11.0
    assert time_budget(Context(3_000)) == 0.0
    assert time_budget(None) is None


def test_a_spent_budget_makes_no_call_and_says_so(ec2):
    seed_exposure_fleet(ec2)
    clients = AwsClients("us-east-1")
    clients.set_deadline(-1)
    report = run(sweep_scope(region="us-east-1"), load_settings(EXPOSURE_ONLY, mode=Mode.NOTIFY), clients, NOW)
    assert not report.completed
    assert "time budget spent" in report.errors[0].message


def test_budget_spent_after_the_reads_keeps_the_findings(ec2):
    seed_exposure_fleet(ec2)
    clients = AwsClients("us-east-1")
    clients.securityhub.meta.events.register_first(
        "before-call.securityhub.BatchImportFindings", lambda **_: clients.set_deadline(-1)
    )
    notify = load_settings(EXPOSURE_ONLY, mode=Mode.NOTIFY)
    report = run(sweep_scope(region="us-east-1"), notify, clients, NOW).to_dict()
    assert len(report["findings"]) == 8
    assert "time budget spent" in report["actions"][0]["error"]
