"""Duplicates and races, run CONCURRENTLY: two runs in two threads, held at a barrier before the
first write of either (both have read the fleet and Security Hub and planned), and again before the
write that must not double (both have also passed the stop's re-read), then let go together.

Counted from the requests the product itself sent (provide-client-params hooks on each run's own
clients), never from moto's records: 0 instances in two StopInstances, 0 instances in two
SendCommands, and Security Hub left with one consistent finding per instance and check.

moto runs in process (mock_aws works across threads). devtools/moto_dynamodb.py makes its
conditional writes atomic, as DynamoDB's are. The control test shows the same race without
LEASE_TABLE doubling the stop: the harness can fail."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.clients import AwsClients
from chalicelib.apply.lease import LEASE_HELD
from chalicelib.events.scope import sweep_scope
from chalicelib.model import CheckName, FindingStatus, Mode, Report
from chalicelib.pipeline import run, run_event
from chalicelib.settings import Settings
from devtools import events, moto_dynamodb, moto_ssm
from devtools.idle_fleet import seed_idle_fleet

REGION = "us-east-1"
TABLE = "ec2-warden-test-leases"
NOW = (datetime.now(UTC) + timedelta(hours=1)).replace(minute=5, second=0, microsecond=0)
PAST_DEADLINE = NOW + timedelta(hours=73)
BARRIER_TIMEOUT_S = 30


@pytest.fixture
def aws(monkeypatch):
    moto_dynamodb.install()
    with mock_aws():
        moto_dynamodb.create_lease_table(boto3.client("dynamodb", region_name=REGION), TABLE)
        yield
    moto_dynamodb.uninstall()


SERVICES = ("ec2", "ssm", "securityhub", "dynamodb", "cloudwatch")


class Run:
    """One delivery: its own clients, the write requests it sent, and its two holds."""

    def __init__(self, first_write: threading.Barrier, contested: threading.Barrier, hold_before: str) -> None:
        self.clients = AwsClients(REGION, max_attempts=2)
        self.sent: dict[str, list[list[str]]] = {"StopInstances": [], "SendCommand": []}
        self.holds: list[str] = []
        self._barriers = {"first write": first_write, hold_before: contested}
        self._hold_before = hold_before
        self.clients.ec2.meta.events.register("provide-client-params.ec2.StopInstances", self._record)
        self.clients.get("ssm").meta.events.register("provide-client-params.ssm.SendCommand", self._record)
        for service in SERVICES:
            self.clients.get(service).meta.events.register(f"before-call.{service}", self._hold)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.sent[model.name].append(list(params["InstanceIds"]))

    def _hold(self, model: Any, **_: Any) -> None:
        if model.name.startswith(("Describe", "Get", "List")):
            return
        for point in ("first write", f"{model.service_model.service_name}:{model.name}"):
            if point in self._barriers and point not in self.holds:  # each hold once: then they race
                self.holds.append(point)
                self._barriers[point].wait(timeout=BARRIER_TIMEOUT_S)


def race(*deliveries: Callable[[AwsClients], Report], hold_before: str) -> tuple[list[Report], list[Run]]:
    first_write, contested = threading.Barrier(len(deliveries)), threading.Barrier(len(deliveries))
    runs = [Run(first_write, contested, hold_before) for _ in deliveries]
    with ThreadPoolExecutor(len(deliveries)) as pool:
        futures = [pool.submit(d, r.clients) for d, r in zip(deliveries, runs, strict=True)]
        reports = [f.result(timeout=120) for f in futures]
    # Both runs were held at both points: they read before either wrote, and reached the contested write together.
    assert all(r.holds == ["first write", hold_before] for r in runs), [r.holds for r in runs]
    assert not first_write.broken and not contested.broken
    return reports, runs


def per_instance(runs: list[Run], operation: str) -> Counter[str]:
    return Counter(i for r in runs for ids in r.sent[operation] for i in ids)


def enforce(**extra: Any) -> Settings:
    return Settings(mode=Mode.ENFORCE, region=REGION, lease_table=TABLE, **extra)


def hub_state() -> dict[str, tuple[str, str]]:
    hub = boto3.client("securityhub", region_name=REGION)
    pages = hub.get_paginator("get_findings").paginate()
    return {f["Id"]: (f["RecordState"], f["Compliance"]["Status"]) for p in pages for f in p["Findings"]}


def assert_no_flapping(reports: list[Report]) -> None:
    """Both runs saw the same world and said the same thing; Security Hub holds exactly that, open."""
    found = [sorted(f.id for f in r.findings) for r in reports]
    assert all(f == found[0] for f in found) and found[0]
    assert all(r.resolved == [] for r in reports)
    state = hub_state()
    assert sorted(state) == found[0]
    assert set(state.values()) == {("ACTIVE", "FAILED")}


# --- stop: two sweeps overlapping -----------------------------------------------------------------


@pytest.fixture
def due_for_stop(aws, ssm_manages_every_instance):
    """An idle fleet, marked by a first sweep, now past its deadline."""
    world = boto3.session.Session(region_name=REGION)  # seeds moto; the sweep uses the product's clients
    fleet = seed_idle_fleet(world.client("ec2"), world.client("cloudwatch"), until=PAST_DEADLINE + timedelta(hours=2))
    run(sweep_scope(region=REGION), enforce(), AwsClients(REGION), NOW)
    return fleet


def sweep(settings: Settings, now: datetime) -> Callable[[AwsClients], Report]:
    return lambda clients: run(sweep_scope(region=REGION), settings, clients, now)


def test_two_overlapping_sweeps_stop_an_idle_instance_once(due_for_stop):
    lab = due_for_stop.instances["forgotten-lab-box"]
    # WHEN two sweeps run at once, both held until both are about to take the stop lease
    reports, runs = race(
        sweep(enforce(), PAST_DEADLINE), sweep(enforce(), PAST_DEADLINE), hold_before="dynamodb:PutItem"
    )
    # THEN the instance is in exactly one StopInstances request, and the other run says why it skipped
    assert per_instance(runs, "StopInstances") == {lab: 1}
    stops = [next(a for a in r.actions if a.kind.value == "stop-idle") for r in reports]
    assert all(a.done and a.error is None for a in stops)
    assert sum(LEASE_HELD in a.reason for a in stops) == 1
    assert sum(r.api_calls.get("dynamodb:PutItem", 0) for r in reports) == 2  # one per run, the one instance
    assert_no_flapping(reports)
    # AND a later sweep changes only what the stop explains: the stopped box's idle finding resolves
    after = run(sweep_scope(region=REGION), enforce(), AwsClients(REGION), PAST_DEADLINE + timedelta(hours=1))
    assert FindingStatus.NEW not in after.statuses.values()
    assert {r.split("/")[-1] for r in after.resolved} <= {lab}


def test_without_lease_table_the_same_race_stops_twice(due_for_stop):
    # The control: the harness reproduces the race the lease exists for (README: LEASE_TABLE unset).
    lab = due_for_stop.instances["forgotten-lab-box"]
    no_lease = Settings(mode=Mode.ENFORCE, region=REGION)
    _, runs = race(sweep(no_lease, PAST_DEADLINE), sweep(no_lease, PAST_DEADLINE), hold_before="ec2:StopInstances")
    assert per_instance(runs, "StopInstances") == {lab: 2}


# --- patch: the same event twice, an event against the sweep, two sweeps ---------------------------


@pytest.fixture
def unpatched(aws):
    ec2 = boto3.client("ec2", region_name=REGION)
    ids = []
    for _ in range(3):  # one reservation each: moto pages DescribeInstances by reservation
        ids.append(ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"])
    for iid in ids:
        moto_ssm.FLEET.register(iid, region=REGION, patch=moto_ssm.PatchFacts(missing=6, security=2))
    return ids


def launch_event(ids: list[str]) -> Callable[[AwsClients], Report]:
    event = events.run_instances(ids, "sg-0123456789abcdef0")
    return lambda clients: run_event(event, enforce(), clients, NOW)


def patch_outcome(report: Report):
    return next(a for a in report.actions if a.kind.value == "patch")


def test_a_launch_event_delivered_twice_at_once_sends_one_command_per_instance(unpatched):
    reports, runs = race(launch_event(unpatched), launch_event(unpatched), hold_before="dynamodb:PutItem")
    assert per_instance(runs, "SendCommand") == dict.fromkeys(unpatched, 1)
    assert all(patch_outcome(r).done and patch_outcome(r).error is None for r in reports)
    assert_no_flapping(reports)


def test_a_launch_event_racing_the_sweep_sends_one_command_per_instance(unpatched):
    reports, runs = race(launch_event(unpatched[:1]), sweep(enforce(), NOW), hold_before="dynamodb:PutItem")
    assert per_instance(runs, "SendCommand") == dict.fromkeys(unpatched, 1)
    # The event's finding is the sweep's too, and Security Hub holds each once, open.
    (event_report, sweep_report) = reports
    assert {f.id for f in event_report.findings} <= {f.id for f in sweep_report.findings}
    assert set(hub_state().values()) == {("ACTIVE", "FAILED")}
    assert all(r.resolved == [] for r in reports)


def test_two_overlapping_sweeps_send_one_command_per_instance(unpatched):
    reports, runs = race(sweep(enforce(), NOW), sweep(enforce(), NOW), hold_before="dynamodb:PutItem")
    assert per_instance(runs, "SendCommand") == dict.fromkeys(unpatched, 1)
    assert sum(r.api_calls.get("dynamodb:PutItem", 0) for r in reports) == 2 * len(unpatched)
    assert {f.check for r in reports for f in r.findings} >= {CheckName.PATCH_NONCOMPLIANT}
    assert_no_flapping(reports)
