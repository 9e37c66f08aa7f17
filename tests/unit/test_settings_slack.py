"""Slack and metrics settings: parsed, validated, and the webhook URL never shown."""

from __future__ import annotations

import pytest

from chalicelib.model import Severity
from chalicelib.settings import SettingsError, load_settings

SECRET_URL = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXsecretXXXXXXXXXX"


def test_defaults_leave_slack_off_and_name_the_namespace() -> None:
    settings = load_settings({})
    assert not settings.slack_enabled
    assert settings.slack_min_severity is Severity.HIGH
    assert settings.metrics_namespace == "ec2-warden"


@pytest.mark.parametrize(
    "env",
    [{"SLACK_WEBHOOK_PARAMETER": "/ec2-warden/slack-webhook"}, {"SLACK_WEBHOOK_URL": SECRET_URL}],
)
def test_either_the_parameter_or_the_url_turns_slack_on(env: dict[str, str]) -> None:
    assert load_settings(env).slack_enabled


def test_the_webhook_url_is_not_in_the_settings_repr() -> None:
    settings = load_settings({"SLACK_WEBHOOK_URL": SECRET_URL})
    assert settings.slack_webhook_url == SECRET_URL
    assert "secret" not in repr(settings) and "hooks.slack.com" not in str(settings)


def test_a_malformed_url_is_refused_without_repeating_it() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({"SLACK_WEBHOOK_URL": "hooks.slack.com/services/T0/B0/sekrit-token-value"})
    assert "SLACK_WEBHOOK_URL" in str(err.value)
    assert "sekrit" not in str(err.value)


@pytest.mark.parametrize(
    ("var", "raw", "field", "value"),
    [
        ("SLACK_MIN_SEVERITY", "critical", "slack_min_severity", Severity.CRITICAL),
        (
            "SLACK_WEBHOOK_PARAMETER",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/x/y",
            "slack_webhook_parameter",
            None,
        ),
        ("METRICS_NAMESPACE", "Security/ec2-warden", "metrics_namespace", "Security/ec2-warden"),
    ],
)
def test_good_values_parse(var: str, raw: str, field: str, value: object) -> None:
    assert getattr(load_settings({var: raw}), field) == (raw if value is None else value)


@pytest.mark.parametrize(
    ("var", "raw"),
    [
        ("SLACK_MIN_SEVERITY", "urgent"),
        ("SLACK_WEBHOOK_PARAMETER", "name with spaces"),
        ("METRICS_NAMESPACE", "AWS/EC2"),
        ("METRICS_NAMESPACE", "has spaces"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(var: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=var):
        load_settings({var: raw})
