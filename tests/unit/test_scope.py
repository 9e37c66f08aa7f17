"""Event -> scope over the published fixtures, events built from AWS's documented shapes, and
malformed variants. Pure: no AWS call can happen here (the unit suite has no network)."""

from __future__ import annotations

import copy
import json

import pytest

from chalicelib.events.scope import EventError, scope_from_event
from devtools import events
from tests.conftest import shared_event, shared_event_names

# What each published fixture must become: the ids it scopes, or the reason it is ignored.
EXPECTED = {
    "cloudtrail-authorize-security-group-ingress-ipv4-ipv6-open.json": {"group_ids": {"sg-00000bd0bf00f0000"}},
    "cloudtrail-create-security-group.json": {"ignored": "CreateSecurityGroup is not a call"},
    "cloudtrail-modify-instance-attribute-disable-api-termination.json": {"instance_ids": {"i-00e55557cb8e5f276"}},
    "cloudtrail-raw-authorize-security-group-ingress-legacy-cidrip.json": {"group_ids": {"sg-003dc7f1f1c686164"}},
    "cloudtrail-raw-run-instances-iam-user.json": {"instance_ids": {"i-0f7c711dc84bedda0"}},
    "cloudtrail-raw-run-instances-unauthorized-error.json": {"ignored": "failed with Client.UnauthorizedOperation"},
    "cloudtrail-raw-run-instances.json": {"instance_ids": {"i-784cdacd", "i-7b4cdace"}},
    "cloudtrail-raw-terminate-instances-logfile.json": {"ignored": "TerminateInstances is not a call"},
    "cloudtrail-run-instances-wrapped.json": {"instance_ids": {"i-784cdacd", "i-7b4cdace"}},
    "ec2-instance-state-change-pending.json": {"ignored": "state 'pending' needs no check"},
    "ec2-instance-state-change-terminated.json": {"ignored": "state 'terminated' needs no check"},
    "scheduled-event.json": {"sweep": True},
    "securityhub-findings-imported.json": {"ignored": "Security Hub Findings - Imported"},
    # Both run AWS-RunPowerShellScript; the patch loop reads these events for AWS-RunPatchBaseline only.
    "ssm-ec2-command-invocation-status-change.json": {"ignored": "not AWS-RunPatchBaseline"},
    "ssm-ec2-command-status-change.json": {"ignored": "not AWS-RunPatchBaseline"},
}


