"""Property-based tests of the idle lifecycle over generated snapshots (hypothesis).

Whatever the tags (valid, garbage, partial), states, usage gaps, trigger and settings:
never stop a protected instance, never before its deadline, never one whose most recent day is not
idle, never one that is not running; unmark always clears both marks; the same sweep twice plans
nothing the second time; and the order of the snapshot does not change the plan."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.rules.idle import (
    IDLE_SINCE,
    PROTECT,
    STOP_AFTER,
    STOPPED_BY,
    day_is_idle,
    format_time,
    is_protected,
    read_mark,
    restarted_since_marked,
)
from chalicelib.settings import Settings
from tests.unit.idle_builders import NOW, carry_out, idle_actions, instance, plan_for, snapshot

STATES = ["running"] * 5 + ["stopped", "pending", "stopping", "terminated"]
GARBAGE = st.sampled_from(["", "soon", "2026-02-30T00:00:00Z", "1700000000", "2026-03-01T12:00:00+99:00"])
HOURS = st.integers(min_value=0, max_value=24 * 10)
# Weighted towards the interesting stages: marked with a deadline just passed or just ahead.
MARKS = st.sampled_from(["none", "past", "past", "past", "future", "garbage", "partial"])
DAY = st.sampled_from("iiiiiibn.c")
PATTERNS = st.one_of(
    st.just("i" * 14),
    DAY.map(lambda last: "i" * 13 + last),  # the re-check day varies
    st.lists(DAY, min_size=14, max_size=14).map("".join),
)


@st.composite
def instances(draw, index: int):
    tags: dict[str, str] = {}
    kind = draw(MARKS)
    if kind in ("past", "future"):
        offset = timedelta(hours=draw(HOURS))
        deadline = NOW - offset if kind == "past" else NOW + offset + timedelta(seconds=1)
        tags[IDLE_SINCE] = format_time(deadline - timedelta(hours=draw(st.integers(min_value=1, max_value=200))))
        tags[STOP_AFTER] = format_time(deadline)
    elif kind == "garbage":
        tags[IDLE_SINCE] = draw(st.one_of(GARBAGE, st.just(format_time(NOW))))
        tags[STOP_AFTER] = draw(GARBAGE)
    elif kind == "partial":
        tags[draw(st.sampled_from([IDLE_SINCE, STOP_AFTER]))] = format_time(NOW - timedelta(hours=draw(HOURS)))
    if draw(st.integers(min_value=0, max_value=5)) == 0:
        tags[STOPPED_BY] = draw(st.one_of(GARBAGE, st.just(format_time(NOW - timedelta(days=1)))))
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        tags[PROTECT] = draw(st.sampled_from(["", "true", "no"]))  # any value protects, even "no"
    launched = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=24 * 60)))
    return instance(
        f"i-{index:08x}",
        state=draw(st.sampled_from(STATES)),
        tags=tags,
        launch_time=None if launched is None else NOW - timedelta(hours=launched),
    )


@st.composite
def fleets(draw):
    count = draw(st.integers(min_value=1, max_value=6))
    members = [draw(instances(n)) for n in range(count)]
    patterns = {}
    for member in members:
        if draw(st.integers(min_value=0, max_value=9)) > 0:  # sometimes metrics are unreadable
            patterns[member.id] = draw(PATTERNS)
    trigger = draw(st.sampled_from(["sweep", "sweep", "sweep", "state:running", "RunInstances"]))
    tuning = Settings(
        idle_min_days=draw(st.one_of(st.none(), st.integers(min_value=1, max_value=14))),
        idle_grace_hours=draw(st.integers(min_value=1, max_value=200)),
    )
    return snapshot(members, patterns, trigger=trigger), tuning


@st.composite
def due_candidates(draw):
    """Running instances past their deadline: only usage, protection and IDLE_MIN_DAYS vary."""
    members = []
    patterns = {}
    for index in range(draw(st.integers(min_value=1, max_value=5))):
        deadline = NOW - timedelta(hours=draw(HOURS))
        tags = {IDLE_SINCE: format_time(deadline - timedelta(hours=72)), STOP_AFTER: format_time(deadline)}
        if draw(st.integers(min_value=0, max_value=3)) == 0:
            tags[PROTECT] = ""
        member = instance(f"i-{index:08x}", tags=tags, launch_time=deadline - timedelta(days=90))
        members.append(member)
        patterns[member.id] = draw(PATTERNS)
    tuning = Settings(idle_min_days=draw(st.one_of(st.none(), st.integers(min_value=1, max_value=14))))
    return snapshot(members, patterns), tuning


PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


@PROPERTY_SETTINGS
@given(st.one_of(fleets(), due_candidates()))
def test_stops_only_what_is_running_unprotected_past_its_deadline_and_idle_again(fleet):
    snap, tuning = fleet
    stop = idle_actions(plan_for(snap, tuning)).get("stop-idle")
    if stop is None:
        return
    by_id = {i.id: i for i in snap.instances}
    for instance_id in stop.resource_ids:
        target = by_id[instance_id]
        assert target.state == "running"
        assert not is_protected(target.tags)
        mark = read_mark(target.tags)
        assert mark is not None and mark.stop_after <= NOW
        assert day_is_idle(snap.usage[instance_id].days[-1], tuning)
        assert not restarted_since_marked(target)
        assert snap.trigger != "state:running"


@PROPERTY_SETTINGS
@given(fleets())
def test_unmark_always_clears_both_marks(fleet):
    snap, tuning = fleet
    unmark = idle_actions(plan_for(snap, tuning)).get("unmark-idle")
    if unmark is not None:
        assert {IDLE_SINCE, STOP_AFTER, STOPPED_BY} <= set(unmark.params["keys"])


@PROPERTY_SETTINGS
@given(fleets())
def test_one_instance_is_never_both_stopped_and_marked_or_unmarked(fleet):
    snap, tuning = fleet
    actions = idle_actions(plan_for(snap, tuning))
    stopped = set(actions["stop-idle"].resource_ids) if "stop-idle" in actions else set()
    for kind in ("mark-idle", "unmark-idle"):
        if kind in actions:
            assert not stopped & set(actions[kind].resource_ids)


@PROPERTY_SETTINGS
@given(fleets())
def test_the_same_sweep_twice_plans_nothing_the_second_time(fleet):
    snap, tuning = fleet
    first = plan_for(snap, tuning)
    second = plan_for(carry_out(snap, first), tuning)
    assert idle_actions(second) == {}


@PROPERTY_SETTINGS
@given(fleets(), st.randoms(use_true_random=False))
def test_the_plan_does_not_depend_on_the_order_of_the_snapshot(fleet, rng):
    snap, tuning = fleet
    shuffled = list(snap.instances)
    rng.shuffle(shuffled)
    plan_a = plan_for(snap, tuning)
    plan_b = plan_for(replace(snap, instances=tuple(shuffled)), tuning)
    assert plan_a.actions == plan_b.actions
    assert plan_a.findings == plan_b.findings
