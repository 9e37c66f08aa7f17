"""The trust boundary: events from accounts or regions the deployment does not serve are ignored."""

from __future__ import annotations

from chalicelib.events.scope import Scope
from chalicelib.events.trust import outside_boundary, within_boundary
from chalicelib.settings import load_settings

EVENT = Scope("RunInstances", account="111122223333", region="eu-west-1", instance_ids=frozenset({"i-00000001"}))


def test_own_account_and_region_are_inside_by_default():
    assert outside_boundary(EVENT, load_settings({}), "111122223333", "eu-west-1") is None


def test_another_account_or_region_is_outside_by_default():
    assert "ALLOWED_ACCOUNTS" in outside_boundary(EVENT, load_settings({}), "999999999999", "eu-west-1")
    assert "SWEEP_REGIONS" in outside_boundary(EVENT, load_settings({}), "111122223333", "us-east-1")


def test_settings_widen_or_narrow_the_boundary():
    wide = load_settings({"ALLOWED_ACCOUNTS": "111122223333,444455556666", "SWEEP_REGIONS": "eu-west-1,us-east-1"})
    assert outside_boundary(EVENT, wide, "444455556666", "us-east-1") is None
    narrow = load_settings({"ALLOWED_ACCOUNTS": "444455556666"})
    assert outside_boundary(EVENT, narrow, "111122223333", "eu-west-1") is not None


def test_unknown_own_identity_and_no_settings_accepts_everything():
    assert outside_boundary(EVENT, load_settings({}), None, None) is None


def test_an_outside_scope_is_marked_ignored_and_keeps_its_place():
    marked = within_boundary(EVENT, load_settings({}), "999999999999", "eu-west-1")
    assert marked.ignored and marked.account == EVENT.account and marked.instance_ids == EVENT.instance_ids
