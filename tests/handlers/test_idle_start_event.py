"""The state-change handler with a running event: an idle-marked instance its owner started is unmarked.

Chalice's test client runs the real handler with the prod stage's variables (WARDEN_MODE=enforce)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from chalice.test import Client

import app as warden_app
from chalicelib.rules.idle import IDLE_SINCE, STOP_AFTER, format_time
from devtools.chalice_context import lambda_timeout
from devtools.idle_fleet import launch_one
from tests.conftest import LOCAL_EVENTS, PROJECT_DIR

FIXTURE = LOCAL_EVENTS / "ec2-instance-state-change-running.json"


def test_a_running_event_unmarks_the_instance_in_enforce_mode(ec2):
    # GIVEN an instance marked idle with a deadline that has passed, and two days of no metrics
    now = datetime.now(UTC)
    marks = {IDLE_SINCE: format_time(now - timedelta(days=4)), STOP_AFTER: format_time(now - timedelta(days=1))}
    instance_id = launch_one(ec2, "lab-box", marks)
    event = json.loads(FIXTURE.read_text().replace("i-abcd1111", instance_id))
    # WHEN EventBridge delivers its running state change to the handler
    with (
        lambda_timeout(PROJECT_DIR, "prod"),
        Client(warden_app.app, stage_name="prod", project_dir=str(PROJECT_DIR)) as client,
    ):
        response = client.lambda_.invoke("on_instance_state_change", event)
    # THEN the report says it unmarked it, and the tags are gone
    report = response.payload
    assert report["mode"] == "enforce" and report["trigger"] == "state:running"
    (unmark,) = [a for a in report["actions"] if a["kind"] == "unmark-idle"]
    assert unmark["done"] and unmark["resource_ids"] == [instance_id]
    tags = {
        t["Key"] for t in ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["Tags"]
    }
    assert not {IDLE_SINCE, STOP_AFTER} & tags
    assert "sprawl" in report
