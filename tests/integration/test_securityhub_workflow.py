"""Workflow.Status RESOLVED on resolved findings (BatchUpdateFindings), and back to NEW on reopen.

moto 5.2.5 has no BatchUpdateFindings: the adapter is tested with botocore's Stubber, answering in
the shapes of the Security Hub API reference (ProcessedFindings, UnprocessedFindings with
FindingIdentifier / ErrorCode / ErrorMessage); the flows run on moto extended by
devtools/moto_securityhub.py (installed for every test by tests/conftest.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from chalicelib.adapters.clients import AwsClients
from chalicelib.adapters.securityhub import SecurityHubAdapter
from chalicelib.apply import apply_plan
from chalicelib.events.scope import sweep_scope
from chalicelib.model import Action, ActionKind, Mode, Plan, Resolution
from chalicelib.pipeline import run, run_event
from chalicelib.rules.asff import NOTE_LIMIT, product_arn, resolution_note
from chalicelib.settings import load_settings
from devtools import events
from devtools.fleet import base_network, launch, make_group, tcp
from tests import builders
from tests.builders import prior_finding, snapshot

pytestmark = pytest.mark.usefixtures("ssm_manages_every_instance")

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ACCOUNT = "123456789012"
ARN = product_arn(ACCOUNT, "us-east-1")
NOTIFY = load_settings({"WARDEN_CHECKS": "public-exposure"}, mode=Mode.NOTIFY)


def ident(n: int) -> dict[str, str]:
    return {"Id": f"finding-{n:03d}", "ProductArn": ARN}


def stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("securityhub", region_name="us-east-1")
    return client, Stubber(client)


class _ArchivedPassed:
    """Matches BatchImportFindings' Findings: these ids, each re-imported PASSED and ARCHIVED."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, list):
            return NotImplemented
        return sorted(f["Id"] for f in other) == self.ids and all(
            f["Compliance"]["Status"] == "PASSED" and f["RecordState"] == "ARCHIVED" for f in other
        )


def update_request(ids: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "FindingIdentifiers": ids,
        "Workflow": {"Status": "RESOLVED"},
        "Note": {"Text": ANY, "UpdatedBy": "ec2-warden"},
    }


def unprocessed(identifier: dict[str, str], code: str, message: str) -> dict[str, Any]:
    return {"FindingIdentifier": identifier, "ErrorCode": code, "ErrorMessage": message}


# --- the adapter, against the Stubber


def test_workflow_updates_go_100_a_call_with_a_note_by_ec2_warden():
    # GIVEN 150 resolved findings
    ids = [ident(n) for n in range(150)]
    client, stub = stubbed()
    for chunk in (ids[:100], ids[100:]):
        request = {**update_request(chunk), "Note": {"Text": f"{len(chunk)} resolved", "UpdatedBy": "ec2-warden"}}
        stub.add_response("batch_update_findings", {"ProcessedFindings": chunk, "UnprocessedFindings": []}, request)
    # WHEN their Workflow.Status is set
    with stub:
        result = SecurityHubAdapter(client).set_workflow_status(
            ids, "RESOLVED", note=lambda batch: f"{len(batch)} resolved"
        )
        stub.assert_no_pending_responses()
    # THEN two calls (100 + 50), each with the note written for its own ids, and every id updated
    assert result.updated == [i["Id"] for i in ids] and result.failed == {}


def test_an_unprocessed_finding_is_reported_by_id_and_the_rest_are_kept():
    ids = [ident(n) for n in range(3)]
    client, stub = stubbed()
    # GIVEN Security Hub processes two and cannot find the third (no retry: it would fail again)
    stub.add_response(
        "batch_update_findings",
        {
            "ProcessedFindings": ids[:2],
            "UnprocessedFindings": [unprocessed(ids[2], "FindingNotFound", "Finding Not Found")],
        },
        update_request(ids),
    )
    with stub:
        result = SecurityHubAdapter(client).set_workflow_status(ids, "RESOLVED", note=lambda _: "why")
        stub.assert_no_pending_responses()
    # THEN the third is named with its error, the two others are updated
    assert result.updated == ["finding-000", "finding-001"]
    assert result.failed == {"finding-002": "FindingNotFound: Finding Not Found"}