def test_every_published_fixture_is_covered_here():
    assert set(shared_event_names()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_published_fixture_is_handled_or_ignored_with_a_reason(name):
    # GIVEN a real event as published WHEN it is read THEN it scopes what it touches, or says why not
    scope = scope_from_event(shared_event(name))
    want = EXPECTED[name]
    if "ignored" in want:
        assert scope.ignored and want["ignored"] in scope.ignored
        return
    assert scope.ignored is None
    if want.get("sweep"):
        assert scope.is_sweep
        return
    assert set(scope.instance_ids) == want.get("instance_ids", set())
    assert set(scope.group_ids) == want.get("group_ids", set())


def test_wrapped_and_raw_run_instances_agree():
    raw = scope_from_event(shared_event("cloudtrail-raw-run-instances.json"))
    wrapped = scope_from_event(shared_event("cloudtrail-run-instances-wrapped.json"))
    assert (raw.instance_ids, raw.account, raw.region) == (wrapped.instance_ids, wrapped.account, wrapped.region)


def test_state_change_running_scopes_the_instance():
    scope = scope_from_event(events.state_change("i-0123456789abcdef0", "running"))
    assert scope.instance_ids == {"i-0123456789abcdef0"} and scope.trigger == "state:running"


@pytest.mark.parametrize(
    ("event", "field", "ids"),
    [
        (events.revoke_ingress("sg-0123456789abcdef0", 22), "group_ids", {"sg-0123456789abcdef0"}),
        (
            events.modify_security_group_rules("sg-0123456789abcdef0", "sgr-0123456789abcdef0", "10.0.0.0/8", 22),
            "group_ids",
            {"sg-0123456789abcdef0"},
        ),
        (events.associate_address(instance_id="i-0123456789abcdef0"), "instance_ids", {"i-0123456789abcdef0"}),
        (events.associate_address(eni_id="eni-0123456789abcdef0"), "network_interface_ids", {"eni-0123456789abcdef0"}),
        (
            events.modify_instance_groups("i-0123456789abcdef0", ["sg-0123456789abcdef0"]),
            "instance_ids",
            {"i-0123456789abcdef0"},
        ),
        (
            events.modify_eni_groups("eni-0123456789abcdef0", ["sg-0123456789abcdef0"]),
            "network_interface_ids",
            {"eni-0123456789abcdef0"},
        ),
    ],
)
def test_documented_shapes_scope_what_they_touch(event, field, ids):
    scope = scope_from_event(event)
    assert scope.ignored is None
    assert set(getattr(scope, field)) == ids


def test_log_file_records_are_united_and_failed_ones_dropped():
    ok = events.run_instances(["i-0123456789abcdef0"], "sg-0123456789abcdef0")["detail"]
    failed = events.cloudtrail_record("RunInstances", {}, None, error_code="Client.UnauthorizedOperation")
    other = events.authorize_ingress("sg-0fedcba9876543210", 22)["detail"]
    scope = scope_from_event({"Records": [ok, failed, other]})
    assert scope.instance_ids == {"i-0123456789abcdef0"} and scope.group_ids == {"sg-0fedcba9876543210"}


def _base() -> dict:
    return events.authorize_ingress("sg-0123456789abcdef0", 22)


def _mutate(path: list, value, *, delete: bool = False):
    def make():
        event = copy.deepcopy(_base())
        target = event
        for key in path[:-1]:
            target = target[key]
        if delete:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return event

    return make


_RUN = events.run_instances(["i-0123456789abcdef0"], "sg-0123456789abcdef0")
_STATE = events.state_change("i-0123456789abcdef0", "running")


def _with(event, path, value):
    def make():
        copied = copy.deepcopy(event)
        target = copied
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return copied

    return make


MALFORMED = {
    "not an object (list)": lambda: [1, 2],
    "not an object (string)": lambda: "RunInstances",
    "not an object (null)": lambda: None,
    "empty object": lambda: {},
    "missing detail": _mutate(["detail"], None, delete=True),
    "detail is a string": _mutate(["detail"], "oops"),
    "detail is a list": _mutate(["detail"], []),
    "detail-type missing": _mutate(["detail-type"], None, delete=True),
    "detail-type is a number": _mutate(["detail-type"], 7),
    "source missing": _mutate(["source"], None, delete=True),
    "eventName missing": _mutate(["detail", "eventName"], None, delete=True),
    "eventName is a number": _mutate(["detail", "eventName"], 42),
    "eventName empty": _mutate(["detail", "eventName"], ""),
    "account not 12 digits": _mutate(["account"], "12345"),
    "account is a number": _mutate(["account"], 123456789012),
    "recipientAccountId malformed": _mutate(["detail", "recipientAccountId"], "abc"),
    "region malformed": _mutate(["region"], "Mars"),
    "awsRegion is a list": _mutate(["detail", "awsRegion"], ["us-east-1"]),
    "requestParameters is a string": _mutate(["detail", "requestParameters"], "groupId=sg-1"),
    "responseElements is a list": _mutate(["detail", "responseElements"], []),
    "groupId malformed": _mutate(["detail", "requestParameters", "groupId"], "sg-XYZ"),
    "groupId is a number": _mutate(["detail", "requestParameters", "groupId"], 12),
    "groupId injection": _mutate(["detail", "requestParameters", "groupId"], "sg-12345678; rm -rf /"),
    "rule set items not a list": _mutate(["detail", "responseElements", "securityGroupRuleSet"], {"items": "x"}),
    "rule set is a string": _mutate(["detail", "responseElements", "securityGroupRuleSet"], "x"),
    "eventID is a number": _mutate(["detail", "eventID"], 5),
    "run: instancesSet items missing ids": _with(
        _RUN, ["detail", "responseElements", "instancesSet"], {"items": [{"imageId": "ami-1"}]}
    ),
    "run: instance id malformed": _with(
        _RUN, ["detail", "responseElements", "instancesSet"], {"items": [{"instanceId": "i-NOPE"}]}
    ),
    "run: instancesSet is a list": _with(_RUN, ["detail", "responseElements", "instancesSet"], []),
    "run: huge list": _with(
        _RUN, ["detail", "responseElements", "instancesSet"], {"items": [{"instanceId": "i-0123456789abcdef0"}] * 5000}
    ),
    "state: instance-id missing": _with(_STATE, ["detail"], {"state": "running"}),
    "state: instance-id malformed": _with(_STATE, ["detail", "instance-id"], "instance-1"),
    "state: state is null": _with(_STATE, ["detail", "state"], None),
    "state: wrong source": _with(_STATE, ["source"], "aws.s3"),
    "records not a list": lambda: {"Records": {"eventName": "RunInstances"}},
    "records empty": lambda: {"Records": []},
    "record not an object": lambda: {"Records": ["RunInstances"]},
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_event_is_a_clear_error(name):
    # GIVEN a malformed event WHEN it is read THEN a typed error names what is wrong
    with pytest.raises(EventError) as raised:
        scope_from_event(MALFORMED[name]())
    assert str(raised.value)
    assert len(str(raised.value)) < 300


def test_there_are_at_least_thirty_malformed_variants():
    assert len(MALFORMED) >= 30


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (_mutate(["detail", "eventName"], "DeleteBucket")(), "not a call ec2-warden responds to"),
        (_mutate(["detail", "errorCode"], "Client.InvalidGroup.NotFound")(), "failed with"),
        (_mutate(["detail", "eventSource"], "s3.amazonaws.com")(), "is not EC2"),
        (_mutate(["detail-type"], "Something Else")(), "is not handled"),
    ],
)
def test_valid_events_we_do_not_act_on_are_ignored_with_a_reason(event, reason):
    scope = scope_from_event(event)
    assert scope.ignored and reason in scope.ignored


def test_a_scope_is_plain_data():
    scope = scope_from_event(_base())
    assert json.dumps(sorted(scope.group_ids))


def test_a_group_named_only_by_name_is_scoped_by_that_name():
    scope = scope_from_event(events.authorize_ingress_by_name("launch-wizard-1", 22))
    assert scope.ignored is None and not scope.is_empty
    assert scope.group_names == frozenset({"launch-wizard-1"}) and scope.group_ids == frozenset()


def test_a_group_id_in_the_record_wins_over_its_name():
    event = events.authorize_ingress("sg-0123456789abcdef0", 22)
    event["detail"]["requestParameters"]["groupName"] = "web"
    scope = scope_from_event(event)
    assert scope.group_ids == frozenset({"sg-0123456789abcdef0"}) and scope.group_names == frozenset()


@pytest.mark.parametrize("name", ["", "   ", "x" * 256, 7, None])
def test_a_group_name_that_cannot_be_one_is_a_clear_error(name):
    event = events.authorize_ingress_by_name("placeholder", 22)
    event["detail"]["requestParameters"]["groupName"] = name
    if name is None:  # no name and no id: nothing named, ignored with a reason
        assert scope_from_event(event).ignored
        return
    with pytest.raises(EventError, match="groupName"):
        scope_from_event(event)
