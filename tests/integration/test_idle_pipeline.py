"""The idle lifecycle through the whole pipeline against moto: detection quality, marking, the stop
after the deadline, protection, idempotent repeats, the start event, and the sprawl census."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.events.scope import sweep_scope
from chalicelib.model import CheckName, Mode
from chalicelib.pipeline import run, run_event
from chalicelib.rules.idle import IDLE_SINCE, STOP_AFTER, STOPPED_BY, format_time
from chalicelib.settings import Settings
from devtools.idle_fleet import IDLE, NO_VERDICT, backdate_stop, put_daily_usage, seed_idle_fleet
from devtools.idle_fleet import QUIET as QUIET_DAY
from tests.conftest import LOCAL_EVENTS

# The idle story only: every instance is SSM-managed and patched, so no other check writes.
pytestmark = pytest.mark.usefixtures("ssm_manages_every_instance")

REGION = "us-east-1"
# After moto's launch times (wall clock): EC2 resets LaunchTime at start, and a launch after the
# mark would read as a restart.
NOW = (datetime.now(UTC) + timedelta(hours=1)).replace(minute=5, second=0, microsecond=0)
PAST_DEADLINE = NOW + timedelta(hours=73)
FIXTURE = LOCAL_EVENTS / "ec2-instance-state-change-running.json"


@pytest.fixture
def fleet(clients, ec2, cloudwatch):
    # metrics up to past the deadline, so the run that stops has its most recent day
    return seed_idle_fleet(ec2, cloudwatch, until=PAST_DEADLINE + timedelta(hours=2))


def _sweep(clients, mode=Mode.ENFORCE, now=NOW, **settings):
    return run(sweep_scope(region=REGION), Settings(mode=mode, **settings), clients, now)


def _writes(clients, action):
    before = clients.counter.writes()
    result = action()
    after = clients.counter.writes()
    return result, {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def _tags(ec2, instance_id):
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return {t["Key"]: t["Value"] for t in reservations[0]["Instances"][0].get("Tags", [])}


def _state(ec2, instance_id):
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return reservations[0]["Instances"][0]["State"]["Name"]


def _idle_ids(report):
    return {f.resource_id for f in report.findings if f.check is CheckName.IDLE}


def _action(report, kind):
    return next(a for a in report.actions if a.kind.value == kind)


def test_precision_and_recall_are_one_on_the_seeded_fleet(clients, fleet):
    # GIVEN idle, busy, bursty, network-heavy, young, no-data and protected instances
    # WHEN an audit sweep judges them
    report = _sweep(clients, Mode.AUDIT)
    found = _idle_ids(report)
    expected = fleet.ids(IDLE)
    # THEN exactly the idle ones are found: precision and recall 1.0
    precision = len(found & expected) / len(found)
    recall = len(found & expected) / len(expected)
    assert (precision, recall) == (1.0, 1.0)
    assert not found & fleet.ids(NO_VERDICT)
    assert report.sprawl["not_enough_data"] == len(fleet.ids(NO_VERDICT)) == 2
    assert report.sprawl["idle_protected"] == 1
    # 7 running instances: 21 queries, one GetMetricData call
    assert report.api_calls["cloudwatch:GetMetricData"] == 1
    assert not [e for e in report.errors if e.where.startswith("cloudwatch")]


def test_audit_and_notify_print_the_marks_but_write_no_tags(clients, fleet, ec2):
    for mode in (Mode.AUDIT, Mode.NOTIFY):
        report, writes = _writes(clients, lambda mode=mode: _sweep(clients, mode))
        mark = _action(report, "mark-idle")
        assert not mark.done
        # what enforce would do, with the deadline it would set
        assert mark.reason.startswith(f"{mode.value} mode: not applied (")
        assert format_time(NOW + timedelta(hours=72)) in mark.reason
        assert mark.resource_ids == (fleet.instances["forgotten-lab-box"],)
        assert "ec2:CreateTags" not in writes
    assert IDLE_SINCE not in _tags(ec2, fleet.instances["forgotten-lab-box"])


def test_the_forgotten_lab_box_is_marked_then_stopped_and_the_protected_one_left_alone(clients, fleet, ec2):
    lab, guarded = fleet.instances["forgotten-lab-box"], fleet.instances["protected-idle"]
    # WHEN an enforce sweep runs
    first = _sweep(clients)
    # THEN the lab box carries a deadline grace hours ahead; the protected box carries none
    assert _action(first, "mark-idle").done
    assert _tags(ec2, lab)[IDLE_SINCE] == format_time(NOW)
    assert _tags(ec2, lab)[STOP_AFTER] == format_time(NOW + timedelta(hours=72))
    assert IDLE_SINCE not in _tags(ec2, guarded)
    assert first.sprawl["marked"] == 0  # the census describes the fleet as the run found it

    # WHEN the same sweep runs again THEN nothing is written at all
    again, writes = _writes(clients, lambda: _sweep(clients))
    assert writes == {}
    assert again.sprawl["marked"] == 1

    # WHEN a sweep runs past the deadline THEN the lab box is stopped and says so; the protected one runs
    late = _sweep(clients, now=PAST_DEADLINE)
    assert _action(late, "stop-idle").done
    assert _state(ec2, lab) == "stopped"
    assert _tags(ec2, lab)[STOPPED_BY] == format_time(PAST_DEADLINE)
    assert _state(ec2, guarded) == "running"
    (lab_finding,) = [f for f in late.findings if f.resource_id == lab and f.check is CheckName.IDLE]
    assert "ec2-warden stops it" in lab_finding.description

    # WHEN that sweep repeats THEN nothing is written, and the census counts the stop
    repeat, writes = _writes(clients, lambda: _sweep(clients, now=PAST_DEADLINE))
    assert writes == {}
    assert repeat.sprawl["stopped_by_warden"] == 1
    assert repeat.sprawl["by_environment"]["lab"]["stopped_by_warden"] == 1


def test_a_start_event_unmarks_and_resolves(clients, fleet, ec2):
    lab = fleet.instances["forgotten-lab-box"]
    _sweep(clients)
    _sweep(clients, now=PAST_DEADLINE)
    assert _state(ec2, lab) == "stopped"
    # WHEN its owner starts it and EventBridge delivers the running state change
    ec2.start_instances(InstanceIds=[lab])
    event = json.loads(FIXTURE.read_text().replace("i-abcd1111", lab))
    report = run_event(event, Settings(mode=Mode.ENFORCE), clients, PAST_DEADLINE + timedelta(minutes=5))
    # THEN every lifecycle tag is gone and the idle finding is resolved
    assert report.trigger == "state:running"
    assert _action(report, "unmark-idle").done
    assert not {IDLE_SINCE, STOP_AFTER, STOPPED_BY} & set(_tags(ec2, lab))
    assert any(fid.endswith(f"/idle/{lab}") for fid in report.resolved)


def test_stopped_by_someone_else_is_unmarked(clients, fleet, ec2):
    lab = fleet.instances["forgotten-lab-box"]
    _sweep(clients)
    ec2.stop_instances(InstanceIds=[lab])
    report = _sweep(clients, now=NOW + timedelta(hours=1))
    assert _action(report, "unmark-idle").resource_ids == (lab,)
    assert IDLE_SINCE not in _tags(ec2, lab)
    assert any(fid.endswith(f"/idle/{lab}") for fid in report.resolved)


def test_unparsable_marks_are_repaired_by_the_sweep(clients, fleet, ec2):
    lab = fleet.instances["forgotten-lab-box"]
    ec2.create_tags(Resources=[lab], Tags=[{"Key": STOP_AFTER, "Value": "when pigs fly"}])
    report = _sweep(clients)
    assert _action(report, "mark-idle").done
    assert _tags(ec2, lab)[STOP_AFTER] == format_time(NOW + timedelta(hours=72))
    assert "stop-idle" not in {a.kind.value for a in report.actions}


def test_long_stopped_instances_are_a_low_finding(clients, fleet, ec2):
    young = fleet.instances["young-box"]
    ec2.stop_instances(InstanceIds=[young])
    backdate_stop(young, NOW - timedelta(days=45), region=REGION)
    report = _sweep(clients, Mode.AUDIT)
    (finding,) = [f for f in report.findings if f.check is CheckName.STOPPED_LONG]
    assert finding.resource_id == young and finding.severity.value == "LOW"
    assert report.sprawl["stopped_long"] == 1


def test_get_metric_data_calls_are_queries_over_500_for_a_large_fleet(clients, ec2, cloudwatch):
    # GIVEN 610 running instances (one reservation keeps moto fast), metrics seeded for one
    ec2 = ec2
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId="ami-12c6146b", MinCount=610, MaxCount=610)["Instances"]]
    put_daily_usage(cloudwatch, ids[0], [QUIET_DAY] * 14, NOW)
    # WHEN swept
    report = _sweep(clients, Mode.AUDIT)
    # THEN GetMetricData is called ceil(3 x 610 / 500) = 4 times, never once per instance
    assert report.api_calls["cloudwatch:GetMetricData"] == math.ceil(3 * 610 / 500) == 4
    assert _idle_ids(report) == {ids[0]}
    assert report.sprawl["running"] == 610
