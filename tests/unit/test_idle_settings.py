"""Idle settings: defaults, parsing, and messages that name the variable."""

from __future__ import annotations

import pytest

from chalicelib.settings import SETTING_NAMES, Settings, SettingsError, load_settings

IDLE_VARS = (
    "IDLE_LOOKBACK_DAYS",
    "IDLE_CPU_PERCENT",
    "IDLE_NETWORK_MB",
    "IDLE_MIN_DAYS",
    "IDLE_GRACE_HOURS",
    "STOPPED_MAX_DAYS",
)


def test_defaults_reproduce_trusted_advisor_thresholds_on_every_day():
    settings = load_settings({})
    assert (settings.idle_lookback_days, settings.idle_cpu_percent, settings.idle_network_mb) == (14, 10.0, 5.0)
    assert settings.idle_min_days is None and settings.idle_days_needed == 14
    assert (settings.idle_grace_hours, settings.stopped_max_days) == (72, 30)
    assert set(IDLE_VARS) <= set(SETTING_NAMES)


def test_values_are_read_from_the_environment():
    settings = load_settings(
        {
            "IDLE_LOOKBACK_DAYS": "21",
            "IDLE_CPU_PERCENT": "2.5",
            "IDLE_NETWORK_MB": "0.5",
            "IDLE_MIN_DAYS": "4",
            "IDLE_GRACE_HOURS": "24",
            "STOPPED_MAX_DAYS": "90",
        }
    )
    assert settings == Settings(
        idle_lookback_days=21,
        idle_cpu_percent=2.5,
        idle_network_mb=0.5,
        idle_min_days=4,
        idle_grace_hours=24,
        stopped_max_days=90,
    )
    assert settings.idle_days_needed == 4


def test_min_days_defaults_to_a_changed_window():
    assert load_settings({"IDLE_LOOKBACK_DAYS": "7"}).idle_days_needed == 7


@pytest.mark.parametrize(
    ("var", "raw"),
    [
        ("IDLE_LOOKBACK_DAYS", "0"),
        ("IDLE_LOOKBACK_DAYS", "91"),
        ("IDLE_LOOKBACK_DAYS", "two weeks"),
        ("IDLE_CPU_PERCENT", "101"),
        ("IDLE_CPU_PERCENT", "-1"),
        ("IDLE_CPU_PERCENT", "nan"),
        ("IDLE_CPU_PERCENT", "ten"),
        ("IDLE_NETWORK_MB", "inf"),
        ("IDLE_NETWORK_MB", "-0.1"),
        ("IDLE_MIN_DAYS", "0"),
        ("IDLE_GRACE_HOURS", "0"),
        ("IDLE_GRACE_HOURS", "1.5"),
        ("STOPPED_MAX_DAYS", "0"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(var, raw):
    with pytest.raises(SettingsError, match=var):
        load_settings({var: raw})


def test_min_days_cannot_exceed_the_window():
    with pytest.raises(SettingsError, match="IDLE_MIN_DAYS=15 is more than IDLE_LOOKBACK_DAYS=14"):
        load_settings({"IDLE_MIN_DAYS": "15"})
