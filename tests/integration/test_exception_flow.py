"""A warden:exception tag through the whole pipeline against moto (idle fleet, enforce mode): while
it holds, the idle instance is neither marked, stopped nor announced and its marks go; when it has
ended, the next sweep marks it afresh (never an immediate stop) and its finding is NEW again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.events.scope import sweep_scope
from chalicelib.model import ActionKind, CheckName, FindingStatus, Mode
from chalicelib.pipeline import run
from chalicelib.rules.exceptions import EXCEPTION_TAG
from chalicelib.rules.idle import IDLE_SINCE, STOP_AFTER, STOPPED_BY, format_time
from chalicelib.settings import Settings
from devtools.idle_fleet import seed_idle_fleet
from tests.integration.test_idle_pipeline import NOW, PAST_DEADLINE, _state, _tags

pytestmark = pytest.mark.usefixtures("ssm_manages_every_instance")
REGION = "us-east-1"


@pytest.fixture
def fleet(clients, ec2, cloudwatch):
    return seed_idle_fleet(ec2, cloudwatch, until=PAST_DEADLINE + timedelta(hours=4))


def _sweep(clients, now):
    settings = Settings(mode=Mode.ENFORCE, checks=(CheckName.IDLE.value,), cost_estimates=False)
    return run(sweep_scope(region=REGION), settings, clients, now)


def _hub_finding(clients, finding_id):
    pages = clients.securityhub.get_paginator("get_findings").paginate()
    return next(f for page in pages for f in page["Findings"] if f["Id"] == finding_id)  # moto ignores filters


def _idle_finding(report, instance_id):
    return next((f for f in report.findings if f.check is CheckName.IDLE and f.resource_id == instance_id), None)


def test_an_exception_holds_the_lifecycle_and_its_end_restarts_it_from_marking(clients, ec2, fleet):
    box = fleet.instances["forgotten-lab-box"]
    # GIVEN the idle box was marked and its finding posted
    first = _sweep(clients, NOW)
    assert first.statuses[_idle_finding(first, box).id] is FindingStatus.NEW
    assert STOP_AFTER in _tags(ec2, box)
    # WHEN its owner declares an exception that ends the day before the stop deadline
    until = (PAST_DEADLINE - timedelta(days=1)).date().isoformat()
    ec2.create_tags(Resources=[box], Tags=[{"Key": EXCEPTION_TAG, "Value": f"until={until};reason=test"}])
    held = _sweep(clients, NOW + timedelta(hours=1))
    # THEN the finding is waived (not imported, not announced), no mark or stop is planned, marks go
    assert _idle_finding(held, box) is None
    [waived] = held.exceptions["waived"]
    assert waived["resource_id"] == box and waived["check"] == "idle"
    assert held.exceptions["active"][0]["reason"] == "test"
    unmark = next(a for a in held.actions if a.kind is ActionKind.UNMARK_IDLE)
    assert unmark.done and box in unmark.resource_ids
    assert not any(
        box in a.resource_ids for a in held.actions if a.kind in (ActionKind.MARK_IDLE, ActionKind.STOP_IDLE)
    )
    assert not ({STOP_AFTER, IDLE_SINCE} & set(_tags(ec2, box)))
    # AND Security Hub keeps the finding, SUPPRESSED with a note naming the reason and the end date
    suppress = next(a for a in held.actions if a.kind is ActionKind.SUPPRESS_FINDINGS)
    assert suppress.done and suppress.resource_ids == (waived["finding_id"],)
    stored = _hub_finding(clients, waived["finding_id"])
    assert stored["Workflow"]["Status"] == "SUPPRESSED"
    assert (
        "test" in stored["Note"]["Text"]
        and until in stored["Note"]["Text"]
        and "owner-declared" in stored["Note"]["Text"]
    )
    assert not any(a.kind is ActionKind.SUPPRESS_FINDINGS for a in _sweep(clients, NOW + timedelta(hours=2)).actions)
    # WHEN the next sweep comes after the exception ended and after the old deadline
    after = _sweep(clients, PAST_DEADLINE)
    # THEN the box is marked afresh (a full grace from now), not stopped, and its finding is NEW again
    assert _state(ec2, box) == "running" and STOPPED_BY not in _tags(ec2, box)
    assert _tags(ec2, box)[IDLE_SINCE] == format_time(PAST_DEADLINE)
    finding = _idle_finding(after, box)
    assert after.statuses[finding.id] is FindingStatus.NEW
    assert after.exceptions["returning"] == [finding.id] and after.exceptions["ended"][0]["target"] == box
    reopen = next(a for a in after.actions if a.kind is ActionKind.REOPEN_FINDINGS)
    assert reopen.done and _hub_finding(clients, finding.id)["Workflow"]["Status"] == "NEW"
    assert "exception ended" in _hub_finding(clients, finding.id)["Note"]["Text"]
    # AND the sweep after that sees an ordinary open finding
    later = _sweep(clients, PAST_DEADLINE + timedelta(hours=1))
    assert later.statuses[finding.id] is not FindingStatus.NEW and later.exceptions["returning"] == []


def test_an_unparsable_exception_tag_is_no_exception_and_is_reported(clients, ec2, fleet):
    box = fleet.instances["forgotten-lab-box"]
    ec2.create_tags(Resources=[box], Tags=[{"Key": EXCEPTION_TAG, "Value": "forever, please"}])
    report = _sweep(clients, NOW)
    assert _idle_finding(report, box) is not None and STOP_AFTER in _tags(ec2, box)
    [invalid] = report.exceptions["invalid"]
    assert invalid["instance_id"] == box and "until=" in invalid["error"]
