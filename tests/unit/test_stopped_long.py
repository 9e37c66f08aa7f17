"""stopped-long: the stop date from StateTransitionReason (or our tag), the limit, the finding."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.checks import CHECKS
from chalicelib.checks.stopped import detect_stopped_long
from chalicelib.model import CheckName, Severity
from chalicelib.rules.idle import STOPPED_BY
from chalicelib.settings import Settings
from tests.unit.idle_builders import NOW, instance, snapshot

SETTINGS = Settings()


def _reason(days_ago: float, zone: str = "GMT") -> str:
    return f"User initiated ({(NOW - timedelta(days=days_ago)).strftime('%Y-%m-%d %H:%M:%S')} {zone})"


def _check(*instances, settings=SETTINGS, now=NOW):
    return detect_stopped_long(snapshot(instances), settings, now)


def test_registered_under_its_public_name():
    assert CheckName.STOPPED_LONG.value == "stopped-long"
    assert CHECKS[CheckName.STOPPED_LONG] is detect_stopped_long


def test_stopped_longer_than_the_limit_is_a_low_finding():
    result = _check(instance("i-1", state="stopped", reason=_reason(31)))
    (finding,) = result.findings
    assert finding.severity is Severity.LOW
    assert finding.details == {"stopped_at": "2026-01-29T12:00:00Z", "days_stopped": 31, "stopped_by_warden": False}
    assert "Stopped since 2026-01-29 12:00 UTC" in finding.description


@pytest.mark.parametrize("days_ago", [29, 30])
def test_within_the_limit_passes(days_ago):
    result = _check(instance("i-1", state="stopped", reason=_reason(days_ago)))
    assert not result.findings and result.passed == frozenset({"i-1"})


def test_the_limit_is_a_setting():
    result = _check(instance("i-1", state="stopped", reason=_reason(8)), settings=Settings(stopped_max_days=7))
    assert len(result.findings) == 1


def test_moto_writes_utc_instead_of_gmt():
    assert _check(instance("i-1", state="stopped", reason=_reason(40, "UTC"))).findings


def test_our_own_stop_tag_dates_a_stop_when_the_reason_does_not():
    tags = {STOPPED_BY: (NOW - timedelta(days=45)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    result = _check(instance("i-1", state="stopped", reason="Client.UserInitiatedShutdown", tags=tags))
    (finding,) = result.findings
    assert finding.details["stopped_by_warden"] is True
    # a reason with an impossible date falls back to the tag too
    bad = instance("i-2", state="stopped", reason="User initiated (2026-13-45 10:00:00 GMT)", tags=tags)
    assert _check(bad).findings


def test_no_stop_date_at_all_is_counted_not_judged():
    result = _check(instance("i-1", state="stopped", reason=""))
    assert not result.findings and "i-1" not in result.passed
    assert result.skipped == {"stop time unknown": 1}


@pytest.mark.parametrize("state", ["running", "pending", "terminated"])
def test_not_stopped_passes(state):
    assert _check(instance("i-1", state=state, reason=_reason(90))).passed == frozenset({"i-1"})


def test_finding_text_does_not_change_from_one_day_to_the_next():
    inst = instance("i-1", state="stopped", reason=_reason(40))
    today = _check(inst).findings[0]
    tomorrow = _check(inst, now=NOW + timedelta(days=1)).findings[0]
    assert (today.title, today.description) == (tomorrow.title, tomorrow.description)
