"""The environment map and launch-hygiene settings: parsed, defaulted, and refused with the variable named."""

from __future__ import annotations

import pytest

from chalicelib.settings import SETTING_NAMES, SettingsError, load_settings


def test_defaults_describe_a_conventional_estate():
    # GIVEN no environment map at all
    settings = load_settings({})
    # THEN the defaults are the documented ones
    assert settings.environment_tag == "Environment"
    assert settings.production_environments == ("prod", "production")
    assert settings.non_production_environments == ("lab", "dev", "test", "staging", "sandbox", "qa")
    assert settings.required_tags == ("Owner", "Environment")
    assert settings.ami_max_age_days == 90
    assert settings.production_accounts == settings.production_vpcs == settings.production_subnets == ()


def test_ids_and_environments_are_parsed_and_environments_lowercased():
    settings = load_settings(
        {
            "PRODUCTION_ACCOUNTS": "111122223333, 444455556666",
            "PRODUCTION_VPCS": "vpc-0123456789abcdef0,vpc-12345678",
            "PRODUCTION_SUBNETS": "subnet-0123456789abcdef0",
            "NON_PRODUCTION_VPCS": "vpc-87654321",
            "NON_PRODUCTION_CIDRS": "10.30.0.0/16, 192.168.50.7/24",
            "PRODUCTION_ENVIRONMENTS": "Prod, LIVE",
            "NON_PRODUCTION_ENVIRONMENTS": "lab,uat",
            "ENVIRONMENT_TAG": "env",
            "REQUIRED_TAGS": "Owner, CostCentre",
            "AMI_MAX_AGE_DAYS": "30",
        }
    )
    assert settings.production_accounts == ("111122223333", "444455556666")
    assert settings.production_vpcs == ("vpc-0123456789abcdef0", "vpc-12345678")
    assert settings.production_subnets == ("subnet-0123456789abcdef0",)
    assert settings.non_production_vpcs == ("vpc-87654321",)
    assert settings.non_production_cidrs == ("10.30.0.0/16", "192.168.50.0/24")
    assert settings.production_environments == ("prod", "live")
    assert settings.non_production_environments == ("lab", "uat")
    assert settings.environment_tag == "env"
    assert settings.required_tags == ("Owner", "CostCentre")
    assert settings.ami_max_age_days == 30


@pytest.mark.parametrize(
    ("env", "variable", "says"),
    [
        ({"PRODUCTION_VPCS": "subnet-0123456789abcdef0"}, "PRODUCTION_VPCS", "not a VPC id"),
        ({"PRODUCTION_VPCS": "vpc-XYZ"}, "PRODUCTION_VPCS", "not a VPC id"),
        ({"NON_PRODUCTION_VPCS": "sg-12345678"}, "NON_PRODUCTION_VPCS", "not a VPC id"),
        ({"PRODUCTION_SUBNETS": "vpc-12345678"}, "PRODUCTION_SUBNETS", "not a subnet id"),
        ({"PRODUCTION_ACCOUNTS": "12345"}, "PRODUCTION_ACCOUNTS", "12-digit"),
        ({"NON_PRODUCTION_CIDRS": "10.30.0.0/33"}, "NON_PRODUCTION_CIDRS", "not a CIDR"),
        ({"AMI_MAX_AGE_DAYS": "-1"}, "AMI_MAX_AGE_DAYS", "out of range"),
        ({"AMI_MAX_AGE_DAYS": "ninety"}, "AMI_MAX_AGE_DAYS", "whole number"),
        ({"PRODUCTION_ENVIRONMENTS": "pr*d"}, "PRODUCTION_ENVIRONMENTS", "not an environment tag value"),
        ({"PRODUCTION_ENVIRONMENTS": ","}, "PRODUCTION_ENVIRONMENTS", "lists no environment"),
        ({"ENVIRONMENT_TAG": "aws:env"}, "ENVIRONMENT_TAG", "aws:"),
        ({"REQUIRED_TAGS": "Owner,Cost{Centre}"}, "REQUIRED_TAGS", "not a tag key"),
    ],
)
def test_bad_values_fail_at_start_naming_the_variable(env, variable, says):
    with pytest.raises(SettingsError) as raised:
        load_settings(env)
    assert variable in str(raised.value)
    assert says in str(raised.value)


def test_an_environment_in_both_lists_is_refused_naming_both_variables():
    # GIVEN "staging" declared production while the default non-production list also holds it
    with pytest.raises(SettingsError) as raised:
        load_settings({"PRODUCTION_ENVIRONMENTS": "prod,Staging"})
    message = str(raised.value)
    assert "PRODUCTION_ENVIRONMENTS" in message and "NON_PRODUCTION_ENVIRONMENTS" in message
    assert "staging" in message


def test_a_vpc_both_production_and_not_is_refused():
    with pytest.raises(SettingsError, match="PRODUCTION_VPCS and NON_PRODUCTION_VPCS"):
        load_settings({"PRODUCTION_VPCS": "vpc-12345678", "NON_PRODUCTION_VPCS": "vpc-12345678"})


def test_every_new_setting_is_public():
    for name in (
        "ENVIRONMENT_TAG",
        "PRODUCTION_ENVIRONMENTS",
        "NON_PRODUCTION_ENVIRONMENTS",
        "PRODUCTION_ACCOUNTS",
        "PRODUCTION_VPCS",
        "PRODUCTION_SUBNETS",
        "NON_PRODUCTION_VPCS",
        "NON_PRODUCTION_CIDRS",
        "REQUIRED_TAGS",
        "AMI_MAX_AGE_DAYS",
    ):
        assert name in SETTING_NAMES


def test_warden_checks_defaults_to_every_check_and_accepts_all_or_a_subset():
    from chalicelib.model import CheckName

    every = tuple(c.value for c in CheckName)
    assert load_settings({}).checks == every
    assert load_settings({"WARDEN_CHECKS": "ALL"}).checks == every
    assert load_settings({"WARDEN_CHECKS": "launch-hygiene, Environment-Drift"}).checks == (
        "launch-hygiene",
        "environment-drift",
    )


@pytest.mark.parametrize("raw", ["lab-drift", "public-exposure,idle-ness", ","])
def test_warden_checks_refuses_unknown_names(raw):
    with pytest.raises(SettingsError, match="WARDEN_CHECKS"):
        load_settings({"WARDEN_CHECKS": raw})


def test_only_enabled_checks_run():
    from datetime import UTC, datetime

    from chalicelib.checks import run_checks
    from chalicelib.model import Snapshot

    snapshot = Snapshot("111122223333", "eu-west-1", datetime(2026, 6, 1, tzinfo=UTC), True, (), {})
    settings = load_settings({"WARDEN_CHECKS": "environment-drift"})
    assert [r.check.value for r in run_checks(snapshot, settings, snapshot.taken_at)] == ["environment-drift"]
