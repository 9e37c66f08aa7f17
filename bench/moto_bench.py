"""Changes to the benchmark's own moto server, so that it answers as AWS would in feasible time.

1. DescribeInstances without MaxResults: moto pages at 100 reservations; AWS answers an unpaginated
   call whole (its EC2 guide warns that such calls may time out on large fleets, which is why
   ec2-warden pages at 1,000). Cloud Custodian does not pass MaxResults, so on stock moto it would
   be charged 10 calls per 1,000 instances that AWS serves in one. Here moto answers it whole too.

2. An EC2 resource's tags, looked up by its id: moto runs a regex over every tag in the region for
   each instance it describes, so describing 10,000 instances (50,000 tags) takes minutes of
   server time, on seeding and for both tools alike. Same tags, same order.

3. CloudWatch, indexed. Stock moto 5.2.5 answers each GetMetricData query by scanning every stored
   datapoint once per period (queries x periods x datapoints per call), and each
   GetMetricStatistics call by scanning every datapoint once. `python -m bench.cloudwatch_probe`
   measures it: at 1,000 instances x 3 metrics x 14 days of hourly datapoints (~840,000 points),
   ec2-warden's 6 GetMetricData calls would take ~2.6 hours of server time and c7n's ~1,800
   GetMetricStatistics calls ~28 minutes, which says nothing about AWS. The index gives the same
   answers (same buckets, same statistics, computed by moto's own `Statistics`; the probe and
   tests/integration/test_bench_moto.py compare them) but finds a series' datapoints by key and
   bisection.

Installed only in the benchmark's own process, where it runs moto's server; ec2-warden and Cloud
Custodian talk to it over HTTP as to any moto server. It answers exact-dimension queries on
single values without a Unit filter (what the fleet seeds and both tools ask: one InstanceId
dimension, no StatisticValues); any other query falls back to moto's own code."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from moto.cloudwatch.models import CloudWatchBackend, MetricDatum, Statistics
from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.models.instances import InstanceBackend
from moto.ec2.responses.instances import InstanceResponse
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix

Key = tuple[str, str, tuple[tuple[str, str], ...]]

_original_get_metric_data = CloudWatchBackend.get_metric_data
_original_get_metric_statistics = CloudWatchBackend.get_metric_statistics
_original_describe_instances = InstanceResponse.describe_instances
_original_get_instance = InstanceBackend.get_instance
_original_get_tags = TaggedEC2Resource.get_tags


class _Index:
    def __init__(self, data: list[Any]) -> None:
        self.size = len(data)
        self.exact = all(type(md) is MetricDatum for md in data)  # single values, not StatisticValues
        series: dict[Key, list[Any]] = {}
        for md in data:
            key = (md.namespace, md.name, tuple(sorted((d.name, d.value) for d in md.dimensions)))
            series.setdefault(key, []).append(md)
        self.series: dict[Key, tuple[list[datetime], list[Any]]] = {}
        for key, points in series.items():
            points.sort(key=lambda md: md.timestamp)
            self.series[key] = ([md.timestamp for md in points], points)

    def between(self, key: Key, start: datetime, end: datetime) -> list[Any]:
        found = self.series.get(key)
        if not found:
            return []
        stamps, points = found
        return points[bisect_left(stamps, start) : bisect_left(stamps, end)]


def _index(backend: CloudWatchBackend) -> _Index:
    index = getattr(backend, "_bench_index", None)
    if index is None or index.size != len(backend.metric_data) or backend.aws_metric_data:
        index = _Index(backend.metric_data)
        backend._bench_index = index  # type: ignore[attr-defined]
    return index


def _key(namespace: str, name: str, dimensions: list[dict[str, str]]) -> Key:
    return namespace, name, tuple(sorted((d["Name"], d["Value"]) for d in dimensions))


def get_metric_data(
    self: CloudWatchBackend,
    queries: list[dict[str, Any]],
    start_time: datetime,
    end_time: datetime,
    scan_by: str = "TimestampAscending",
) -> list[dict[str, Any]]:
    index = _index(self)
    simple = all("MetricStat" in q and not q["MetricStat"].get("Unit") for q in queries)
    if not (simple and index.exact) or start_time >= end_time:
        return _original_get_metric_data(self, queries, start_time, end_time, scan_by)
    start_time = start_time.replace(microsecond=0)
    end_time = end_time.replace(microsecond=0)
    results = []
    for query in queries:
        stat_spec = query["MetricStat"]
        metric = stat_spec["Metric"]
        key = _key(metric["Namespace"], metric["MetricName"], metric.get("Dimensions", []))
        delta = timedelta(seconds=int(stat_spec["Period"]))
        stat = stat_spec["Stat"]
        values: list[Any] = []
        stamps: list[datetime] = []
        period_start = start_time
        while period_start <= end_time:  # moto's own loop: the last bucket may be partial
            points = index.between(key, period_start, min(period_start + delta, end_time))
            if points:
                stats = Statistics([stat], period_start)
                stats.metric_data = points
                values.append(stats.get_statistics_for_type(stat))
                stamps.append(stats.timestamp)
            period_start += delta
        if scan_by == "TimestampDescending":
            values.reverse()
            stamps.reverse()
        if query.get("ReturnData", True):
            label = query.get("Label") or f"{metric['MetricName']} {stat}"
            results.append(
                {"id": query["Id"], "label": label, "values": values, "timestamps": stamps, "status_code": "Complete"}
            )
    return results


def get_metric_statistics(
    self: CloudWatchBackend,
    namespace: str,
    metric_name: str,
    start_time: datetime,
    end_time: datetime,
    period: int,
    stats: list[str],
    dimensions: list[dict[str, str]],
    unit: str | None = None,
) -> list[Statistics]:
    index = _index(self)
    if unit or not index.exact or not dimensions or start_time >= end_time:
        return _original_get_metric_statistics(
            self, namespace, metric_name, start_time, end_time, period, stats, dimensions, unit
        )
    start_time = start_time.replace(microsecond=0)
    end_time = end_time.replace(microsecond=0)
    points = index.between(_key(namespace, metric_name, dimensions), start_time, end_time)
    if not points:
        return []
    # moto's buckets start at the first datapoint, not at StartTime.
    delta = timedelta(seconds=period)
    data: list[Statistics] = []
    bucket_start = points[0].timestamp
    i = 0
    while i < len(points):
        bucket = Statistics(stats, bucket_start)
        while i < len(points) and points[i].timestamp < bucket_start + delta:
            bucket.metric_data.append(points[i])
            bucket.unit = points[i].unit
            i += 1
        if bucket.metric_data:
            data.append(bucket)
        bucket_start += delta
    return data


def _describe_instances_unpaged(self: Any) -> Any:
    get_param = self._get_param

    def whole_when_unpaginated(name: str, if_none: Any = None) -> Any:
        if name == "MaxResults":
            return get_param(name, 1_000_000)  # absent: everything, as AWS does
        return get_param(name, if_none)

    self._get_param = whole_when_unpaginated
    return _original_describe_instances(self)


def _get_tags_by_id(self: Any) -> list[dict[str, str]]:
    # moto's own: describe_tags(filters={"resource-id": [self.id]}), a regex over every tag in the region.
    if not self.id:
        return []
    kind = EC2_PREFIX_TO_RESOURCE.get(get_prefix(self.id), "")
    tags = self.ec2_backend.tags.get(self.id, {})
    return [{"resource_id": self.id, "key": k, "value": v, "resource_type": kind} for k, v in tags.items()]


def install(*, index_cloudwatch: bool = True) -> None:
    """Apply the changes in this process's moto (the process that runs moto's server)."""
    InstanceResponse.describe_instances = _describe_instances_unpaged  # type: ignore[method-assign]
    TaggedEC2Resource.get_tags = _get_tags_by_id  # type: ignore[method-assign]
    if not index_cloudwatch:
        return
    CloudWatchBackend.get_metric_data = get_metric_data  # type: ignore[method-assign]
    CloudWatchBackend.get_metric_statistics = get_metric_statistics  # type: ignore[method-assign]


def uninstall() -> None:
    """Give moto back its own code (tests install and uninstall around one case)."""
    InstanceResponse.describe_instances = _original_describe_instances  # type: ignore[method-assign]
    TaggedEC2Resource.get_tags = _original_get_tags  # type: ignore[method-assign]
    CloudWatchBackend.get_metric_data = _original_get_metric_data  # type: ignore[method-assign]
    CloudWatchBackend.get_metric_statistics = _original_get_metric_statistics  # type: ignore[method-assign]


def _get_instance_indexed(self: Any, instance_id: str) -> Any:
    known: dict[str, Any] = self.__dict__.setdefault("_bench_instances", {})
    found = known.get(instance_id)
    if found is not None:
        return found
    for reservation in reversed(self.reservations.values()):  # the newest first: seeding asks for those
        for instance in reservation.instances:
            known[instance.id] = instance
        if instance_id in known:
            return known[instance_id]
    return _original_get_instance(self, instance_id)  # raises moto's own error


@contextmanager
def fast_seeding() -> Iterator[None]:
    """While seeding: moto's get_instance scans (and copies) every reservation, which makes launching
    N instances O(N^2) (10,000 took over 20 minutes). Look instances up by id instead; the tools never
    run under this."""
    InstanceBackend.get_instance = _get_instance_indexed  # type: ignore[method-assign]
    try:
        yield
    finally:
        InstanceBackend.get_instance = _original_get_instance  # type: ignore[method-assign]
