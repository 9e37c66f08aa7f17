"""Settings: defaults, validation messages that name the variable, and the README table."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from chalicelib.model import Mode
from chalicelib.settings import SETTING_NAMES, Settings, SettingsError, load_settings
from tests.conftest import PROJECT_DIR


def test_defaults_are_safe():
    settings = load_settings({})
    assert settings.mode is Mode.AUDIT
    assert settings.open_cidrs == ("0.0.0.0/0", "::/0")
    assert 22 in settings.critical_ports and 5432 in settings.high_ports


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"WARDEN_MODE": "destroy"}, "WARDEN_MODE"),
        ({"EXPOSURE_OPEN_CIDRS": "everything"}, "EXPOSURE_OPEN_CIDRS"),
        ({"EXPOSURE_OPEN_CIDRS": ","}, "EXPOSURE_OPEN_CIDRS"),
        ({"EXPOSURE_CRITICAL_PORTS": "22,ssh"}, "EXPOSURE_CRITICAL_PORTS"),
        ({"EXPOSURE_HIGH_PORTS": "70000"}, "EXPOSURE_HIGH_PORTS"),
        ({"FINDING_REFRESH_HOURS": "-1"}, "FINDING_REFRESH_HOURS"),
        ({"FINDING_REFRESH_HOURS": "soon"}, "FINDING_REFRESH_HOURS"),
        ({"AWS_MAX_ATTEMPTS": "0"}, "AWS_MAX_ATTEMPTS"),
        ({"AWS_REGION": "moon-base"}, "AWS_REGION"),
        ({"SWEEP_SCHEDULE": "every hour"}, "SWEEP_SCHEDULE"),
        ({"SWEEP_SCHEDULE": "rate(0 hours)"}, "SWEEP_SCHEDULE"),
        ({"SWEEP_SCHEDULE": "rate(an hour)"}, "SWEEP_SCHEDULE"),
        ({"EXPOSURE_CRITICAL_PORTS": "22", "EXPOSURE_HIGH_PORTS": "22"}, "EXPOSURE_HIGH_PORTS"),
    ],
)
def test_a_bad_value_names_its_variable(env, variable):
    with pytest.raises(SettingsError, match=variable):
        load_settings(env)


def test_flags_override_the_environment():
    assert load_settings({"WARDEN_MODE": "notify"}, mode=Mode.ENFORCE).mode is Mode.ENFORCE
    with pytest.raises(SettingsError):
        load_settings({}, colour="blue")


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        load_settings({}).mode = Mode.ENFORCE  # type: ignore[misc]
    assert isinstance(load_settings({}), Settings)


def test_the_readme_lists_every_setting():
    readme = (PROJECT_DIR / "README.md").read_text()
    listed = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", readme, flags=re.M))
    assert set(SETTING_NAMES) <= listed


@pytest.mark.parametrize(
    ("schedule", "interval"),
    [
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(6 hours)", timedelta(hours=6)),
        ("rate(15 minutes)", timedelta(minutes=15)),
        ("rate(1 day)", timedelta(days=1)),
        ("cron(0 * * * ? *)", None),
    ],
)
def test_the_sweep_interval_is_read_from_a_rate_schedule(schedule, interval):
    assert load_settings({"SWEEP_SCHEDULE": schedule}).sweep_interval == interval
