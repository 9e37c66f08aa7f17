"""Seed moto with an idle-detection fleet whose ground truth is known, metrics included.

moto has no automatic EC2 metrics, so each story's CPUUtilization, NetworkIn and NetworkOut are put
with put_metric_data: three datapoints a day, eight hours apart, so every 24-hour bucket holds
exactly three whatever hour the window is aligned to. Stories:

    forgotten-lab-box   idle for a month                         -> idle
    protected-idle      idle for a month, warden:protect         -> idle (protected: never stopped)
    busy-web            CPU 45 % every day                       -> active
    bursty-batch        idle but one busy day in the window      -> active (default: every day idle)
    network-heavy       low CPU but 60 MB a day of traffic       -> active
    young-box           three days of idle data                  -> not enough data
    no-data-box         no datapoints at all                     -> not enough data
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .fleet import AMI

IDLE = "idle"
ACTIVE = "active"
NO_VERDICT = "not-enough-data"

POINTS_PER_DAY = 3
STEP = timedelta(hours=24 / POINTS_PER_DAY)


@dataclass(frozen=True)
class Day:
    cpu: float  # percent
    network_mb: float  # NetworkIn + NetworkOut over the day, in MB (10^6 bytes)


QUIET = Day(cpu=1.5, network_mb=0.6)
BUSY = Day(cpu=45.0, network_mb=300.0)
CHATTY = Day(cpu=2.0, network_mb=60.0)


@dataclass
class IdleFleet:
    instances: dict[str, str] = field(default_factory=dict)  # story -> instance id
    expected: dict[str, str] = field(default_factory=dict)  # story -> IDLE, ACTIVE or NO_VERDICT

    def ids(self, verdict: str) -> set[str]:
        return {self.instances[s] for s, v in self.expected.items() if v == verdict}


def launch_one(ec2: Any, name: str, tags: dict[str, str] | None = None, subnet_id: str | None = None) -> str:
    all_tags = {"Name": name, **(tags or {})}
    kwargs: dict[str, Any] = {
        "ImageId": AMI,
        "MinCount": 1,
        "MaxCount": 1,
        "InstanceType": "t3.micro",
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in all_tags.items()]}
        ],
    }
    if subnet_id:
        kwargs["SubnetId"] = subnet_id
    return str(ec2.run_instances(**kwargs)["Instances"][0]["InstanceId"])


def put_daily_usage(cloudwatch: Any, instance_id: str, days: list[Day], until: datetime) -> None:
    """`days` oldest first; the last day ends at `until`. One put_metric_data call per 20 datapoints."""
    data: list[dict[str, Any]] = []
    start = until - timedelta(days=len(days))
    for index, day in enumerate(days):
        for slot in range(POINTS_PER_DAY):
            # Half a step in, so no datapoint ever sits on a bucket boundary.
            ts = start + timedelta(days=index) + STEP * slot + STEP / 2
            net_bytes = day.network_mb * 1_000_000 / POINTS_PER_DAY / 2
            dims = [{"Name": "InstanceId", "Value": instance_id}]
            data.append({"MetricName": "CPUUtilization", "Dimensions": dims, "Timestamp": ts, "Value": day.cpu})
            data.append({"MetricName": "NetworkIn", "Dimensions": dims, "Timestamp": ts, "Value": net_bytes})
            data.append({"MetricName": "NetworkOut", "Dimensions": dims, "Timestamp": ts, "Value": net_bytes})
    for batch in _chunks(data, 20):
        cloudwatch.put_metric_data(Namespace="AWS/EC2", MetricData=batch)


def seed_idle_fleet(
    ec2: Any, cloudwatch: Any, until: datetime, *, month: int = 30, tags: dict[str, str] | None = None
) -> IdleFleet:
    """Launch one instance per story and put its metrics up to `until` (the latest time judged)."""
    until = until if until.tzinfo else until.replace(tzinfo=UTC)
    fleet = IdleFleet()
    extra = tags or {}
    bursty = [QUIET] * month
    bursty[-5] = BUSY  # one busy day, well inside a 14-day window whatever the alignment
    stories: list[tuple[str, list[Day], dict[str, str], str]] = [
        ("forgotten-lab-box", [QUIET] * month, {"Environment": "lab", "Owner": "alice"}, IDLE),
        ("protected-idle", [QUIET] * month, {"Environment": "lab", "Owner": "bob", "warden:protect": "dr"}, IDLE),
        ("busy-web", [BUSY] * month, {"Environment": "prod", "Owner": "web-team"}, ACTIVE),
        ("bursty-batch", bursty, {"Environment": "prod", "Owner": "data-team"}, ACTIVE),
        ("network-heavy", [CHATTY] * month, {"Environment": "prod", "Owner": "web-team"}, ACTIVE),
        ("young-box", [QUIET] * 3, {"Environment": "dev", "Owner": "carol"}, NO_VERDICT),
        ("no-data-box", [], {"Environment": "dev"}, NO_VERDICT),
    ]
    for story, days, story_tags, verdict in stories:
        instance_id = launch_one(ec2, story, {**story_tags, **extra})
        if days:
            put_daily_usage(cloudwatch, instance_id, days, until)
        fleet.instances[story] = instance_id
        fleet.expected[story] = verdict
    return fleet


def backdate_stop(instance_id: str, stopped_at: datetime, account: str = "123456789012", region: str = "") -> None:
    """Make moto say an instance stopped at `stopped_at` (moto stamps the real clock; in-process only)."""
    from moto.ec2.models import ec2_backends

    for backend_region, backend in ec2_backends[account].items():
        if region and backend_region != region:
            continue
        for reservation in backend.reservations.values():
            for instance in reservation.instances:
                if instance.id == instance_id:
                    instance._reason = f"User initiated ({stopped_at.strftime('%Y-%m-%d %H:%M:%S')} GMT)"
                    return
    raise KeyError(instance_id)


def set_launch_time(instance_id: str, launched_at: datetime, account: str = "123456789012", region: str = "") -> None:
    """EC2 resets LaunchTime at every start; moto does not, so tests that need a restart set it here."""
    from moto.ec2.models import ec2_backends

    for backend_region, backend in ec2_backends[account].items():
        if region and backend_region != region:
            continue
        for reservation in backend.reservations.values():
            for instance in reservation.instances:
                if instance.id == instance_id:
                    instance.launch_time = launched_at.astimezone(UTC).replace(tzinfo=None)  # moto keeps naive UTC
                    return
    raise KeyError(instance_id)


def _chunks(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
