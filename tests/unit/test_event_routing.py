"""Routing an event to the account it belongs to: pure decisions over settings and identities."""

from __future__ import annotations

import pytest

from chalicelib.events.routing import needs_home_account, needs_organization, route_event
from chalicelib.events.scope import Scope
from chalicelib.settings import SettingsError, load_settings

HOME = "123456789012"
MEMBER = "222222222222"
STRANGER = "999999999999"


def event_of(account: str | None, region: str = "us-east-1") -> Scope:
    return Scope("AuthorizeSecurityGroupIngress", account, region, "ev-1", group_ids=frozenset({"sg-12345678"}))


def test_unset_allowed_accounts_keeps_the_own_account_boundary_and_own_credentials():
    settings = load_settings({})
    assert route_event(event_of(HOME), settings, HOME, "us-east-1").member is None
    outside = route_event(event_of(MEMBER), settings, HOME, "us-east-1")
    assert outside.member is None and "ALLOWED_ACCOUNTS" in (outside.scope.ignored or "")
    assert not needs_home_account(event_of(MEMBER), settings)  # nothing to look up: no AWS call


def test_a_listed_member_is_judged_with_its_role_and_the_home_account_with_its_own():
    settings = load_settings({"ALLOWED_ACCOUNTS": f"{HOME},{MEMBER}"})
    member = route_event(event_of(MEMBER), settings, HOME, "us-east-1")
    assert (member.member, member.scope.ignored) == (MEMBER, None)
    assert route_event(event_of(HOME), settings, HOME, "us-east-1").member is None


def test_an_unlisted_account_is_ignored_with_a_reason_and_no_role():
    settings = load_settings({"ALLOWED_ACCOUNTS": MEMBER})
    route = route_event(event_of(STRANGER), settings, HOME, "us-east-1")
    assert route.member is None
    assert route.scope.ignored == f"account {STRANGER} is not one this deployment serves (ALLOWED_ACCOUNTS)"


def test_a_served_member_in_a_region_not_served_is_ignored():
    settings = load_settings({"ALLOWED_ACCOUNTS": MEMBER, "SWEEP_REGIONS": "us-east-1"})
    route = route_event(event_of(MEMBER, "eu-west-1"), settings, HOME, "us-east-1")
    assert route.member is None and "SWEEP_REGIONS" in (route.scope.ignored or "")


def test_organization_serves_its_active_accounts_only():
    settings = load_settings({"ALLOWED_ACCOUNTS": "organization"})
    assert settings.serves_organization and needs_organization(event_of(MEMBER), settings)
    org = {HOME, MEMBER}
    assert route_event(event_of(MEMBER), settings, HOME, "us-east-1", org).member == MEMBER
    stranger = route_event(event_of(STRANGER), settings, HOME, "us-east-1", org)
    assert stranger.member is None and "not an ACTIVE account of the organisation" in (stranger.scope.ignored or "")
    with pytest.raises(ValueError, match="organisation's accounts"):
        route_event(event_of(MEMBER), settings, HOME, "us-east-1", None)


def test_an_already_ignored_event_needs_no_lookup():
    settings = load_settings({"ALLOWED_ACCOUNTS": "organization"})
    ignored = Scope("DescribeInstances", MEMBER, "us-east-1", ignored="not a call ec2-warden responds to")
    assert not needs_organization(ignored, settings) and not needs_home_account(ignored, settings)
    assert route_event(ignored, settings, HOME, "us-east-1").scope is ignored


@pytest.mark.parametrize("raw", ["organization,111122223333", ","])
def test_allowed_accounts_organization_stands_alone(raw):
    with pytest.raises(SettingsError, match="ALLOWED_ACCOUNTS"):
        load_settings({"ALLOWED_ACCOUNTS": raw})
