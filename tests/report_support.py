"""A seeded fleet for the audit-report tests: exposure, idle, patch and a hostile tag value, swept once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto import mock_aws

from chalicelib.adapters.clients import AwsClients
from chalicelib.events.scope import sweep_scope
from chalicelib.model import Mode, Report
from chalicelib.pipeline import run
from chalicelib.rules.idle import IDLE_SINCE, STOP_AFTER, format_time
from chalicelib.settings import Settings
from devtools import moto_securityhub, moto_ssm
from devtools.fleet import seed_exposure_fleet
from devtools.idle_fleet import QUIET, launch_one, put_daily_usage, seed_idle_fleet
from devtools.moto_ssm import FLEET, PatchFacts

REGION = "us-east-1"
DAYS = 15  # one more than the idle look-back window: every story judged, the least metric data
HOSTILE = "<script>alert(1)</script>"
# After moto's launch times (wall clock), like the idle pipeline tests.
NOW = (datetime.now(UTC) + timedelta(hours=1)).replace(minute=5, second=0, microsecond=0)


def seed_audit_fleet(ec2: Any, cloudwatch: Any, *, every_idle_story: bool = True) -> dict[str, str]:
    """Instances by story: every exposure story, the idle stories (all, or just the forgotten lab box
    for a quicker seed), two unpatched boxes, and an idle box whose Owner tag is a script."""
    stories = dict(seed_exposure_fleet(ec2).instances)
    if every_idle_story:
        stories.update(seed_idle_fleet(ec2, cloudwatch, until=NOW, month=DAYS).instances)
    else:
        lab = launch_one(ec2, "forgotten-lab-box", {"Environment": "lab", "Owner": "alice"})
        put_daily_usage(cloudwatch, lab, [QUIET] * DAYS, NOW)
        stories["forgotten-lab-box"] = lab
        stories["busy-web"] = launch_one(ec2, "busy-web", {"Environment": "prod", "Owner": "web-team"})
        stories["bursty-batch"] = launch_one(ec2, "bursty-batch", {"Environment": "prod", "Owner": "data-team"})
    hostile = launch_one(ec2, "hostile-owner", {"Owner": HOSTILE, "Environment": "lab"})
    put_daily_usage(cloudwatch, hostile, [QUIET] * DAYS, NOW)
    stories["hostile-owner"] = hostile
    # The lifecycle tags enforce mode writes: a stop deadline tomorrow.
    ec2.create_tags(
        Resources=[stories["forgotten-lab-box"]],
        Tags=[
            {"Key": IDLE_SINCE, "Value": format_time(NOW - timedelta(days=2))},
            {"Key": STOP_AFTER, "Value": format_time(NOW + timedelta(hours=30))},
        ],
    )
    FLEET.manage_every_instance()
    FLEET.register(stories["busy-web"], region=REGION, patch=PatchFacts(missing=4, critical=2, security=1))
    FLEET.register(stories["bursty-batch"], region=REGION, patch=PatchFacts(missing=3))
    return stories


def audit_sweep(clients: AwsClients, mode: Mode = Mode.AUDIT, now: datetime = NOW) -> Report:
    return run(sweep_scope(region=REGION), Settings(mode=mode), clients, now)


@contextmanager
def swept_fleet(mode: Mode = Mode.AUDIT, *, every_idle_story: bool = True) -> Iterator[tuple[Report, dict[str, str]]]:
    """A fleet seeded and swept once under its own mock_aws, for a module of tests that only read it."""
    moto_ssm.install()
    moto_securityhub.install()
    try:
        with mock_aws():
            ec2 = boto3.client("ec2", region_name=REGION)
            cloudwatch = boto3.client("cloudwatch", region_name=REGION)
            stories = seed_audit_fleet(ec2, cloudwatch, every_idle_story=every_idle_story)
            yield audit_sweep(AwsClients(REGION, max_attempts=2), mode), stories
    finally:
        FLEET.reset()