def test_a_concurrent_update_is_retried_once_for_that_finding_only():
    ids = [ident(n) for n in range(2)]
    client, stub = stubbed()
    # GIVEN the workflow update meets the import that just archived the finding (AWS names this case)
    stub.add_response(
        "batch_update_findings",
        {
            "ProcessedFindings": ids[:1],
            "UnprocessedFindings": [
                unprocessed(ids[1], "ConcurrentUpdateError", "Concurrent finding updates detected")
            ],
        },
        update_request(ids),
    )
    stub.add_response(
        "batch_update_findings",
        {"ProcessedFindings": [], "UnprocessedFindings": [unprocessed(ids[1], "ConcurrentUpdateError", "again")]},
        update_request(ids[1:]),
    )
    with stub:
        result = SecurityHubAdapter(client).set_workflow_status(ids, "RESOLVED", note=lambda _: "why")
        stub.assert_no_pending_responses()
    # THEN one retry of that id alone, and after it the id is reported, not retried again
    assert result.updated == ["finding-000"]
    assert result.failed == {"finding-001": "ConcurrentUpdateError: again"}


def test_a_call_refused_as_a_whole_fails_its_ids_and_the_next_call_still_goes():
    ids = [ident(n) for n in range(101)]
    client, stub = stubbed()
    stub.add_client_error(
        "batch_update_findings",
        "AccessDeniedException",
        "not authorized",
        403,
        expected_params=update_request(ids[:100]),
    )
    stub.add_response(
        "batch_update_findings", {"ProcessedFindings": ids[100:], "UnprocessedFindings": []}, update_request(ids[100:])
    )
    with stub:
        result = SecurityHubAdapter(client).set_workflow_status(ids, "RESOLVED", note=lambda _: "why")
        stub.assert_no_pending_responses()
    assert result.updated == ["finding-100"]
    assert len(result.failed) == 100 and set(result.failed.values()) == {"AccessDeniedException: not authorized"}


def test_apply_reports_a_workflow_failure_in_failed_ids_and_skips_triaged_findings():
    # GIVEN three open findings: one a person SUPPRESSED, two to resolve
    priors = {f"f-{n}": prior_finding(f"f-{n}", f"i-{n:017x}", updated_at="2026-11-27T11:00:00.000Z") for n in range(3)}
    priors["f-2"] = replace(priors["f-2"], workflow_status="SUPPRESSED")
    resolutions = tuple(Resolution(p.id, p.check, p.resource_id, "the instance is stopped", p) for p in priors.values())
    action = Action(
        ActionKind.RESOLVE_FINDINGS, tuple(priors), "3 open finding(s) no longer hold", resolutions=resolutions
    )
    plan = Plan(findings=(), statuses={}, resolutions=resolutions, actions=(action,))
    client, stub = stubbed()
    stub.add_response(
        "batch_import_findings",
        {"FailedCount": 0, "SuccessCount": 3, "FailedFindings": []},
        {"Findings": _ArchivedPassed(sorted(priors))},
    )
    # AND Security Hub cannot find f-1 when its workflow is set
    arn = product_arn(builders.ACCOUNT, builders.REGION)
    wanted = [{"Id": "f-0", "ProductArn": arn}, {"Id": "f-1", "ProductArn": arn}]
    request = {
        **update_request(wanted),
        "Note": {"Text": "Resolved by ec2-warden: the instance is stopped.", "UpdatedBy": "ec2-warden"},
    }
    stub.add_response(
        "batch_update_findings",
        {
            "ProcessedFindings": wanted[:1],
            "UnprocessedFindings": [unprocessed(wanted[1], "FindingNotFound", "Finding Not Found")],
        },
        request,
    )
    clients = AwsClients(builders.REGION, clients={"securityhub": client})
    # WHEN the plan is applied
    with stub:
        (outcome,) = apply_plan(plan, snapshot([], [], prior=priors), clients, Mode.NOTIFY, NOW)
        stub.assert_no_pending_responses()
    # THEN f-1 is named as failed, f-0 and f-2 are done; the suppressed one got no workflow update
    assert outcome.done is True and outcome.failed_ids == ("f-1",)
    assert "Workflow.Status not set: FindingNotFound" in (outcome.error or "")
    # (the calls are counted in the moto flows below: the Stubber answers before the counting hook runs)


def test_the_note_is_one_reason_when_the_call_shares_it_and_never_over_512():
    assert resolution_note(["the instance is stopped"] * 3) == "Resolved by ec2-warden: the instance is stopped."
    mixed = resolution_note(["the instance is stopped", "the instance no longer exists"])
    assert "ec2-warden/ResolvedBecause" in mixed and len(mixed) <= NOTE_LIMIT
    assert len(resolution_note(["x" * 2000])) == NOTE_LIMIT


# --- the flows, on moto with devtools/moto_securityhub.py


def stored(securityhub: Any, finding_id: str) -> dict[str, Any]:
    pages = securityhub.get_paginator("get_findings").paginate()
    return next(f for page in pages for f in page["Findings"] if f["Id"] == finding_id)  # moto ignores filters


