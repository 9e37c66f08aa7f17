"""The idle lifecycle plan: mark, unmark, stop, protect, repair; and the same sweep twice plans nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.model import ACTION_MODES, ActionKind, Mode
from chalicelib.rules.idle import IDLE_SINCE, LIFECYCLE_KEYS, PROTECT, STOP_AFTER, STOPPED_BY
from chalicelib.settings import Settings
from tests.unit.idle_builders import IDLE_14, NOW, carry_out, idle_actions, instance, marked, plan_for, snapshot

TRUSTED_ADVISOR = Settings(idle_min_days=4)
BEFORE = marked(NOW - timedelta(hours=10), NOW + timedelta(hours=62))  # deadline ahead
PAST = marked(NOW - timedelta(hours=80), NOW - timedelta(hours=8))  # deadline passed


def _plan(instances, patterns, settings=None, trigger="sweep"):
    return plan_for(snapshot(instances, patterns, trigger=trigger), settings)


def test_lifecycle_actions_run_in_enforce_mode_only():
    for kind in (ActionKind.MARK_IDLE, ActionKind.UNMARK_IDLE, ActionKind.STOP_IDLE):
        assert ACTION_MODES[kind] == frozenset({Mode.ENFORCE})


def test_idle_and_unmarked_is_marked_with_a_deadline_grace_hours_ahead():
    plan = _plan([instance("i-1"), instance("i-2")], {"i-1": IDLE_14, "i-2": IDLE_14}, Settings(idle_grace_hours=48))
    action = idle_actions(plan)["mark-idle"]
    # one action, so one CreateTags call for every instance that shares these tags
    assert action.resource_ids == ("i-1", "i-2")
    assert action.params["tags"] == {IDLE_SINCE: "2026-03-01T12:00:00Z", STOP_AFTER: "2026-03-03T12:00:00Z"}
    assert set(idle_actions(plan)) == {"mark-idle"}


def test_marked_before_the_deadline_plans_nothing():
    assert idle_actions(_plan([instance("i-1", tags=BEFORE)], {"i-1": IDLE_14})) == {}


def test_past_the_deadline_and_idle_again_is_stopped_and_tagged():
    plan = _plan([instance("i-1", tags=PAST)], {"i-1": IDLE_14})
    action = idle_actions(plan)["stop-idle"]
    assert action.resource_ids == ("i-1",)
    assert action.params["tags"] == {STOPPED_BY: "2026-03-01T12:00:00Z"}


@pytest.mark.parametrize("last_day", ["b", "n", "."])
def test_past_the_deadline_is_not_stopped_when_the_recheck_is_not_idle(last_day):
    # Trusted Advisor mode lets an instance be idle while its most recent day was busy or empty
    plan = _plan([instance("i-1", tags=PAST)], {"i-1": "i" * 13 + last_day}, TRUSTED_ADVISOR)
    assert "stop-idle" not in idle_actions(plan)
    assert "unmark-idle" not in idle_actions(plan)


def test_protected_is_never_stopped_and_carries_no_deadline():
    plan = _plan([instance("i-1", tags={**PAST, PROTECT: "yes"})], {"i-1": IDLE_14})
    actions = idle_actions(plan)
    assert set(actions) == {"unmark-idle"}
    assert actions["unmark-idle"].params["why"] == {"i-1": "protected"}
    assert [f.details["stage"] for f in plan.findings] == ["protected"]
    assert idle_actions(_plan([instance("i-1", tags={PROTECT: ""})], {"i-1": IDLE_14})) == {}


def test_active_again_is_unmarked_of_all_lifecycle_tags():
    plan = _plan([instance("i-1", tags=BEFORE)], {"i-1": "i" * 13 + "b"})
    action = idle_actions(plan)["unmark-idle"]
    assert action.resource_ids == ("i-1",)
    assert set(action.params["keys"]) == set(LIFECYCLE_KEYS)


def test_a_start_event_unmarks_even_without_fresh_data():
    # GIVEN a marked instance with two days of data (not enough to judge) WHEN its start event runs
    plan = _plan([instance("i-1", tags=PAST)], {"i-1": "." * 12 + "ii"}, trigger="state:running")
    # THEN the marks go, and nothing is stopped
    assert set(idle_actions(plan)) == {"unmark-idle"}
    assert idle_actions(plan)["unmark-idle"].params["why"] == {"i-1": "started"}


def test_stopped_by_someone_else_is_unmarked_and_our_own_stop_is_left_alone():
    theirs = instance("i-1", state="stopped", tags=BEFORE)
    ours = instance("i-2", state="stopped", tags={**PAST, STOPPED_BY: "2026-02-28T00:00:00Z"})
    plan = _plan([theirs, ours], {})
    assert idle_actions(plan)["unmark-idle"].resource_ids == ("i-1",)
    assert set(idle_actions(plan)) == {"unmark-idle"}


@pytest.mark.parametrize("state", ["pending", "stopping", "shutting-down", "terminated"])
def test_transitional_states_are_left_to_the_next_sweep(state):
    assert idle_actions(_plan([instance("i-1", state=state, tags=PAST)], {"i-1": IDLE_14})) == {}


@pytest.mark.parametrize(
    "tags",
    [
        {IDLE_SINCE: "yesterday", STOP_AFTER: "2026-03-02T00:00:00Z"},
        {IDLE_SINCE: "2026-02-27T00:00:00Z", STOP_AFTER: "next tuesday"},
        {STOP_AFTER: "2026-02-27T00:00:00Z"},  # half a mark
        {IDLE_SINCE: "", STOP_AFTER: "9" * 200},
    ],
)
def test_unparsable_marks_are_treated_as_unmarked_and_repaired(tags):
    # idle: re-marked (CreateTags overwrites both), never stopped on a deadline nobody can read
    idle = idle_actions(_plan([instance("i-1", tags=tags)], {"i-1": IDLE_14}))
    assert set(idle) == {"mark-idle"}
    assert idle["mark-idle"].params["why"] == {"i-1": "repaired unparsable marks"}
    # active or not enough data: the garbage is removed
    for pattern in ("b" * 14, "." * 14):
        assert set(idle_actions(_plan([instance("i-1", tags=tags)], {"i-1": pattern}))) == {"unmark-idle"}


def test_valid_marks_are_kept_while_there_is_not_enough_data():
    assert idle_actions(_plan([instance("i-1", tags=BEFORE)], {"i-1": "." * 14})) == {}


def test_started_again_since_marked_gets_a_fresh_grace_period_instead_of_a_stop():
    # GIVEN marks from before a restart (EC2 resets LaunchTime at start) and a passed deadline
    restarted = instance("i-1", tags=PAST, launch_time=NOW - timedelta(hours=2))
    plan = _plan([restarted], {"i-1": IDLE_14})
    actions = idle_actions(plan)
    # THEN the old marks go and new ones come, in that order; no stop
    assert [a.kind.value for a in plan.actions if a.kind.value in actions] == ["unmark-idle", "mark-idle"]
    assert actions["mark-idle"].params["tags"][STOP_AFTER] == "2026-03-04T12:00:00Z"


def test_running_with_our_stopped_by_tag_was_started_by_its_owner():
    tags = {**PAST, STOPPED_BY: "2026-02-28T00:00:00Z"}
    plan = _plan([instance("i-1", tags=tags)], {"i-1": IDLE_14})
    assert set(idle_actions(plan)) == {"unmark-idle", "mark-idle"}
    assert "stop-idle" not in idle_actions(plan)


SCENARIOS = {
    "idle unmarked": (instance("i-1"), IDLE_14),
    "idle protected, marked": (instance("i-1", tags={**PAST, PROTECT: ""}), IDLE_14),
    "due": (instance("i-1", tags=PAST), IDLE_14),
    "active, marked": (instance("i-1", tags=BEFORE), "b" * 14),
    "garbage marks": (instance("i-1", tags={IDLE_SINCE: "?", STOP_AFTER: "?"}), IDLE_14),
    "restarted": (instance("i-1", tags=PAST, launch_time=NOW - timedelta(hours=1)), IDLE_14),
    "restarted after our stop": (instance("i-1", tags={**PAST, STOPPED_BY: "2026-02-28T00:00:00Z"}), IDLE_14),
    "stopped by someone else": (instance("i-1", state="stopped", tags=BEFORE), ""),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_same_sweep_twice_plans_nothing_the_second_time(name):
    # GIVEN a sweep carried out in enforce mode
    inst, pattern = SCENARIOS[name]
    snap = snapshot([inst], {"i-1": pattern} if pattern else {})
    first = plan_for(snap)
    assert idle_actions(first), "the scenario must start with something to do"
    # WHEN the same sweep runs again over what it left
    second = plan_for(carry_out(snap, first))
    # THEN it plans no tag or stop action
    assert idle_actions(second) == {}


def test_a_repeated_notify_sweep_sends_no_second_slack_digest_for_a_mark_it_only_prints():
    # GIVEN notify mode with Slack, an idle unmarked instance, and its finding already posted
    from dataclasses import replace

    from chalicelib.model import PriorFinding

    notify = Settings(mode=Mode.NOTIFY, slack_webhook_url="https://hooks.slack.com/services/T0/B0/x")
    snap = replace(snapshot([instance("i-1")], {"i-1": IDLE_14}), prior_findings={})
    first = plan_for(snap, notify)
    assert "notify-slack" in {a.kind.value for a in first.actions}
    (finding,) = first.findings
    stamp = "2026-03-01T12:00:00.000Z"
    posted = PriorFinding(finding.id, "idle", "i-1", finding.severity, finding.title, finding.description, stamp, stamp)
    # WHEN the next sweep plans the same mark again (notify mode never writes it)
    second = plan_for(replace(snap, prior_findings={finding.id: posted}), notify, NOW + timedelta(minutes=60))
    # THEN the mark is still printed, but Slack hears nothing new
    kinds = {a.kind.value for a in second.actions}
    assert "mark-idle" in kinds
    assert "notify-slack" not in kinds
