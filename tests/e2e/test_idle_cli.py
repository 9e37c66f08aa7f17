"""The idle lifecycle as a user runs it: `sweep --mode enforce --now ...` against moto's server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from devtools.idle_fleet import seed_idle_fleet
from tests.e2e.test_cli import cli, client, endpoint, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.network_local


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _tags(ec2, instance_id):
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return {t["Key"]: t["Value"] for t in instance.get("Tags", [])}, instance["State"]["Name"]


def test_mark_then_stop_past_the_deadline_from_the_command_line(server):  # noqa: F811
    # GIVEN a month-idle lab box and a protected twin, metrics seeded up to past the deadline
    ec2 = client("ec2", server)
    now = (datetime.now(UTC) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    later = now + timedelta(hours=73)
    fleet = seed_idle_fleet(ec2, client("cloudwatch", server), until=later + timedelta(hours=1))
    lab, guarded = fleet.instances["forgotten-lab-box"], fleet.instances["protected-idle"]
    args = ("sweep", "--endpoint-url", server, "--mode", "enforce", "--yes", "--format", "json")
    # WHEN swept now THEN the lab box gets its deadline
    first = cli(*args, "--now", _iso(now))
    assert first.returncode == 0, first.stderr
    assert _tags(ec2, lab)[0]["warden:stop-after"] == _iso(now + timedelta(hours=72))
    # WHEN swept past the deadline THEN it is stopped and the protected one runs on
    done = cli(*args, "--now", _iso(later))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [a["kind"] for a in report["actions"] if a["kind"].endswith("-idle")] == ["stop-idle"]
    tags, state = _tags(ec2, lab)
    assert state == "stopped" and tags["warden:stopped-by"] == _iso(later)
    assert _tags(ec2, guarded)[1] == "running"
    # AND the table shows the sprawl census
    table = cli("sweep", "--endpoint-url", server, "--now", _iso(later))
    assert "sprawl: running" in table.stdout and "stopped by warden 1" in table.stdout