def test_a_resolved_finding_is_resolved_in_the_workflow_and_a_reopened_one_is_new_again(ec2, clients, securityhub):
    # GIVEN an instance with SSH open to the world, flagged by a sweep
    network = base_network(ec2)
    group = make_group(ec2, network, "ssh", [tcp(22, v4="0.0.0.0/0")])
    box = launch(ec2, network, "box", subnet=network.public_subnet, groups=[group])
    run(sweep_scope(region="us-east-1"), NOTIFY, clients, NOW)
    finding_id = f"ec2-warden/{ACCOUNT}/us-east-1/public-exposure/{box}"
    assert stored(securityhub, finding_id)["Workflow"] == {"Status": "NEW"}

    # WHEN the rule is revoked
    ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[tcp(22, v4="0.0.0.0/0")])
    resolved = run_event(events.revoke_ingress(group, 22), NOTIFY, clients, NOW + timedelta(minutes=1)).to_dict()

    # THEN the finding is PASSED, ARCHIVED and RESOLVED, with a note saying why, in one more call
    finding = stored(securityhub, finding_id)
    assert resolved["resolved"] == [finding_id] and resolved["errors"] == []
    assert (finding["Compliance"]["Status"], finding["RecordState"]) == ("PASSED", "ARCHIVED")
    assert finding["Workflow"] == {"Status": "RESOLVED"}
    assert finding["Note"]["Text"] == f"Resolved by ec2-warden: {box} now passes public-exposure."
    assert finding["Note"]["UpdatedBy"] == "ec2-warden"
    assert resolved["api_calls"]["securityhub:BatchImportFindings"] == 1
    assert resolved["api_calls"]["securityhub:BatchUpdateFindings"] == 1

    # WHEN the rule comes back
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[tcp(22, v4="0.0.0.0/0")])
    reopened = run_event(events.authorize_ingress(group, 22), NOTIFY, clients, NOW + timedelta(minutes=2)).to_dict()

    # THEN Security Hub's own reset makes it NEW again: ec2-warden only re-imports it
    finding = stored(securityhub, finding_id)
    assert (finding["Compliance"]["Status"], finding["RecordState"]) == ("FAILED", "ACTIVE")
    assert finding["Workflow"] == {"Status": "NEW"}
    assert "securityhub:BatchUpdateFindings" not in reopened["api_calls"]


def test_a_sweep_resolving_150_findings_sets_the_workflow_in_two_calls(ec2, clients, securityhub):
    # GIVEN 150 exposed instances flagged by a sweep
    network = base_network(ec2)
    group = make_group(ec2, network, "ssh", [tcp(22, v4="0.0.0.0/0")])
    boxes = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=150, MaxCount=150, SubnetId=network.public_subnet, SecurityGroupIds=[group]
    )["Instances"]
    ids = [b["InstanceId"] for b in boxes]
    run(sweep_scope(region="us-east-1"), NOTIFY, clients, NOW)
    # WHEN half are stopped and half terminated, and the next sweep runs
    ec2.stop_instances(InstanceIds=ids[:75])
    ec2.terminate_instances(InstanceIds=ids[75:])
    report = run(sweep_scope(region="us-east-1"), NOTIFY, clients, NOW + timedelta(hours=1)).to_dict()
    # THEN all 150 are resolved: two imports and two workflow updates, no more
    assert len(report["resolved"]) == 150 and report["errors"] == []
    assert report["api_calls"]["securityhub:BatchImportFindings"] == 2
    assert report["api_calls"]["securityhub:BatchUpdateFindings"] == 2
    for finding_id in report["resolved"]:
        finding = stored(securityhub, finding_id)
        assert finding["Workflow"] == {"Status": "RESOLVED"}
        assert "ec2-warden/ResolvedBecause" in finding["Note"]["Text"]  # mixed reasons: where to look


def test_a_finding_a_person_suppressed_is_archived_but_stays_suppressed(ec2, clients, securityhub):
    network = base_network(ec2)
    group = make_group(ec2, network, "ssh", [tcp(22, v4="0.0.0.0/0")])
    box = launch(ec2, network, "box", subnet=network.public_subnet, groups=[group])
    run(sweep_scope(region="us-east-1"), NOTIFY, clients, NOW)
    finding_id = f"ec2-warden/{ACCOUNT}/us-east-1/public-exposure/{box}"
    securityhub.batch_update_findings(
        FindingIdentifiers=[{"Id": finding_id, "ProductArn": ARN}], Workflow={"Status": "SUPPRESSED"}
    )
    ec2.stop_instances(InstanceIds=[box])
    report = run(sweep_scope(region="us-east-1"), NOTIFY, clients, NOW + timedelta(hours=1)).to_dict()
    finding = stored(securityhub, finding_id)
    assert report["resolved"] == [finding_id] and finding["RecordState"] == "ARCHIVED"
    assert finding["Workflow"] == {"Status": "SUPPRESSED"}
    assert "securityhub:BatchUpdateFindings" not in report["api_calls"]
