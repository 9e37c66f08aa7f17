"""SSM reads (chalicelib/snapshot/ssm.py) against botocore's Stubber.

moto 5.2.5 lacks DescribeInstanceInformation, DescribeInstancePatchStates and ListCommandInvocations,
so these tests stub them with request and response shapes from the SSM API reference:
  https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html
  https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstancePatchStates.html
  https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ListCommandInvocations.html
The Stubber checks every request the product sends against `expected_params`, so these assert on
what ec2-warden asked for, not only on what it made of the answer."""

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.adapters.clients import AwsClients
from chalicelib.events.scope import CommandEvent, Scope
from chalicelib.model import Instance, PatchRun
from chalicelib.snapshot.refusal import UnconfirmedEventError
from chalicelib.snapshot.ssm import read_instance_information, read_patch_states, read_ssm_facets

pytestmark = pytest.mark.disable_socket

CMD = "0b8e1b2a-1111-2222-3333-444455556666"
T0 = datetime(2026, 2, 27, 9, 30, tzinfo=UTC)


def ids(n, start=0):
    return [f"i-{k:017x}" for k in range(start, start + n)]


@pytest.fixture
def ssm():
    client = boto3.client("ssm", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def information(iid, ping="Online"):
    # InstanceInformation, as the API reference lists it (a subset of its optional fields).
    return {
        "InstanceId": iid,
        "PingStatus": ping,
        "LastPingDateTime": T0,
        "AgentVersion": "3.3.987.0",
        "IsLatestVersion": True,
        "PlatformType": "Linux",
        "PlatformName": "Amazon Linux",
        "PlatformVersion": "2023",
        "ResourceType": "EC2Instance",
    }


def patch_state(iid, **counts):
    # InstancePatchState: InstanceId, PatchGroup, BaselineId, OperationStartTime, OperationEndTime and
    # Operation are required; the counts are optional integers.
    return {
        "InstanceId": iid,
        "PatchGroup": "default",
        "BaselineId": "pb-0123456789abcdef0",
        "OperationStartTime": T0,
        "OperationEndTime": T0,
        "Operation": "Scan",
        "InstalledCount": 140,
        "MissingCount": counts.get("missing", 0),
        "FailedCount": counts.get("failed", 0),
        "InstalledPendingRebootCount": counts.get("reboot", 0),
        "CriticalNonCompliantCount": counts.get("critical", 0),
        "SecurityNonCompliantCount": counts.get("security", 0),
        "OtherNonCompliantCount": 0,
        "NotApplicableCount": 300,
        "RebootOption": "NoReboot",
    }


def test_instance_information_asks_50_ids_a_call_and_keeps_ec2_instances_only(ssm):
    client, stub = ssm
    wanted = ids(120)
    for chunk in (wanted[:50], wanted[50:100], wanted[100:]):
        answer = [information(i) for i in chunk[:3]]
        if chunk is wanted[100:]:
            answer.append(information("mi-0123456789abcdef0"))  # an on-premises node: not ours
        stub.add_response(
            "describe_instance_information",
            {"InstanceInformationList": answer},
            {"Filters": [{"Key": "InstanceIds", "Values": chunk}], "MaxResults": 50},
        )
    found = read_instance_information(client, wanted)
    assert sorted(found) == sorted(wanted[:3] + wanted[50:53] + wanted[100:103])
    assert found[wanted[0]].ping_status == "Online"
    assert found[wanted[0]].last_ping_at == T0


def test_instance_information_follows_next_token(ssm):
    client, stub = ssm
    wanted = ids(2)
    request = {"Filters": [{"Key": "InstanceIds", "Values": wanted}], "MaxResults": 50}
    stub.add_response(
        "describe_instance_information",
        {"InstanceInformationList": [information(wanted[0])], "NextToken": "t1"},
        request,
    )
    stub.add_response(
        "describe_instance_information",
        {"InstanceInformationList": [information(wanted[1], "ConnectionLost")]},
        {**request, "NextToken": "t1"},
    )
    found = read_instance_information(client, wanted)
    assert found[wanted[1]].ping_status == "ConnectionLost"


def test_patch_states_ask_50_ids_a_call_and_read_every_count(ssm):
    client, stub = ssm
    wanted = ids(60)
    stub.add_response(
        "describe_instance_patch_states",
        {"InstancePatchStates": [patch_state(wanted[0], missing=4, security=2, critical=1, failed=1, reboot=3)]},
        {"InstanceIds": wanted[:50], "MaxResults": 50},
    )
    stub.add_response(
        "describe_instance_patch_states", {"InstancePatchStates": []}, {"InstanceIds": wanted[50:], "MaxResults": 50}
    )
    states = read_patch_states(client, wanted)
    state = states[wanted[0]]
    assert (state.missing_count, state.security_non_compliant_count, state.critical_non_compliant_count) == (4, 2, 1)
    assert (state.failed_count, state.installed_pending_reboot_count) == (1, 3)
    assert state.operation_end_time == T0
    assert list(states) == [wanted[0]]  # never scanned: absent, not zero


def info_request(wanted):
    """DescribeInstanceInformation as the reader asks it: these ids (at most 50), 50 a page."""
    return {"Filters": [{"Key": "InstanceIds", "Values": wanted}], "MaxResults": 50}


def running(n):
    return [Instance(i, "running", "123456789012", "us-east-1") for i in ids(n)]


def test_facets_read_patch_states_for_managed_instances_only(ssm):
    client, stub = ssm
    instances = [*running(3), Instance("i-00000000000000fff", "stopped", "123456789012", "us-east-1")]
    wanted = ids(3)
    stub.add_response(
        "describe_instance_information",
        {"InstanceInformationList": [information(wanted[1])]},
        {"Filters": [{"Key": "InstanceIds", "Values": wanted}], "MaxResults": 50},
    )
    stub.add_response(
        "describe_instance_patch_states",
        {"InstancePatchStates": [patch_state(wanted[1])]},
        {"InstanceIds": [wanted[1]], "MaxResults": 50},
    )
    errors = []
    info, states, runs = read_ssm_facets(
        Scope("sweep"), AwsClients("us-east-1", clients={"ssm": client}), instances, errors
    )
    assert list(info) == [wanted[1]] and list(states) == [wanted[1]]
    assert runs == {} and errors == []


def test_a_refused_information_read_leaves_both_facets_unread(ssm):
    client, stub = ssm
    stub.add_client_error(
        "describe_instance_information", "AccessDeniedException", "not allowed", expected_params=info_request(ids(1))
    )
    errors = []
    info, states, _ = read_ssm_facets(
        Scope("sweep"), AwsClients("us-east-1", clients={"ssm": client}), running(1), errors
    )
    assert info is None and states is None
    assert errors[0].where == "ssm:DescribeInstanceInformation"
    assert "AccessDeniedException" in errors[0].message


def test_a_refused_patch_state_read_leaves_that_facet_unread(ssm):
    client, stub = ssm
    (iid,) = ids(1)
    stub.add_response(
        "describe_instance_information", {"InstanceInformationList": [information(iid)]}, info_request([iid])
    )
    stub.add_client_error(
        "describe_instance_patch_states",
        "ThrottlingException",
        "slow down",
        expected_params={"InstanceIds": [iid], "MaxResults": 50},
    )
    errors = []
    info, states, _ = read_ssm_facets(
        Scope("sweep"), AwsClients("us-east-1", clients={"ssm": client}), running(1), errors
    )
    assert list(info) == [iid] and states is None
    assert errors[0].where == "ssm:DescribeInstancePatchStates"


def command_scope(status, per_instance, instance_ids):
    return Scope(
        f"ssm-{'invocation' if per_instance else 'command'}:{status}",
        instance_ids=frozenset(instance_ids),
        command=CommandEvent(CMD, status, "AWS-RunPatchBaseline", per_instance),
    )


def stub_managed(stub, wanted):
    answer = {"InstanceInformationList": [information(i) for i in wanted]}
    stub.add_response("describe_instance_information", answer, info_request(wanted))
    stub.add_response(
        "describe_instance_patch_states", {"InstancePatchStates": []}, {"InstanceIds": wanted, "MaxResults": 50}
    )


def test_a_failed_command_lists_its_invocations_to_tell_which_instances_failed(ssm):
    client, stub = ssm
    wanted = ids(3)
    stub_managed(stub, wanted)
    # ListCommandInvocations: CommandInvocations[].{CommandId, InstanceId, Status, ...}
    stub.add_response(
        "list_command_invocations",
        {
            "CommandInvocations": [
                {
                    "CommandId": CMD,
                    "InstanceId": wanted[0],
                    "Status": "Success",
                    "DocumentName": "AWS-RunPatchBaseline",
                },
                {
                    "CommandId": CMD,
                    "InstanceId": wanted[1],
                    "Status": "Failed",
                    "DocumentName": "AWS-RunPatchBaseline",
                },
                {"CommandId": CMD, "InstanceId": wanted[2], "Status": "InProgress"},
            ]
        },
        {"CommandId": CMD, "MaxResults": 50},
    )
    _, _, runs = read_ssm_facets(
        command_scope("Failed", False, wanted), AwsClients("us-east-1", clients={"ssm": client}), running(3), []
    )
    assert runs == {wanted[0]: PatchRun(CMD, "Success"), wanted[1]: PatchRun(CMD, "Failed")}


@pytest.mark.parametrize(("status", "per_instance"), [("TimedOut", True), ("Failed", True)])
def test_events_that_speak_for_their_instances_need_no_extra_call(ssm, status, per_instance):
    client, stub = ssm
    wanted = ids(2)
    stub_managed(stub, wanted)
    _, _, runs = read_ssm_facets(
        command_scope(status, per_instance, wanted), AwsClients("us-east-1", clients={"ssm": client}), running(2), []
    )
    assert runs == {i: PatchRun(CMD, status) for i in wanted}


def _invocations(statuses: dict[str, str]) -> dict:
    # ListCommandInvocations response shape (SSM API reference): CommandInvocations[].{CommandId,
    # InstanceId, DocumentName, Status, StatusDetails}
    return {
        "CommandInvocations": [
            {
                "CommandId": CMD,
                "InstanceId": i,
                "DocumentName": "AWS-RunPatchBaseline",
                "Status": st,
                "StatusDetails": st,
            }
            for i, st in statuses.items()
        ]
    }


@pytest.mark.parametrize("per_instance", [True, False])
def test_a_success_counts_only_once_list_command_invocations_confirms_it(ssm, per_instance):
    client, stub = ssm
    wanted = ids(2)
    stub_managed(stub, wanted)
    stub.add_response(
        "list_command_invocations", _invocations(dict.fromkeys(wanted, "Success")), {"CommandId": CMD, "MaxResults": 50}
    )
    _, _, runs = read_ssm_facets(
        command_scope("Success", per_instance, wanted), AwsClients("us-east-1", clients={"ssm": client}), running(2), []
    )
    stub.assert_no_pending_responses()
    assert runs == {i: PatchRun(CMD, "Success") for i in wanted}


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ({0: "InProgress", 1: "Success"}, "{0} InProgress"),  # stale: the run is not over
        ({1: "Success"}, "{0} no invocation"),  # forged: this instance was never part of the command
        ({0: "Failed", 1: "Success"}, "{0} Failed"),
    ],
)
def test_a_forged_or_stale_success_is_refused(ssm, said, expected):
    client, stub = ssm
    wanted = ids(2)
    stub_managed(stub, wanted)
    stub.add_response(
        "list_command_invocations",
        _invocations({wanted[k]: v for k, v in said.items()}),
        {"CommandId": CMD, "MaxResults": 50},
    )
    with pytest.raises(UnconfirmedEventError) as refused:
        read_ssm_facets(
            command_scope("Success", True, wanted), AwsClients("us-east-1", clients={"ssm": client}), running(2), []
        )
    stub.assert_no_pending_responses()
    assert expected.format(wanted[0]) in str(refused.value)
    assert f"the event says command {CMD} succeeded" in str(refused.value)
