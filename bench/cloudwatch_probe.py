"""How slow stock moto's CloudWatch gets, and what bench/moto_bench.py's index changes.

    python -m bench.cloudwatch_probe [--instances 100] [--queries 30]

Seeds `instances` x 3 metrics x 14 days of hourly datapoints into an in-process moto, then times one
GetMetricData call of `queries` daily queries and one GetMetricStatistics call, on stock moto and
with the index. Stock cost grows with queries x periods x all stored datapoints (GetMetricData) and
with all stored datapoints (GetMetricStatistics), so the per-unit costs printed here extrapolate to a
fleet: see the closing lines."""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta

DAYS = 14


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="probe", AWS_SECRET_ACCESS_KEY="probe", AWS_DEFAULT_REGION="eu-west-1")
    import boto3
    from moto import mock_aws

    from bench import moto_bench

    with mock_aws():
        cw = boto3.client("cloudwatch", region_name="eu-west-1")
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        ids = [f"i-{n:017x}" for n in range(args.instances)]
        batch = []
        for instance in ids:
            dims = [{"Name": "InstanceId", "Value": instance}]
            for hour in range(1, DAYS * 24 + 1):
                ts = end - timedelta(hours=hour)
                for name in ("CPUUtilization", "NetworkIn", "NetworkOut"):
                    batch.append({"MetricName": name, "Dimensions": dims, "Timestamp": ts, "Value": 1.0})
            if len(batch) >= 1000:
                cw.put_metric_data(Namespace="AWS/EC2", MetricData=batch)
                batch = []
        if batch:
            cw.put_metric_data(Namespace="AWS/EC2", MetricData=batch)
        points = args.instances * 3 * DAYS * 24
        queries = [
            {
                "Id": f"q{n}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/EC2",
                        "MetricName": "CPUUtilization",
                        "Dimensions": [{"Name": "InstanceId", "Value": ids[n % len(ids)]}],
                    },
                    "Period": 86400,
                    "Stat": "Average",
                },
            }
            for n in range(args.queries)
        ]
        start = end - timedelta(days=DAYS)
        gms = {
            "Namespace": "AWS/EC2",
            "MetricName": "CPUUtilization",
            "Dimensions": [{"Name": "InstanceId", "Value": ids[0]}],
            "StartTime": start,
            "EndTime": end,
            "Period": 86400,
            "Statistics": ["Average"],
        }
        timings = {}
        for label in ("stock", "indexed"):
            if label == "indexed":
                moto_bench.install()
            t0 = time.perf_counter()
            data = cw.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end)
            t1 = time.perf_counter()
            stats = cw.get_metric_statistics(**gms)
            t2 = time.perf_counter()
            timings[label] = (t1 - t0, t2 - t1, data["MetricDataResults"], stats["Datapoints"])
    stock, indexed = timings["stock"], timings["indexed"]
    same = stock[2] == indexed[2] and sorted(map(str, stock[3])) == sorted(map(str, indexed[3]))
    per_query_point = stock[0] / (args.queries * points)
    per_point = stock[1] / points
    print(f"{points:,} datapoints stored ({args.instances} instances x 3 metrics x {DAYS} days hourly)")
    print(f"GetMetricData, {args.queries} queries: stock {stock[0]:.2f} s, indexed {indexed[0]:.4f} s")
    print(f"GetMetricStatistics, 1 metric: stock {stock[1]:.3f} s, indexed {indexed[1]:.4f} s")
    print(f"same answers: {same}")
    for fleet, per_day in ((1000, 24), (10000, 1)):
        running = int(fleet * 0.9)
        stored = int(running * 0.92) * 3 * DAYS * per_day
        gmd_calls = -(-3 * running // 500)
        gmd = per_query_point * 500 * stored * gmd_calls
        gms_calls = 2 * running  # c7n: CPU for every running instance, network for those that pass
        print(
            f"stock moto at {fleet:,} instances ({per_day}/day, ~{stored:,} points): ec2-warden's {gmd_calls} "
            f"GetMetricData calls ~{gmd / 3600:.1f} h of server time; c7n's ~{gms_calls:,} GetMetricStatistics "
            f"~{per_point * stored * gms_calls / 60:.0f} min"
        )


if __name__ == "__main__":
    main()
