"""CloudWatch usage reads: daily buckets, batching by 500 queries, pagination, missing and failed data.

moto answers GetMetricData with exact values but never pages and never reports a failed query, so
NextToken, PartialData and InternalError are tested with botocore's Stubber and response shapes from
the GetMetricData API reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import ANY, Stubber

from chalicelib.model import DailyUsage, DayUsage
from chalicelib.snapshot.metrics import MAX_QUERIES_PER_CALL, read_daily_usage, usage_window
from devtools.idle_fleet import QUIET, Day, put_daily_usage

REGION = "us-east-1"
NOW = datetime(2026, 3, 1, 12, 34, tzinfo=UTC)
START, END = usage_window(NOW, 14)


def _stubbed():
    client = boto3.client(
        "cloudwatch", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x", aws_session_token="x"
    )
    return client, Stubber(client)


class _Queries:
    """Matches a request's MetricDataQueries: these query ids, about these instances (3 metrics each)."""

    def __init__(self, first: int, count: int, instances: list[str]) -> None:
        self.ids = [f"q{n}" for n in range(first, first + count)]
        self.instances = set(instances)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, list):
            return NotImplemented
        dims = {d["Value"] for q in other for d in q["MetricStat"]["Metric"]["Dimensions"]}
        return [q["Id"] for q in other] == self.ids and dims == self.instances


def _call(first: int, count: int, instances: list[str]) -> dict:
    """The GetMetricData request expected for queries q<first>..q<first+count-1>."""
    return {
        "MetricDataQueries": _Queries(first, count, instances),
        "StartTime": START,
        "EndTime": END,
        "ScanBy": "TimestampAscending",
    }


def test_window_is_whole_days_ending_at_the_last_whole_hour():
    start, end = usage_window(NOW, 14)
    assert start == datetime(2026, 2, 15, 12, tzinfo=UTC)
    assert end == datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_daily_values_land_in_their_day_and_missing_days_stay_none(clients, cloudwatch):
    # GIVEN two quiet days just before the window's end, and one datapoint outside the window
    put_daily_usage(cloudwatch, "i-0aaaaaaaaaaaaaaaa", [Day(cpu=3.0, network_mb=1.2), QUIET], END)
    cloudwatch.put_metric_data(
        Namespace="AWS/EC2",
        MetricData=[
            {
                "MetricName": "CPUUtilization",
                "Dimensions": [{"Name": "InstanceId", "Value": "i-0aaaaaaaaaaaaaaaa"}],
                "Timestamp": START - timedelta(hours=1),
                "Value": 99.0,
            }
        ],
    )
    # WHEN read
    read = read_daily_usage(clients.get("cloudwatch"), ["i-0aaaaaaaaaaaaaaaa", "i-0bbbbbbbbbbbbbbbb"], NOW, 14)
    # THEN the two days are the last two, with CPU averaged and network summed in + out
    days = read.usage["i-0aaaaaaaaaaaaaaaa"].days
    assert len(days) == 14 and days[0].start == START
    assert [d.cpu_percent for d in days[:12]] == [None] * 12
    assert days[12].cpu_percent == pytest.approx(3.0)
    assert days[12].network_bytes == pytest.approx(1_200_000)
    assert days[13].cpu_percent == pytest.approx(1.5)
    # an instance with no datapoints is read (all days None), not unreadable
    assert not any(d.has_data for d in read.usage["i-0bbbbbbbbbbbbbbbb"].days)
    assert read.errors == [] and read.failed_ids == set()


def test_queries_are_packed_500_a_call_across_instances(clients):
    # GIVEN 400 instances: 1,200 queries WHEN read THEN ceil(1200 / 500) = 3 calls, none per instance
    ids = [f"i-{n:017x}" for n in range(400)]
    client = clients.get("cloudwatch")
    sizes: list[int] = []
    client.meta.events.register(
        "provide-client-params.cloudwatch.GetMetricData",
        lambda params, **_: sizes.append(len(params["MetricDataQueries"])),
    )
    read = read_daily_usage(client, ids, NOW, 14)
    assert clients.counter.snapshot() == {"cloudwatch:GetMetricData": 3}
    # each request is as full as the API allows, the last holds the rest
    assert sizes == [MAX_QUERIES_PER_CALL, MAX_QUERIES_PER_CALL, 1200 - 2 * MAX_QUERIES_PER_CALL] == [500, 500, 200]
    assert len(read.usage) == 400


def _result(query_id, values, status="Complete", day_offset=0):
    stamps = [START + timedelta(days=day_offset + n) for n in range(len(values))]
    return {"Id": query_id, "Label": query_id, "Timestamps": stamps, "Values": values, "StatusCode": status}


