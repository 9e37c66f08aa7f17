"""Shared test set-up: fake credentials, no real endpoint, and where the fixture events live."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devtools import moto_securityhub, moto_ssm

PROJECT_DIR = Path(__file__).resolve().parents[1]
# Real AWS sample events published by others, copied with their provenance (PROVENANCE.md there).
SHARED_EVENTS = PROJECT_DIR / "tests" / "fixtures" / "published"
LOCAL_EVENTS = PROJECT_DIR / "tests" / "fixtures"


def shared_event(name: str) -> dict[str, Any]:
    return json.loads((SHARED_EVENTS / name).read_text())


def shared_event_names() -> list[str]:
    names = sorted(p.name for p in SHARED_EVENTS.glob("*.json"))
    if not names:
        raise RuntimeError(f"no shared fixture events found at {SHARED_EVENTS}")
    return names


@pytest.fixture(autouse=True)
def _aws_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with fake credentials and no endpoint or profile from the developer's shell."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    for key in ("WARDEN_MODE",):
        monkeypatch.delenv(key, raising=False)


# --- patch loop (issue 4): moto has no SSM managed instances. Route moto's SSM through the honest
# extension in devtools/moto_ssm.py for every test, so that a pipeline run under mock_aws reads an
# empty managed fleet instead of crashing on NotImplementedError; tests that need managed instances
# seed moto_ssm.FLEET. The registry is cleared after each test.
@pytest.fixture(autouse=True)
def _managed_ssm_fleet():
    moto_ssm.install()
    yield moto_ssm.FLEET
    moto_ssm.FLEET.reset()


@pytest.fixture
def ssm_manages_every_instance(_managed_ssm_fleet):
    """For tests about something else than patching: every instance is managed, Online and patched."""
    _managed_ssm_fleet.manage_every_instance()
    return _managed_ssm_fleet


# moto has no BatchUpdateFindings, which resolving a finding calls (Workflow.Status RESOLVED). Route
# moto's Security Hub through the honest extension in devtools/moto_securityhub.py for every test,
# so that flow tests see the triage state AWS would keep.
@pytest.fixture(autouse=True)
def _securityhub_triage():
    moto_securityhub.install()
    yield
