"""The benchmark's changes to its own moto server keep moto's answers (bench/moto_bench.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from bench import moto_bench

END = datetime(2026, 1, 31, 12, tzinfo=UTC)


@pytest.fixture
def cloudwatch():
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")
    moto_bench.uninstall()


def _seed(cw, instances: int = 3, days: int = 4) -> list[str]:
    ids = [f"i-{n:017x}" for n in range(instances)]
    data = [
        {
            "MetricName": name,
            "Dimensions": [{"Name": "InstanceId", "Value": instance}],
            "Timestamp": END - timedelta(hours=hour),
            "Value": float(hour % 7 + n),
        }
        for n, instance in enumerate(ids)
        for hour in range(1, days * 24 + 1, 5)
        for name in ("CPUUtilization", "NetworkIn")
    ]
    for start in range(0, len(data), 500):
        cw.put_metric_data(Namespace="AWS/EC2", MetricData=data[start : start + 500])
    return ids


def _queries(ids: list[str]) -> list[dict]:
    return [
        {
            "Id": f"q{n}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/EC2",
                    "MetricName": name,
                    "Dimensions": [{"Name": "InstanceId", "Value": i}],
                },
                "Period": 86400,
                "Stat": stat,
            },
        }
        for n, (i, name, stat) in enumerate(
            (i, name, stat)
            for i in [*ids, "i-none"]
            for name in ("CPUUtilization", "NetworkIn")
            for stat in ("Average", "Sum")
        )
    ]


def test_indexed_cloudwatch_answers_as_stock_moto(cloudwatch):
    # GIVEN hourly-ish datapoints for a few instances, and queries for them and for one without data
    ids = _seed(cloudwatch)
    window = {"StartTime": END - timedelta(days=3, hours=5), "EndTime": END}
    statistics = [
        {
            "Namespace": "AWS/EC2",
            "MetricName": "NetworkIn",
            "Dimensions": [{"Name": "InstanceId", "Value": i}],
            "Period": 86400,
            "Statistics": ["Sum", "Average", "SampleCount"],
            **window,
        }
        for i in [*ids, "i-none"]
    ]

    def answers():
        data = cloudwatch.get_metric_data(MetricDataQueries=_queries(ids), **window)["MetricDataResults"]
        stats = [
            sorted(cloudwatch.get_metric_statistics(**s)["Datapoints"], key=lambda d: d["Timestamp"])
            for s in statistics
        ]
        return data, stats

    # WHEN they are answered by stock moto, then through the index
    stock = answers()
    moto_bench.install()
    indexed = answers()

    # THEN the answers are the same, values and buckets
    assert indexed == stock
    assert any(r["Values"] for r in stock[0]) and any(stock[1])


def test_describe_instances_without_max_results_is_answered_whole_with_the_same_tags():
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        tags = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "x"}, {"Key": "Owner", "Value": "y"}]}]
        for _ in range(105):
            ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, TagSpecifications=tags)
        stock = ec2.describe_instances()
        moto_bench.install()
        try:
            whole = ec2.describe_instances()
            paged = ec2.describe_instances(MaxResults=50)
        finally:
            moto_bench.uninstall()
    # moto pages an unpaginated call at 100; AWS (and the bench's moto) answer it whole, and still page on request
    assert (len(stock["Reservations"]), "NextToken" in stock) == (100, True)
    assert (len(whole["Reservations"]), "NextToken" in whole) == (105, False)
    assert (len(paged["Reservations"]), "NextToken" in paged) == (50, True)
    # and with the same tags
    assert whole["Reservations"][:100] == stock["Reservations"]
