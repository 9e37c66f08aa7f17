"""Fuzzed events through every handler: no exception escapes but a clear validation error, no AWS
write ever happens (counted from the product's own api_calls), and no secret (the Slack webhook URL,
the session credentials) appears in the logs, the report or an exception's text.

Fast profile in `make test`; the long profile (10,000 examples a handler) runs with `-m slow`."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from chalicelib.adapters.clients import ApiCallCounter
from chalicelib.runtime import entry
from devtools import events
from devtools.fleet import base_network, launch, make_group, tcp
from tests.conftest import shared_event, shared_event_names
from tests.output_scan import SECRET_ACCESS_KEY, SESSION_TOKEN, WEBHOOK_URL, captured_output, leaked

FAST = 150
LONG = 10_000

SEEDS: list[dict[str, Any]] = [shared_event(n) for n in shared_event_names()]
SEEDS += [
    events.authorize_ingress("sg-0123456789abcdef0", 22),
    events.revoke_ingress("sg-0123456789abcdef0", 22),
    events.modify_security_group_rules("sg-0123456789abcdef0", "sgr-0123456789abcdef0", "0.0.0.0/0", 22),
    events.associate_address(instance_id="i-0123456789abcdef0"),
    events.associate_address(eni_id="eni-0123456789abcdef0"),
    events.modify_instance_groups("i-0123456789abcdef0", ["sg-0123456789abcdef0"]),
    events.modify_eni_groups("eni-0123456789abcdef0", ["sg-0123456789abcdef0"]),
    events.run_instances(["i-0123456789abcdef0"], "sg-0123456789abcdef0"),
    events.state_change("i-0123456789abcdef0", "running"),
]
# Raw and wrapped forms mixed: every wrapped CloudTrail record also as a raw record.
SEEDS += [copy.deepcopy(s["detail"]) for s in SEEDS if s.get("detail-type") == "AWS API Call via CloudTrail"]

JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(["i-NOTANID", "sg-", "eni-0", "i-" + "f" * 17, "sg-" + "0" * 17, "☃", "\x00", "' OR 1=1 --"]),
)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:5]):
            yield from _paths(value, (*prefix, index))


def _set(event: Any, path: tuple, value: Any, delete: bool) -> Any:
    if not path:
        return value
    target = event
    for key in path[:-1]:
        target = target[key]
    if delete and isinstance(target, dict):
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return event


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    event = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = list(_paths(event))
        path = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(["delete", "replace", "huge", "retype", "wrong-kind"]))
        if kind == "delete":
            event = _set(event, path, None, delete=True)
        elif kind == "replace":
            event = _set(event, path, draw(JSON_VALUE), delete=False)
        elif kind == "huge":
            event = _set(event, path, {"items": [{"instanceId": "i-0123456789abcdef0"}] * 2000}, delete=False)
        elif kind == "retype":
            event = _set(event, path, json.dumps(draw(JSON_VALUE)), delete=False)
        elif isinstance(event, dict):
            event["detail-type"] = draw(
                st.sampled_from(
                    ["AWS API Call via CloudTrail", "EC2 Instance State-change Notification", "Scheduled Event", "x"]
                )
            )
            event["source"] = draw(st.sampled_from(["aws.ec2", "aws.ssm", "aws.s3", ""]))
        if not isinstance(event, dict | list):
            break
    return event


@pytest.fixture(scope="module")
def fleet_in_moto() -> Iterator[None]:
    """One moto for the whole module, with an exposed instance the fuzzed ids may point at."""
    entry._CLIENTS.clear()
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        network = base_network(ec2)
        launch(
            ec2,
            network,
            "open",
            subnet=network.public_subnet,
            groups=[make_group(ec2, network, "ssh", [tcp(22, v4="0.0.0.0/0")])],
        )
        yield
    entry._CLIENTS.clear()


def _check_one(event: Any, handler: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDEN_MODE", "audit")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", WEBHOOK_URL)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    calls_before = ApiCallCounter()
    for clients in entry._CLIENTS.values():
        calls_before = clients.counter
    seen_before = calls_before.snapshot()
    with captured_output() as out:
        try:
            report = entry.handle_sweep(event) if handler == "sweep" else entry.handle_event(event)
        except Exception as exc:  # no exception may escape; if one does, its text is scanned too
            raise AssertionError(f"escaped: {exc!r}; leaked: {leaked([repr(exc), str(exc)])}") from exc
    assert isinstance(report, dict) and set(report) >= {"errors", "api_calls", "findings"}
    assert leaked([out.getvalue(), json.dumps(report)]) == []  # the Lambda must be able to return it, too
    writes = {k: v for k, v in report["api_calls"].items() if not k.split(":")[1].startswith(("Describe", "Get"))}
    assert writes == {}, writes
    if any(e["where"] == "event" for e in report["errors"]):
        assert report["api_calls"] == {}
    for clients in entry._CLIENTS.values():
        after = clients.counter.snapshot()
        assert {k for k in after if after[k] != seen_before.get(k, 0)} <= {
            k for k in after if k.split(":")[1].startswith(("Describe", "Get"))
        }


def _fuzz(examples: int, handler: str):
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(event=mutated_events())
    def run(fleet_in_moto: None, monkeypatch: pytest.MonkeyPatch, event: Any) -> None:
        _check_one(event, handler, monkeypatch)

    return run


test_fuzz_event_handler_fast = _fuzz(FAST, "event")
test_fuzz_sweep_handler_fast = _fuzz(FAST // 3, "sweep")
test_fuzz_event_handler_long = pytest.mark.slow(_fuzz(LONG, "event"))
test_fuzz_sweep_handler_long = pytest.mark.slow(_fuzz(LONG, "sweep"))