def test_pages_of_one_call_are_joined_by_query_id():
    # GIVEN a response in two pages (NextToken), each with part of every series
    client, stub = _stubbed()
    page1 = [_result("q0", [5.0]), _result("q1", [10.0]), _result("q2", [20.0], status="PartialData")]
    page2 = [
        _result("q0", [6.0], day_offset=1),
        _result("q1", [11.0], day_offset=1),
        _result("q2", [21.0], day_offset=1),
    ]
    stub.add_response(
        "get_metric_data",
        {"MetricDataResults": page1, "NextToken": "more"},
        {"MetricDataQueries": ANY, "StartTime": START, "EndTime": END, "ScanBy": "TimestampAscending"},
    )
    stub.add_response(
        "get_metric_data",
        {"MetricDataResults": page2},
        {
            "MetricDataQueries": ANY,
            "StartTime": START,
            "EndTime": END,
            "ScanBy": "TimestampAscending",
            "NextToken": "more",
        },
    )
    # WHEN read
    with stub:
        read = read_daily_usage(client, ["i-0aaaaaaaaaaaaaaaa"], NOW, 14)
    stub.assert_no_pending_responses()
    # THEN both days are there and the final status (Complete) wins
    days = read.usage["i-0aaaaaaaaaaaaaaaa"].days
    assert (days[0].cpu_percent, days[1].cpu_percent) == (5.0, 6.0)
    assert (days[0].network_bytes, days[1].network_bytes) == (30.0, 32.0)
    assert read.errors == []


@pytest.mark.parametrize("status", ["InternalError", "Forbidden", "PartialData"])
def test_a_failed_query_leaves_its_instance_unread_not_idle(status):
    # GIVEN the second instance's NetworkOut query failed
    client, stub = _stubbed()
    results = [_result(f"q{n}", [1.0]) for n in range(5)] + [_result("q5", [], status=status)]
    pair = ["i-0aaaaaaaaaaaaaaaa", "i-0bbbbbbbbbbbbbbbb"]
    stub.add_response("get_metric_data", {"MetricDataResults": results}, _call(0, 6, pair))
    with stub:
        read = read_daily_usage(client, pair, NOW, 14)
    stub.assert_no_pending_responses()
    # THEN the first is read, the second is left out (the check calls it not evaluated), and it is said
    assert set(read.usage) == {"i-0aaaaaaaaaaaaaaaa"}
    assert read.failed_ids == {"i-0bbbbbbbbbbbbbbbb"}
    assert [e.message for e in read.errors] == [f"query status {status}: 1 instance(s) not evaluated"]


def test_a_failed_call_loses_only_its_own_instances():
    # GIVEN 200 instances (600 queries: two calls) and a throttled second call
    client, stub = _stubbed()
    ids = [f"i-{n:017x}" for n in range(200)]
    first = [_result(f"q{n}", [1.0]) for n in range(500)]
    stub.add_response("get_metric_data", {"MetricDataResults": first}, _call(0, 500, ids[:167]))
    stub.add_client_error("get_metric_data", "Throttling", "Rate exceeded", expected_params=_call(500, 100, ids[166:]))
    with stub:
        read = read_daily_usage(client, ids, NOW, 14)
    stub.assert_no_pending_responses()
    # THEN instances whose three queries all sat in the first call are read; the rest are unread
    assert len(read.usage) == 166  # 500 // 3 whole instances; the 167th straddles both calls
    assert len(read.failed_ids) == 34
    assert read.errors[0].where == "cloudwatch:GetMetricData"
    assert "Throttling" in read.errors[0].message


def test_response_messages_are_reported():
    client, stub = _stubbed()
    results = [_result(f"q{n}", [1.0]) for n in range(3)]
    response = {"MetricDataResults": results, "Messages": [{"Code": "MaxDatapointsExceeded", "Value": "cut"}]}
    stub.add_response("get_metric_data", response, _call(0, 3, ["i-0aaaaaaaaaaaaaaaa"]))
    with stub:
        read = read_daily_usage(client, ["i-0aaaaaaaaaaaaaaaa"], NOW, 14)
    stub.assert_no_pending_responses()
    assert [e.message for e in read.errors] == ["MaxDatapointsExceeded: cut"]


def test_the_usage_facet_is_a_compact_mapping_that_builds_each_instance_on_demand():
    # GIVEN three instances: one with two days of data, one failed query, one without datapoints
    client, stub = _stubbed()
    a, b, c = "i-0aaaaaaaaaaaaaaaa", "i-0bbbbbbbbbbbbbbbb", "i-0cccccccccccccccc"
    results = [_result(f"q{n}", [float(n), float(n) + 0.5], day_offset=12) for n in range(3)]
    results += [_result("q3", [], status="InternalError"), _result("q4", []), _result("q5", [])]
    results += [_result(f"q{n}", []) for n in range(6, 9)]
    stub.add_response("get_metric_data", {"MetricDataResults": results}, _call(0, 9, [a, b, c]))
    with stub:
        read = read_daily_usage(client, [a, b, c], NOW, 14)
    stub.assert_no_pending_responses()
    usage = read.usage
    # THEN it is a read-only mapping of the readable instances, in the order asked
    assert list(usage) == [a, c] and len(usage) == 2
    assert a in usage and b not in usage and "i-unknown" not in usage
    with pytest.raises(KeyError):
        usage[b]
    assert usage.get(b) is None
    # AND each instance's days are exactly what the per-day objects held before (None: no datapoint)
    expected_a = DailyUsage(
        a,
        tuple(
            DayUsage(START + timedelta(days=n))
            if n < 12
            else DayUsage(START + timedelta(days=n), 0.0 + (n - 12) * 0.5, 1.0 + (n - 12) * 0.5, 2.0 + (n - 12) * 0.5)
            for n in range(14)
        ),
    )
    assert usage[a] == expected_a
    assert usage[c] == DailyUsage(c, tuple(DayUsage(START + timedelta(days=n)) for n in range(14)))
    assert usage == {a: expected_a, c: usage[c]}  # equal to the plain dict it replaces
