"""The SendCommand adapter (chalicelib/apply/ssm.py) against botocore's Stubber.

moto's send_command validates nothing and runs against every instance whatever InstanceIds says, so
its command records cannot tell what ec2-warden asked for. The Stubber checks each request instead.
Shapes: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html and
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateTags.html. SendCommand fails the
whole call with InvalidInstanceId when one id is not a managed node it can reach."""

from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config
from botocore.stub import ANY, Stubber

from chalicelib.apply.ssm import SsmPatchAdapter
from chalicelib.rules.patch_tag import PATCH_REQUESTED_TAG

pytestmark = pytest.mark.disable_socket

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PARAMS = {
    "document": "AWS-RunPatchBaseline",
    "operation": "Install",
    "reboot_option": "NoReboot",
    "max_concurrency": "10%",
    "max_errors": "10%",
    "output_s3_bucket": None,
    "comment": "ec2-warden sweep: patch-noncompliant",
}


def ids(n):
    return [f"i-{k:017x}" for k in range(n)]


def command_id(k):
    return f"0b8e1b2a-1111-2222-3333-{k:012d}"


@pytest.fixture
def clients():
    # One attempt: the throttling case must reach the adapter, not botocore's retry loop.
    config = Config(region_name="us-east-1", retries={"mode": "standard", "max_attempts": 1})
    creds = {"aws_access_key_id": "x", "aws_secret_access_key": "x"}
    ssm = boto3.client("ssm", config=config, **creds)
    ec2 = boto3.client("ec2", config=config, **creds)
    with Stubber(ssm) as ssm_stub, Stubber(ec2) as ec2_stub:
        yield ssm, ssm_stub, ec2, ec2_stub
        ssm_stub.assert_no_pending_responses()
        ec2_stub.assert_no_pending_responses()


def request(chunk, **extra):
    return {
        "InstanceIds": chunk,
        "DocumentName": "AWS-RunPatchBaseline",
        "Parameters": {"Operation": ["Install"], "RebootOption": ["NoReboot"]},
        "MaxConcurrency": "10%",
        "MaxErrors": "10%",
        "Comment": "ec2-warden sweep: patch-noncompliant",
        **extra,
    }


def sent(stub, chunk, k, **extra):
    stub.add_response(
        "send_command",
        {
            "Command": {
                "CommandId": command_id(k),
                "DocumentName": "AWS-RunPatchBaseline",
                "InstanceIds": chunk,
                "Status": "Pending",
            }
        },
        request(chunk, **extra),
    )


def tagged(stub, chunk, k):
    value = f"2026-03-01T12:00:00Z {command_id(k)}"
    stub.add_response("create_tags", {}, {"Resources": chunk, "Tags": [{"Key": PATCH_REQUESTED_TAG, "Value": value}]})


def test_120_targets_go_in_3_commands_of_at_most_50_each_tagged_with_their_command(clients):
    ssm, ssm_stub, ec2, ec2_stub = clients
    targets = ids(120)
    for k, chunk in enumerate((targets[:50], targets[50:100], targets[100:])):
        sent(ssm_stub, chunk, k)
        tagged(ec2_stub, chunk, k)
    result = SsmPatchAdapter(ssm, ec2).run_patch_baseline(targets, PARAMS, NOW)
    assert result.sent == targets
    assert len(result.commands) == 3 and result.failed == {}


def test_the_output_bucket_is_passed_when_set(clients):
    ssm, ssm_stub, ec2, ec2_stub = clients
    sent(ssm_stub, ids(1), 0, OutputS3BucketName="patch-logs", OutputS3KeyPrefix="ec2-warden/patch")
    tagged(ec2_stub, ids(1), 0)
    SsmPatchAdapter(ssm, ec2).run_patch_baseline(ids(1), {**PARAMS, "output_s3_bucket": "patch-logs"}, NOW)


def test_an_invalid_id_is_isolated_and_the_rest_are_patched(clients):
    # GIVEN four targets, one of which SSM no longer manages (terminated since the snapshot)
    ssm, ssm_stub, ec2, ec2_stub = clients
    a, b, c, bad = ids(4)
    invalid = {"service_error_code": "InvalidInstanceId", "service_message": "Instances not in a valid state"}
    ssm_stub.add_client_error("send_command", expected_params=request([a, b, c, bad]), **invalid)
    sent(ssm_stub, [a, b], 1)
    tagged(ec2_stub, [a, b], 1)
    ssm_stub.add_client_error("send_command", expected_params=request([c, bad]), **invalid)
    sent(ssm_stub, [c], 2)
    tagged(ec2_stub, [c], 2)
    ssm_stub.add_client_error("send_command", expected_params=request([bad]), **invalid)
    # WHEN the adapter patches them
    result = SsmPatchAdapter(ssm, ec2).run_patch_baseline([a, b, c, bad], PARAMS, NOW)
    # THEN the three good ones are patched and tagged, and the bad one is reported with the reason
    assert result.sent == [a, b, c]
    assert list(result.failed) == [bad]
    assert result.failed[bad].startswith("InvalidInstanceId")


def test_a_throttled_batch_is_reported_and_the_next_batch_still_goes(clients):
    ssm, ssm_stub, ec2, ec2_stub = clients
    targets = ids(60)
    ssm_stub.add_client_error(
        "send_command",
        "ThrottlingException",
        "Rate exceeded",
        http_status_code=400,
        expected_params=request(targets[:50]),
    )
    sent(ssm_stub, targets[50:], 1)
    tagged(ec2_stub, targets[50:], 1)
    result = SsmPatchAdapter(ssm, ec2).run_patch_baseline(targets, PARAMS, NOW)
    assert result.sent == targets[50:]
    assert sorted(result.failed) == targets[:50]
    assert all(why.startswith("ThrottlingException") for why in result.failed.values())


def test_a_failed_tag_write_is_reported_without_unsending_the_command(clients):
    ssm, ssm_stub, ec2, ec2_stub = clients
    sent(ssm_stub, ids(2), 0)
    ec2_stub.add_client_error(
        "create_tags", "UnauthorizedOperation", "no", expected_params={"Resources": ids(2), "Tags": ANY}
    )
    result = SsmPatchAdapter(ssm, ec2).run_patch_baseline(ids(2), PARAMS, NOW)
    assert result.sent == ids(2)
    assert set(result.untagged) == set(ids(2))
