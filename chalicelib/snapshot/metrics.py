"""CloudWatch reads for the snapshot: daily CPU and network of the running instances in scope.

One GetMetricData call carries up to 500 queries, three per instance (CPUUtilization Average,
NetworkIn Sum, NetworkOut Sum, each at a one-day period), packed flat so that a sweep makes
ceil(3 x running / 500) calls. The instance's queries may straddle two calls; results are joined by
query id. No metric math: moto answers Expression queries with nothing, and summing two series in
Python is trivial.

The window ends at the last whole hour (CloudWatch answers faster for hour-aligned times, and a
sweep an hour later sees the same days) and holds exactly `days` one-day buckets, the last one
being "the most recent day" that the stop re-check uses.

Missing data is explicit: a day without a datapoint is None, not zero (zero would read as idle);
an instance whose queries failed (the call, or a query's StatusCode) is left out of the mapping,
so the idle check reports it as not evaluated instead of guessing."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.adapters.clients import AWS_ERRORS, AwsClients, aws_error_message
from chalicelib.model import DailyUsage, DayUsage, Instance, ReadError

MAX_QUERIES_PER_CALL = 500  # GetMetricData's limit on MetricDataQueries
DAY_SECONDS = 86_400
MAX_PAGES_PER_CALL = 20  # a guard against a NextToken that never ends; 500 x 90 days needs one page
WHERE = "cloudwatch:GetMetricData"

# (field on DayUsage, metric name, statistic)
METRICS: tuple[tuple[str, str, str], ...] = (
    ("cpu_percent", "CPUUtilization", "Average"),
    ("network_in_bytes", "NetworkIn", "Sum"),
    ("network_out_bytes", "NetworkOut", "Sum"),
)


@dataclass
class UsageRead:
    usage: Mapping[str, DailyUsage] = field(default_factory=dict)
    errors: list[ReadError] = field(default_factory=list)
    failed_ids: set[str] = field(default_factory=set)


def usage_window(now: datetime, days: int) -> tuple[datetime, datetime]:
    end = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(UTC)
    end = end.replace(minute=0, second=0, microsecond=0)
    return end - timedelta(days=days), end


def read_usage_facet(
    clients: AwsClients, instances: Iterable[Instance], now: datetime, days: int, errors: list[ReadError]
) -> Mapping[str, DailyUsage]:
    """The snapshot's `usage` facet: only running instances have usage worth reading."""
    running = sorted({i.id for i in instances if i.state == "running"})
    if not running:
        return {}
    read = read_daily_usage(clients.get("cloudwatch"), running, now, days)
    errors.extend(read.errors)
    return read.usage


