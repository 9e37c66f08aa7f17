"""Coalescing a batch of queued events: pure, over SQS records built from AWS-shaped events."""

from __future__ import annotations

import json

from chalicelib.events.coalesce import coalesce
from devtools import events

GROUP = "sg-0123456789abcdef0"


def records(*bodies: object) -> list[dict[str, str]]:
    return [{"messageId": f"m{i}", "body": b if isinstance(b, str) else json.dumps(b)} for i, b in enumerate(bodies)]


def test_events_of_one_account_and_region_become_one_scope_and_others_their_own():
    a = events.run_instances(["i-0123456789abcdef0"], GROUP)
    b = events.authorize_ingress(GROUP, 22)
    c = events.state_change("i-0123456789abcdef1", "running", region="eu-west-1")
    batch = coalesce(records(a, b, c))
    assert [g.events for g in batch.groups] == [2, 1]
    united = batch.groups[0].scope
    assert united.instance_ids == {"i-0123456789abcdef0"} and united.group_ids == {GROUP}
    assert united.trigger == "AuthorizeSecurityGroupIngress+RunInstances" and united.is_launch
    assert [o.group for o in batch.outcomes] == [0, 0, 1]


def test_a_duplicate_is_handled_once_and_a_malformed_record_fails_alone():
    a = events.run_instances(["i-0123456789abcdef0"], GROUP)
    batch = coalesce(records(a, "{oops", a))
    first, broken, again = batch.outcomes
    assert first.group == 0 and batch.groups[0].message_ids == ("m0",)
    assert broken.failed == "the body is not JSON"
    assert again.ignored == f"duplicate of message m0 (event {a['id']}): handled once"


def test_ignore_reasons_are_the_parsers_own():
    failed_call = events.wrap(events.cloudtrail_record("RunInstances", {}, None, error_code="UnauthorizedOperation"))
    (outcome,) = coalesce(records(failed_call)).outcomes
    assert outcome.ignored == "RunInstances failed with UnauthorizedOperation: nothing changed"


def test_each_patch_command_keeps_its_own_facts():
    def command(cid: str) -> dict:
        event = events.state_change("i-0123456789abcdef0", "running")
        event.update({"source": "aws.ssm", "detail-type": "EC2 Command Status-change Notification"})
        event["detail"] = {"command-id": cid, "document-name": "AWS-RunPatchBaseline", "status": "Failed"}
        return event

    batch = coalesce(records(command("c-1"), command("c-2")))
    assert sorted(g.scope.command.command_id for g in batch.groups) == ["c-1", "c-2"]


def test_past_the_threshold_a_group_is_read_like_a_sweep():
    ids = [f"i-{n:017x}" for n in range(1, 6)]
    batch = coalesce(records(events.run_instances(ids, GROUP)), sweep_above=3)
    (group,) = batch.groups
    assert group.swept and group.scope.is_sweep and group.scope.account == "123456789012"
    assert not coalesce(records(events.run_instances(ids, GROUP)), sweep_above=5).groups[0].swept
