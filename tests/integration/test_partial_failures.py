"""Partial failures through the whole pipeline: one finding, one instance or one read fails, it is
reported by name, and the rest proceeds. (Adapter-level cases live beside their adapters:
StopInstances IncorrectInstanceState in test_idle_ec2_adapter.py, SendCommand InvalidInstanceId in
test_ssm_patch_adapter.py, FailedFindings retried once in test_securityhub_adapter.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from chalicelib.adapters.clients import AwsClients
from chalicelib.apply.ec2 import stop_idle
from chalicelib.apply.lease import with_lease
from chalicelib.events.scope import sweep_scope
from chalicelib.model import Action, ActionKind, Mode, Snapshot
from chalicelib.pipeline import run
from chalicelib.rules.idle import STOPPED_BY, format_time
from chalicelib.settings import Settings, load_settings
from devtools import moto_dynamodb, moto_ssm
from devtools.faults import FaultInjector
from devtools.fleet import seed_exposure_fleet
from tests.integration.test_idle_ec2_adapter import NOW as DUE_NOW
from tests.integration.test_idle_ec2_adapter import _launch_due

REGION = "us-east-1"
NOW = datetime.now(UTC) + timedelta(hours=1)


def test_a_finding_security_hub_refuses_is_named_and_the_others_are_imported(ec2, ssm_manages_every_instance):
    # GIVEN an exposed fleet, and a Security Hub that answers 200 but refuses one finding every time
    seed_exposure_fleet(ec2)
    clients = AwsClients(REGION, max_attempts=2)
    hub = clients.securityhub
    refused: list[str] = []  # the one finding id Security Hub refuses, chosen from the first call
    in_call: list[str] = []  # whether the current call carried it (then the answer names it)

    def drop_it(params: dict[str, Any], **_: Any) -> None:
        if not refused:
            refused.append(sorted(f["Id"] for f in params["Findings"])[0])
        in_call[:] = [f["Id"] for f in params["Findings"] if f["Id"] == refused[0]]
        if len(params["Findings"]) > 1:  # it never reaches Security Hub's store
            params["Findings"] = [f for f in params["Findings"] if f["Id"] != refused[0]]

    def alone(**_: Any) -> Any:
        # The retry carries the refused finding alone: Security Hub answers without storing it.
        return (SimpleNamespace(status_code=200, headers={}), {"SuccessCount": 0}) if lone[0] else None

    def name_it(parsed: dict[str, Any], **_: Any) -> None:
        # Response shape of the BatchImportFindings API reference: a 200 with FailedFindings.
        for finding_id in in_call:
            parsed["FailedCount"] = parsed.get("FailedCount", 0) + 1
            parsed.setdefault("FailedFindings", []).append(
                {"Id": finding_id, "ErrorCode": "InvalidInput", "ErrorMessage": "refused (injected)"}
            )

    lone = [False]
    calls: list[int] = []  # findings per BatchImportFindings request the product made

    def note_lone(params: dict[str, Any], **_: Any) -> None:
        calls.append(len(params["Findings"]))
        lone[0] = len(params["Findings"]) == 1 and params["Findings"][0]["Id"] == refused[0]

    hub.meta.events.register("provide-client-params.securityhub.BatchImportFindings", note_lone)
    hub.meta.events.register("provide-client-params.securityhub.BatchImportFindings", drop_it)
    hub.meta.events.register("before-call.securityhub.BatchImportFindings", alone)
    hub.meta.events.register("after-call.securityhub.BatchImportFindings", name_it)
    # WHEN a notify sweep imports
    report = run(sweep_scope(region=REGION), load_settings({}, mode=Mode.NOTIFY), clients, NOW)
    # THEN the refused finding is named (after one retry), the others are in Security Hub
    (imported,) = [a for a in report.actions if a.kind is ActionKind.IMPORT_FINDINGS]
    assert imported.done is True and list(imported.failed_ids) == refused
    assert "InvalidInput: refused (injected)" in (imported.error or "")
    assert calls == [len(report.findings), 1]  # the batch, then the one retry of the refused finding
    stored = {f["Id"] for f in boto3.client("securityhub", region_name=REGION).get_findings()["Findings"]}
    assert stored == {f.id for f in report.findings} - set(refused)
    assert any(e.where == "action:import-findings" and refused[0] in e.message for e in report.errors)


def test_throttled_patch_states_leave_the_patch_check_not_evaluated_and_resolve_nothing(ec2):
    # GIVEN managed instances with open patch-noncompliant findings
    ids = [
        ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"] for _ in "ab"
    ]
    for iid in ids:
        moto_ssm.FLEET.register(iid, region=REGION, patch=moto_ssm.PatchFacts(missing=6, security=2))
    notify = load_settings({}, mode=Mode.NOTIFY, region=REGION)
    first = run(sweep_scope(region=REGION), notify, AwsClients(REGION), NOW)
    assert {f.resource_id for f in first.findings if f.check.value == "patch-noncompliant"} == set(ids)
    # WHEN DescribeInstancePatchStates is throttled past every retry (and nothing else is)
    clients = AwsClients(REGION, max_attempts=2)
    FaultInjector(rate=1.0, kinds=("Throttling",)).attach(clients.get("ssm"), "DescribeInstancePatchStates")
    report = run(sweep_scope(region=REGION), load_settings({}, mode=Mode.ENFORCE, region=REGION), clients, NOW)
    # THEN those instances are not evaluated, their findings stay open, no patch is sent, the rest ran
    errors = {e.where: e.message for e in report.errors}
    assert "ssm:DescribeInstancePatchStates" in errors
    assert all(i in errors["patch-noncompliant"] for i in ids)
    assert report.resolved == []
    assert "ssm:SendCommand" not in report.api_calls
    assert report.api_calls["ssm:DescribeInstanceInformation"] == 1  # the other SSM read still ran
    assert "securityhub:GetFindings" in report.api_calls


def test_a_stop_refused_for_one_instance_gives_its_lease_back_and_keeps_the_others(clients, ec2, dynamodb):
    # GIVEN two instances due for a stop, one of which EC2 refuses to stop (DisableApiStop)
    moto_dynamodb.install()
    moto_dynamodb.create_lease_table(dynamodb, "leases")
    free, guarded = _launch_due(ec2, "free"), _launch_due(ec2, "guarded", DisableApiStop=True)
    settings = Settings(mode=Mode.ENFORCE, region=REGION, lease_table="leases")
    action = with_lease(
        Action(ActionKind.STOP_IDLE, (free, guarded), "stop", params={"tags": {STOPPED_BY: format_time(DUE_NOW)}}),
        settings,
        "run-a",
        REGION,
    )
    outcome = stop_idle(action, Snapshot("123456789012", REGION, DUE_NOW, True, (), {}), clients, DUE_NOW)
    # THEN the refusal is reported for that instance only, and only its lease is given back
    assert outcome.failed_ids == (guarded,)
    held = {
        i: dynamodb.get_item(TableName="leases", Key={"pk": {"S": f"stop#{i}"}}).get("Item") for i in (free, guarded)
    }
    assert held[free]["holder"] == {"S": "run-a"} and held[guarded] is None


@pytest.fixture
def ec2(aws):
    return boto3.client("ec2", region_name=REGION)
