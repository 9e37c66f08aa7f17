"""The idle check over hand-built snapshots: the day rule, the window rule, missing data, the stages."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.checks import CHECKS
from chalicelib.checks.idle import detect_idle
from chalicelib.model import CheckName, DailyUsage, DayUsage, Mode, Severity
from chalicelib.rules.idle import PROTECT, STOPPED_BY, Verdict, day_is_idle, judge_usage
from chalicelib.settings import Settings
from tests.unit.idle_builders import IDLE_14, NOW, days, instance, marked, snapshot

SETTINGS = Settings()
TRUSTED_ADVISOR = Settings(idle_min_days=4)


def _one(pattern: str, settings: Settings = SETTINGS, **kwargs):
    snap = snapshot([instance("i-1", **kwargs)], {"i-1": pattern})
    return detect_idle(snap, settings, NOW)


def test_idle_is_registered_under_its_public_name():
    assert CheckName.IDLE.value == "idle"
    assert CHECKS[CheckName.IDLE] is detect_idle


def test_idle_every_day_gives_a_low_finding_to_be_marked():
    # GIVEN 14 quiet days WHEN checked
    result = _one(IDLE_14)
    # THEN one LOW finding, at the stage where it gets a deadline
    (finding,) = result.findings
    assert finding.severity is Severity.LOW
    assert finding.details["stage"] == "to-mark"
    assert finding.details["idle_days"] == 14
    assert finding.details["stop_after"] == "2026-03-04T12:00:00Z"
    assert "i-1" not in result.passed


@pytest.mark.parametrize(
    ("cpu", "net_in", "net_out", "idle"),
    [
        (10.0, 2_500_000.0, 2_500_000.0, True),  # both thresholds are inclusive
        (10.01, 0.0, 0.0, False),
        (0.0, 2_500_000.0, 2_500_001.0, False),  # in + out is what counts
        (0.0, 4_000_000.0, 0.0, True),
        (None, 0.0, 0.0, False),  # no CPU datapoint: not an idle day (nor a day with data)
        (0.0, 0.0, None, False),
    ],
)
def test_day_rule(cpu, net_in, net_out, idle):
    day = DayUsage(NOW, cpu, net_in, net_out)
    assert day_is_idle(day, SETTINGS) is idle


def test_network_threshold_reads_megabytes_as_bytes():
    # GIVEN 5 MB allowed WHEN a day moves 5,000,001 bytes THEN it is not idle
    assert not day_is_idle(DayUsage(NOW, 1.0, 5_000_001.0, 0.0), SETTINGS)
    assert day_is_idle(DayUsage(NOW, 1.0, 5_000_001.0, 0.0), Settings(idle_network_mb=6))


def test_one_busy_day_in_fourteen_is_active_by_default():
    result = _one("i" * 6 + "b" + "i" * 7)
    assert not result.findings
    assert "i-1" in result.passed


def test_busy_network_alone_makes_a_day_active():
    result = _one("i" * 13 + "n")
    assert not result.findings and "i-1" in result.passed


@pytest.mark.parametrize("pattern", ["...........iii", "." * 14, "c" * 14, "i" * 13 + "c"])
def test_too_few_days_with_data_is_not_enough_data_neither_pass_nor_fail(pattern):
    # GIVEN a young instance, no metrics, or partial days WHEN checked
    result = _one(pattern)
    # THEN no finding, no pass (an open finding stays open), no error: only counted
    assert not result.findings
    assert "i-1" not in result.passed
    assert "i-1" not in result.not_evaluated
    assert result.skipped == {"not enough data": 1}


def test_trusted_advisor_mode_needs_four_idle_days_of_fourteen():
    assert _one("b" * 10 + "i" * 4, TRUSTED_ADVISOR).findings
    assert not _one("b" * 11 + "i" * 3, TRUSTED_ADVISOR).findings
    # three days of data cannot show four idle days: not enough data, not active
    result = _one("." * 11 + "iii", TRUSTED_ADVISOR)
    assert result.skipped == {"not enough data": 1}


def test_verdict_counts_and_maxima():
    verdict = judge_usage(DailyUsage("i-1", days("ib.i")), Settings(idle_lookback_days=4))
    assert verdict.verdict is Verdict.NOT_ENOUGH_DATA
    assert (verdict.idle_days, verdict.days_with_data, verdict.window_days) == (2, 3, 4)
    assert verdict.max_cpu_percent == 55.0
    assert verdict.last_day_idle


def test_unreadable_metrics_are_not_evaluated():
    snap = snapshot([instance("i-1"), instance("i-2")], {"i-2": IDLE_14})
    result = detect_idle(snap, SETTINGS, NOW)
    assert result.not_evaluated == frozenset({"i-1"})
    unread = replace(snap, usage=None)
    assert detect_idle(unread, SETTINGS, NOW).not_evaluated == frozenset({"i-1", "i-2"})


def test_stopped_and_gone_instances_pass():
    snap = snapshot([instance("i-1", state="stopped")], {}, missing=("i-9",))
    result = detect_idle(snap, SETTINGS, NOW)
    assert result.passed == frozenset({"i-1", "i-9"})
    assert result.skipped == {"not running (stopped)": 1}


def test_a_start_event_passes_the_instance_whatever_its_history():
    snap = snapshot(
        [instance("i-1", tags=marked(NOW - timedelta(days=5), NOW - timedelta(days=2)))],
        {"i-1": IDLE_14},
        trigger="state:running",
    )
    result = detect_idle(snap, SETTINGS, NOW)
    assert not result.findings and result.passed == frozenset({"i-1"})


def test_protected_instance_is_still_reported_idle_and_protected():
    (finding,) = _one(IDLE_14, tags={PROTECT: ""}).findings
    assert finding.details["stage"] == "protected" and finding.details["protected"] is True
    assert "(protected)" in finding.title
    assert "will not stop it" in finding.description


def test_marked_stage_names_the_deadline_from_the_tag():
    tags = marked(NOW - timedelta(hours=10), NOW + timedelta(hours=62))
    (finding,) = _one(IDLE_14, tags=tags).findings
    assert finding.details["stage"] == "marked"
    assert "2026-03-04T02:00:00Z" in finding.description


@pytest.mark.parametrize(
    ("mode", "words"),
    [(Mode.ENFORCE, "so ec2-warden stops it;"), (Mode.AUDIT, "in enforce mode ec2-warden would stop it")],
)
def test_due_stage_says_what_this_mode_does(mode, words):
    tags = marked(NOW - timedelta(hours=80), NOW - timedelta(hours=8))
    (finding,) = _one(IDLE_14, Settings(mode=mode), tags=tags).findings
    assert finding.details["stage"] == "due"
    assert words in finding.description


def test_past_deadline_but_active_last_day_awaits_the_recheck():
    tags = marked(NOW - timedelta(hours=80), NOW - timedelta(hours=8))
    (finding,) = _one("i" * 13 + "b", TRUSTED_ADVISOR, tags=tags).findings
    assert finding.details["stage"] == "awaiting-recheck"


def test_unmarked_finding_text_does_not_move_with_the_clock():
    # GIVEN notify mode, where no tags are written WHEN two sweeps an hour apart judge the same facts
    snap = snapshot([instance("i-1")], {"i-1": IDLE_14})
    first = detect_idle(snap, SETTINGS, NOW).findings[0]
    later = detect_idle(snap, SETTINGS, NOW + timedelta(hours=1)).findings[0]
    # THEN title and description are equal, so the finding is not re-posted as changed
    assert (first.title, first.description) == (later.title, later.description)


def test_stopped_by_warden_keeps_its_finding_with_the_text_the_stopping_sweep_posted():
    # GIVEN an instance due for a stop in enforce mode, and the same instance after the stop
    enforce = Settings(mode=Mode.ENFORCE)
    tags = marked(NOW - timedelta(hours=80), NOW - timedelta(hours=8))
    (due,) = _one(IDLE_14, enforce, tags=tags).findings
    stopped = instance("i-1", state="stopped", tags={**tags, STOPPED_BY: "2026-03-01T12:00:00Z"})
    result = detect_idle(snapshot([stopped]), enforce, NOW + timedelta(hours=1))
    # THEN the finding stays open, unchanged, so repeating the stopping sweep re-posts nothing
    (after,) = result.findings
    assert after.details["stage"] == "stopped"
    assert (after.title, after.description) == (due.title, due.description)
    assert "i-1" not in result.passed


def test_in_enforce_mode_the_new_deadline_is_named_as_the_next_sweep_will_name_it():
    enforce = Settings(mode=Mode.ENFORCE)
    (first,) = _one(IDLE_14, enforce).findings
    tags = marked(NOW, NOW + timedelta(hours=72))
    (second,) = detect_idle(
        snapshot([instance("i-1", tags=tags)], {"i-1": IDLE_14}), enforce, NOW + timedelta(hours=1)
    ).findings
    assert (first.details["stage"], second.details["stage"]) == ("to-mark", "marked")
    assert first.description == second.description
