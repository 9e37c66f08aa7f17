"""EC2 adapter for the idle lifecycle: batched tags, batched stops, per-instance errors, the re-read.

moto carries out CreateTags, DeleteTags and StopInstances, and fails a stop on an instance with
DisableApiStop (OperationNotPermitted). It never answers IncorrectInstanceState nor a
tag-conditioned UnauthorizedOperation, so those are Stubber tests with the error codes and messages
of the EC2 API reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
from botocore.stub import ANY, Stubber

from chalicelib.apply.ec2 import RETRY_BUDGET, Ec2Adapter, stop_idle
from chalicelib.model import Action, ActionKind, Snapshot
from chalicelib.rules.idle import IDLE_SINCE, PROTECT, STOP_AFTER, STOPPED_BY, format_time
from devtools.idle_fleet import launch_one, set_launch_time

REGION = "us-east-1"
NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)  # after moto's launch times


def _tags(ec2, instance_id):
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return {t["Key"]: t["Value"] for t in reservations[0]["Instances"][0].get("Tags", [])}


def _state(ec2, instance_id):
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"]


def _stubbed_ec2():
    client = boto3.client(
        "ec2", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x", aws_session_token="x"
    )
    return client, Stubber(client)


def _stop_calls(stub, outcomes):
    """Queue StopInstances answers: an instance list means success, (code, message) a failure."""
    for expected, answer in outcomes:
        params = {"InstanceIds": expected}
        if isinstance(answer, tuple):
            stub.add_client_error("stop_instances", answer[0], answer[1], expected_params=params)
        else:
            stub.add_response("stop_instances", {"StoppingInstances": []}, params)


def test_one_create_tags_and_one_delete_tags_call_for_many_instances(clients, ec2):
    ids = [launch_one(ec2, f"box-{n}") for n in range(3)]
    before = clients.counter.snapshot()
    adapter = Ec2Adapter(clients.ec2)
    marked = adapter.create_tags(ids, {IDLE_SINCE: "2026-03-01T00:00:00Z", STOP_AFTER: "2026-03-04T00:00:00Z"})
    ec2.create_tags(Resources=[ids[0]], Tags=[{"Key": STOPPED_BY, "Value": "garbage"}])
    unmarked = adapter.delete_tags(ids[:2], [IDLE_SINCE, STOP_AFTER, STOPPED_BY])
    calls = {k: v - before.get(k, 0) for k, v in clients.counter.snapshot().items() if v - before.get(k, 0)}
    assert calls == {"ec2:CreateTags": 1, "ec2:DeleteTags": 1}
    assert marked.done == ids and unmarked.done == ids[:2]
    assert _tags(ec2, ids[0]) == {"Name": "box-0"}  # whatever the values were
    assert _tags(ec2, ids[2])[STOP_AFTER] == "2026-03-04T00:00:00Z"


def test_a_stop_refused_for_one_instance_does_not_stop_the_rest(clients, ec2):
    # GIVEN three instances, the middle one with stop protection (EC2 fails the whole call)
    free_a = launch_one(ec2, "a")
    guarded = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, DisableApiStop=True)["Instances"][0][
        "InstanceId"
    ]
    free_b = launch_one(ec2, "b")
    # WHEN stopped as one batch
    result = Ec2Adapter(clients.ec2).stop_instances([free_a, guarded, free_b])
    # THEN the refused one is reported with EC2's error and the others are stopped
    assert sorted(result.done) == sorted([free_a, free_b])
    assert list(result.failed) == [guarded]
    assert result.failed[guarded].startswith("OperationNotPermitted")
    assert (_state(ec2, free_a), _state(ec2, guarded), _state(ec2, free_b)) == ("stopped", "running", "stopped")
    # the error named the instance, so one retry without it was enough
    assert clients.counter.snapshot()["ec2:StopInstances"] == 2


def test_incorrect_instance_state_named_in_the_message_costs_one_retry():
    client, stub = _stubbed_ec2()
    ids = ["i-0aaaaaaaaaaaaaaa1", "i-0aaaaaaaaaaaaaaa2", "i-0aaaaaaaaaaaaaaa3"]
    message = f"The instance '{ids[1]}' is not in a state from which it can be stopped."
    _stop_calls(stub, [(ids, ("IncorrectInstanceState", message)), ([ids[0], ids[2]], [ids[0], ids[2]])])
    with stub:
        result = Ec2Adapter(client).stop_instances(ids)
    stub.assert_no_pending_responses()
    assert result.done == [ids[0], ids[2]]
    assert result.failed == {ids[1]: f"IncorrectInstanceState: {message}"}


def test_an_unauthorized_instance_is_found_by_halving_not_by_one_call_each():
    # GIVEN a tag-conditioned policy that refuses the third of four instances (the message names none)
    client, stub = _stubbed_ec2()
    ids = [f"i-0bbbbbbbbbbbbbbb{n}" for n in range(4)]
    denied = ("UnauthorizedOperation", "You are not authorized to perform this operation. Encoded message: xyz")
    _stop_calls(
        stub,
        [
            (ids, denied),
            (ids[:2], ids[:2]),
            (ids[2:], denied),
            ([ids[2]], denied),
            ([ids[3]], [ids[3]]),
        ],
    )
    with stub:
        result = Ec2Adapter(client).stop_instances(ids)
    stub.assert_no_pending_responses()
    assert result.done == [ids[0], ids[1], ids[3]]
    assert list(result.failed) == [ids[2]]
    assert result.failed[ids[2]].startswith("UnauthorizedOperation")


def test_a_global_refusal_spends_a_bounded_number_of_calls():
    # GIVEN no permission to stop at all, and 300 instances
    client, stub = _stubbed_ec2()
    ids = [f"i-{n:017x}" for n in range(300)]
    calls: list[list[str]] = []
    client.meta.events.register(
        "provide-client-params.ec2.StopInstances", lambda params, **_: calls.append(params["InstanceIds"])
    )
    for _ in range(RETRY_BUDGET + 1):
        stub.add_client_error(
            "stop_instances", "UnauthorizedOperation", "You are not authorized", expected_params={"InstanceIds": ANY}
        )
    with stub:
        result = Ec2Adapter(client).stop_instances(ids)
    stub.assert_no_pending_responses()
    # THEN every instance is reported failed, after exactly 1 + RETRY_BUDGET calls: the whole batch,
    # then halves of the failed requests (the error names no instance), never an id twice in one request
    assert len(calls) == 1 + RETRY_BUDGET
    assert calls[0] == ids
    assert all(len(c) == len(set(c)) and len(c) <= len(ids) // 2 and set(c) <= set(ids) for c in calls[1:])
    assert set(result.failed) == set(ids) and not result.done
    assert any(m.startswith("not attempted") for m in result.failed.values())


def _launch_due(ec2, name, **kwargs):
    """An instance marked 80 hours ago whose deadline passed 8 hours ago (launched long before)."""
    tags = [{"Key": k, "Value": v} for k, v in {"Name": name, **_due_tags()}.items()]
    instance_id = ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        **kwargs,
    )["Instances"][0]["InstanceId"]
    set_launch_time(instance_id, NOW - timedelta(days=30), region=REGION)
    return instance_id


def _due_tags(**extra):
    return {
        IDLE_SINCE: format_time(NOW - timedelta(hours=80)),
        STOP_AFTER: format_time(NOW - timedelta(hours=8)),
    } | extra


def test_the_stop_rereads_the_instances_and_honours_changes_made_since_the_snapshot(clients, ec2):
    # GIVEN four instances due for a stop when the snapshot was taken
    due, protected, postponed, stopped = (_launch_due(ec2, name) for name in "abcd")
    # WHEN, before the stop, an owner protects one, moves another's deadline, and a third stops
    ec2.create_tags(Resources=[protected], Tags=[{"Key": PROTECT, "Value": ""}])
    ec2.create_tags(Resources=[postponed], Tags=[{"Key": STOP_AFTER, "Value": format_time(NOW + timedelta(days=7))}])
    ec2.stop_instances(InstanceIds=[stopped])
    before = clients.counter.snapshot()
    action = Action(
        ActionKind.STOP_IDLE,
        (due, protected, postponed, stopped),
        reason="stop idle instances",
        params={"tags": {STOPPED_BY: format_time(NOW)}},
    )
    snap = Snapshot("123456789012", REGION, NOW, True, (), {})
    outcome = stop_idle(action, snap, clients, NOW)
    calls = {k: v - before.get(k, 0) for k, v in clients.counter.snapshot().items() if v - before.get(k, 0)}
    # THEN only the one still due is stopped and tagged, in one read, one stop and one tag call
    assert (_state(ec2, due), _state(ec2, protected), _state(ec2, postponed)) == ("stopped", "running", "running")
    assert _tags(ec2, due)[STOPPED_BY] == format_time(NOW)
    assert STOPPED_BY not in _tags(ec2, protected)
    assert outcome.done and outcome.error is None
    assert "protected meanwhile" in outcome.reason and "deadline moved" in outcome.reason
    assert "now stopped" in outcome.reason
    assert calls == {"ec2:DescribeInstances": 1, "ec2:StopInstances": 1, "ec2:CreateTags": 1}


def test_a_stop_that_fails_is_reported_per_instance(clients, ec2):
    free = _launch_due(ec2, "free")
    guarded = _launch_due(ec2, "guarded", DisableApiStop=True)
    action = Action(ActionKind.STOP_IDLE, (free, guarded), "stop", params={"tags": {STOPPED_BY: format_time(NOW)}})
    outcome = stop_idle(action, Snapshot("123456789012", REGION, NOW, True, (), {}), clients, NOW)
    assert not outcome.done
    assert outcome.failed_ids == (guarded,)
    assert f"{guarded}: OperationNotPermitted" in (outcome.error or "")
    assert _state(ec2, free) == "stopped" and STOPPED_BY in _tags(ec2, free)
    assert STOPPED_BY not in _tags(ec2, guarded)