def read_daily_usage(cloudwatch: Any, instance_ids: Sequence[str], now: datetime, days: int) -> UsageRead:
    start, end = usage_window(now, days)
    # Query n is metric n % 3 of instance n // 3. Queries are built one call at a time and each call's
    # answers are folded at once into flat arrays (NaN: no datapoint), so a 10,000-instance sweep holds
    # 500 queries and their answers rather than 30,000 of each: ~40 MB less at its peak (bench/).
    width = len(METRICS)
    total = len(instance_ids) * width
    values = [array("d", [math.nan]) * (len(instance_ids) * days) for _ in METRICS]

    def owner(query_id: str) -> tuple[int, int]:  # (instance index, metric index)
        return divmod(int(query_id[1:]), width)

    out = UsageRead()
    bad_status: dict[str, set[str]] = {}  # StatusCode (or "missing") -> instances it left unread
    for chunk_start in range(0, total, MAX_QUERIES_PER_CALL):
        chunk = []
        for n in range(chunk_start, min(total, chunk_start + MAX_QUERIES_PER_CALL)):
            _, metric, stat = METRICS[n % width]
            chunk.append(_query(f"q{n}", instance_ids[n // width], metric, stat))
        series: dict[str, dict[int, float]] = {}  # query id -> day index -> value, this call's only
        try:
            statuses = _call(cloudwatch, chunk, start, end, series, out.errors)
        except AWS_ERRORS as exc:
            failed = {instance_ids[owner(q["Id"])[0]] for q in chunk}
            out.failed_ids |= failed
            out.errors.append(ReadError(WHERE, f"{aws_error_message(exc)}: {len(failed)} instance(s) not evaluated"))
            continue
        for query in chunk:
            status = statuses.get(query["Id"], "missing")
            if status != "Complete":  # PartialData after the last page, InternalError, Forbidden
                bad_status.setdefault(status, set()).add(instance_ids[owner(query["Id"])[0]])
        for query_id, points in series.items():
            instance, metric_index = owner(query_id)
            for index, value in points.items():
                values[metric_index][instance * days + index] = value
    for status, ids in sorted(bad_status.items()):
        out.failed_ids |= ids
        out.errors.append(ReadError(WHERE, f"query status {status}: {len(ids)} instance(s) not evaluated"))

    day_starts = tuple(start + timedelta(days=index) for index in range(days))
    kept = {instance_id: index for index, instance_id in enumerate(instance_ids) if instance_id not in out.failed_ids}
    out.usage = UsageTable(kept, day_starts, *values)
    return out


class UsageTable(Mapping[str, DailyUsage]):
    """The usage facet, compact: instance id -> DailyUsage, built when asked for.

    Three flat arrays of doubles (NaN: no datapoint) instead of a DayUsage object per instance and
    day: at 10,000 instances x 14 days that is 3 MB instead of ~18 MB held through the whole run
    (bench/: the every-check sweep must fit a 128 MB Lambda). A check reads each instance once."""

    __slots__ = ("_cpu", "_day_starts", "_index", "_net_in", "_net_out")

    def __init__(
        self,
        index: dict[str, int],
        day_starts: tuple[datetime, ...],
        cpu: array[float],
        net_in: array[float],
        net_out: array[float],
    ) -> None:
        self._index = index  # instance id -> its row (row * days is its first day in the arrays)
        self._day_starts = day_starts
        self._cpu, self._net_in, self._net_out = cpu, net_in, net_out

    def __getitem__(self, instance_id: str) -> DailyUsage:
        base = self._index[instance_id] * len(self._day_starts)
        return DailyUsage(
            instance_id=instance_id,
            days=tuple(
                DayUsage(
                    start=day_start,
                    cpu_percent=_value(self._cpu, base + index),
                    network_in_bytes=_value(self._net_in, base + index),
                    network_out_bytes=_value(self._net_out, base + index),
                )
                for index, day_start in enumerate(self._day_starts)
            ),
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, instance_id: object) -> bool:
        return instance_id in self._index


def _value(series: array[float], at: int) -> float | None:
    found = series[at]
    return None if math.isnan(found) else found


def _query(query_id: str, instance_id: str, metric: str, stat: str) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/EC2",
                "MetricName": metric,
                "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
            },
            "Period": DAY_SECONDS,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def _call(
    cloudwatch: Any,
    chunk: list[dict[str, Any]],
    start: datetime,
    end: datetime,
    series: dict[str, dict[int, float]],
    errors: list[ReadError],
) -> dict[str, str]:
    """One logical GetMetricData call (its NextToken pages included). Returns each query's last StatusCode."""
    statuses: dict[str, str] = {}
    token: str | None = None
    for _ in range(MAX_PAGES_PER_CALL):
        kwargs: dict[str, Any] = {
            "MetricDataQueries": chunk,
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        if token:
            kwargs["NextToken"] = token
        response = cloudwatch.get_metric_data(**kwargs)
        for result in response.get("MetricDataResults", []):
            query_id = result.get("Id")
            if query_id is None:
                continue
            points = series.setdefault(query_id, {})
            for ts, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                index = int((_utc(ts) - start).total_seconds() // DAY_SECONDS)
                if 0 <= index < round((end - start).total_seconds() / DAY_SECONDS):
                    points[index] = float(value)
            statuses[query_id] = str(result.get("StatusCode", "Complete"))
        for message in response.get("Messages", []):
            errors.append(ReadError(WHERE, f"{message.get('Code', '')}: {message.get('Value', '')}".strip()))
        token = response.get("NextToken")
        if not token:
            return statuses
    # Still paging after the guard: what we hold is partial; say so rather than judge on it.
    return {query_id: "PartialData" for query_id in statuses}


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
