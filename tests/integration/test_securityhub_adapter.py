"""The Security Hub adapter against moto, and against botocore's Stubber where moto cannot fail."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from chalicelib.adapters.securityhub import SecurityHubAdapter
from chalicelib.events.scope import sweep_scope
from chalicelib.model import CheckName, Finding, Mode, Severity
from chalicelib.pipeline import run
from chalicelib.rules.asff import finding_to_asff
from chalicelib.settings import load_settings
from devtools.fleet import seed_exposure_fleet

# Patch loop (issue 4): these tests are about exposure, on a fleet SSM manages and keeps patched.
pytestmark = pytest.mark.usefixtures("ssm_manages_every_instance")

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ACCOUNT = "123456789012"

EXPOSURE_ONLY = {"WARDEN_CHECKS": "public-exposure"}  # the flows here are about exposure findings


def asff(n: int) -> dict:
    finding = Finding(CheckName.PUBLIC_EXPOSURE, f"i-{n:017x}", ACCOUNT, "us-east-1", Severity.HIGH, "t", "d", "r")
    return finding_to_asff(finding, NOW)


def test_imports_are_chunked_by_100(securityhub):
    # moto accepts 101 findings in one call (AWS allows 100): count the calls we make instead.
    calls = []
    securityhub.meta.events.register(
        "provide-client-params.securityhub.BatchImportFindings",
        lambda params, **_: calls.append(len(params["Findings"])),
    )
    result = SecurityHubAdapter(securityhub).import_findings([asff(n) for n in range(201)])
    assert calls == [100, 100, 1]
    assert len(result.imported) == 201 and result.failed == {}


def test_failed_findings_are_retried_once_then_reported():
    client = boto3.client("securityhub", region_name="us-east-1")
    findings = [asff(1), asff(2)]
    with Stubber(client) as stub:
        # Response shape from the BatchImportFindings API reference: FailedCount, SuccessCount, FailedFindings.
        stub.add_response(
            "batch_import_findings",
            {
                "FailedCount": 1,
                "SuccessCount": 1,
                "FailedFindings": [{"Id": findings[1]["Id"], "ErrorCode": "InvalidInput", "ErrorMessage": "bad"}],
            },
            {"Findings": findings},
        )
        stub.add_response(
            "batch_import_findings",
            {
                "FailedCount": 1,
                "SuccessCount": 0,
                "FailedFindings": [{"Id": findings[1]["Id"], "ErrorCode": "InvalidInput", "ErrorMessage": "bad"}],
            },
            {"Findings": [findings[1]]},
        )
        result = SecurityHubAdapter(client).import_findings(findings)
        stub.assert_no_pending_responses()
    assert result.imported == [findings[0]["Id"]]
    assert result.failed == {findings[1]["Id"]: "InvalidInput: bad"}


def test_a_retry_that_succeeds_leaves_no_failure():
    client = boto3.client("securityhub", region_name="us-east-1")
    findings = [asff(1)]
    with Stubber(client) as stub:
        stub.add_response(
            "batch_import_findings",
            {
                "FailedCount": 1,
                "SuccessCount": 0,
                "FailedFindings": [{"Id": findings[0]["Id"], "ErrorCode": "ThrottlingException", "ErrorMessage": "x"}],
            },
            {"Findings": findings},
        )
        stub.add_response(
            "batch_import_findings", {"FailedCount": 0, "SuccessCount": 1, "FailedFindings": []}, {"Findings": findings}
        )
        result = SecurityHubAdapter(client).import_findings(findings)
        stub.assert_no_pending_responses()  # the retry happened
    assert result.failed == {} and result.imported == [findings[0]["Id"]]


def test_open_findings_reads_only_ours_and_only_open(securityhub):
    adapter = SecurityHubAdapter(securityhub)
    adapter.import_findings([asff(1), asff(2)])
    foreign = {**asff(3), "Id": "other-tool/3", "GeneratorId": "other-tool"}
    archived = {**asff(4), "RecordState": "ARCHIVED", "Compliance": {"Status": "PASSED"}}
    securityhub.batch_import_findings(Findings=[foreign, archived])
    found = adapter.open_findings(ACCOUNT, "us-east-1")
    assert set(found) == {asff(1)["Id"], asff(2)["Id"]}
    narrowed = adapter.open_findings(ACCOUNT, "us-east-1", [f"i-{1:017x}"])
    assert set(narrowed) == {asff(1)["Id"]}


def _fail(operation: str, code: str = "UnauthorizedOperation"):
    def hook(**_):
        raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)

    return hook


def test_unreadable_groups_are_reported_and_resolve_nothing(ec2, clients, securityhub):
    seed_exposure_fleet(ec2)
    notify = load_settings(EXPOSURE_ONLY, mode=Mode.NOTIFY)
    first = run(sweep_scope(region="us-east-1"), notify, clients, NOW).to_dict()
    assert first["findings"]
    clients.ec2.meta.events.register("before-call.ec2.DescribeSecurityGroups", _fail("DescribeSecurityGroups"))
    second = run(sweep_scope(region="us-east-1"), notify, clients, NOW).to_dict()
    assert second["findings"] == [] and second["resolved"] == []
    wheres = {e["where"] for e in second["errors"]}
    assert {"ec2:DescribeSecurityGroups", "public-exposure"} <= wheres


def test_security_hub_down_still_reports_findings(ec2, clients):
    seed_exposure_fleet(ec2)
    clients.securityhub.meta.events.register("before-call.securityhub.GetFindings", _fail("GetFindings"))
    clients.securityhub.meta.events.register(
        "before-call.securityhub.BatchImportFindings", _fail("BatchImportFindings", "InternalException")
    )
    report = run(
        sweep_scope(region="us-east-1"), load_settings(EXPOSURE_ONLY, mode=Mode.NOTIFY), clients, NOW
    ).to_dict()
    assert len(report["findings"]) == 8
    assert {f["status"] for f in report["findings"]} == {"unknown"}
    (action,) = report["actions"]
    assert action["done"] is False and "InternalException" in action["error"]
    assert {e["where"] for e in report["errors"]} == {"securityhub:GetFindings", "action:import-findings"}


def test_unreadable_instances_end_the_run_with_an_error(clients, aws):
    clients.ec2.meta.events.register("before-call.ec2.DescribeInstances", _fail("DescribeInstances"))
    report = run(sweep_scope(region="us-east-1"), load_settings(EXPOSURE_ONLY), clients, NOW)
    assert not report.completed
    assert report.errors[0].where == "snapshot" and "UnauthorizedOperation" in report.errors[0].message


@pytest.mark.parametrize("mode", [Mode.AUDIT, Mode.NOTIFY])
def test_no_write_to_ec2_in_any_mode_today(ec2, clients, mode):
    seed_exposure_fleet(ec2)
    report = run(sweep_scope(region="us-east-1"), load_settings(EXPOSURE_ONLY, mode=mode), clients, NOW).to_dict()
    assert not [op for op in report["api_calls"] if op.startswith("ec2:") and not op.startswith("ec2:Describe")]
