"""Seed a moto server with a benchmark fleet of N instances and write its ground truth.

One instance per RunInstances call (moto pages DescribeInstances by reservation, so the pages
are real), in a VPC with two /17 subnets (a /24 runs out of addresses long before 10,000).
Exposure follows devtools/fleet.py's rules, each story with twins that are not exposed:

    story                   where    groups                       exposed
    ssh-open                public   ssh-world (+ a filler)       yes
    all-traffic-open        public   all-traffic-world            yes
    postgres-open           public   postgres-world (+ a filler)  yes
    icmp-open               public   icmp-world                   yes (LOW)
    ipv6-https-open         private  https-world-v6, IPv6 addr    yes
    elastic-ip-rdp          private  rdp-world, an Elastic IP     yes
    second-interface-open   private  closed; 2nd ENI web-8080-world with an Elastic IP   yes
    public-closed           public   closed (+ a filler)          no
    private-cidr-only       public   ssh-from-10-8                no
    group-reference         public   ssh-from-app-tier            no
    ipv4-with-v6-only-rule  public   https-world-v6, no IPv6      no
    private-open            private  ssh-world                    no
    private-closed          private  closed (+ a filler)          no
    ipv6-rule-no-address    private  https-world-v6, no IPv6      no

About 10 % are stopped (never exposed, never idle). Every running instance gets a utilisation
profile over the last 14 days (CPUUtilization Average, NetworkIn and NetworkOut Sums):

    idle     CPU 1-4 %, 0.3-1.2 MB a day each way                     idle
    busy     CPU 25-70 %, 200-900 MB a day                            not idle
    chatty   CPU 1-4 %, 150-400 MB a day (network keeps it alive)     not idle
    bursty   idle but one whole busy day in the middle                not idle
    young    idle, but only 3 days of data (too young to judge)       not idle
    no-data  no datapoints at all                                     not idle

Idle is issue 3's rule: every one of the 14 days has average CPU <= 10 % and NetworkIn + NetworkOut
<= 5 MB. Datapoints are hourly (24 a day) or, with `points_per_day=1`, one a day at mid-day.
Timestamps sit at whole hours before the last whole hour, so every 24-hour bucket a reader
aligns anywhere holds the same kind of day."""

from __future__ import annotations

import ipaddress
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devtools.fleet import tcp

AMI = "ami-12c6146b"  # one of moto's built-in images
WORLD_V4 = "0.0.0.0/0"
WORLD_V6 = "::/0"
DAYS = 14
METRICS = ("CPUUtilization", "NetworkIn", "NetworkOut")
PUT_BATCH = 1000  # datums per PutMetricData call (AWS's limit)

# story -> (weight, public subnet, groups, IPv6 address, exposed when running)
STORIES: dict[str, tuple[float, bool, tuple[str, ...], bool, bool]] = {
    "ssh-open": (7, True, ("ssh-world", "+filler"), False, True),
    "all-traffic-open": (2, True, ("all-traffic-world",), False, True),
    "postgres-open": (3, True, ("postgres-world", "+filler"), False, True),
    "icmp-open": (1.5, True, ("icmp-world",), False, True),
    "ipv6-https-open": (3, False, ("https-world-v6",), True, True),
    "elastic-ip-rdp": (0.5, False, ("rdp-world",), False, True),
    "second-interface-open": (0.3, False, ("closed",), False, True),
    "public-closed": (20, True, ("closed", "+filler"), False, False),
    "private-cidr-only": (8, True, ("ssh-from-10-8",), False, False),
    "group-reference": (5, True, ("ssh-from-app-tier",), False, False),
    "ipv4-with-v6-only-rule": (3, True, ("https-world-v6",), False, False),
    "private-open": (15, False, ("ssh-world",), False, False),
    "private-closed": (28, False, ("closed", "+filler"), False, False),
    "ipv6-rule-no-address": (3, False, ("https-world-v6",), False, False),
}
PROFILES: dict[str, tuple[float, bool]] = {  # profile -> (weight, idle)
    "idle": (35, True),
    "busy": (35, False),
    "chatty": (14, False),
    "bursty": (8, False),
    "young": (4, False),
    "no-data": (4, False),
}
STOPPED_SHARE = 0.10


@dataclass
class Fleet:
    size: int
    points_per_day: int
    until: str = ""  # ISO time of the last whole hour at seeding: metrics end here
    groups: dict[str, str] = field(default_factory=dict)  # name -> id
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> facts
    timings: dict[str, float] = field(default_factory=dict)
    volumes: int = 0
    images: int = 1

    def truth(self) -> dict[str, Any]:
        running = [i for i, f in self.instances.items() if f["state"] == "running"]
        return {
            "size": self.size,
            "points_per_day": self.points_per_day,
            "until": self.until,
            "security_groups": len(self.groups) + 1,  # the VPC's default group too
            "running": len(running),
            "volumes": self.volumes,
            "images": self.images,
            "exposed": sorted(i for i, f in self.instances.items() if f["exposed"]),
            "idle": sorted(i for i, f in self.instances.items() if f["idle"]),
            "instances": self.instances,
            "seed_seconds": self.timings,
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.truth(), indent=1, sort_keys=True), encoding="utf-8")


def seed_fleet(ec2: Any, cloudwatch: Any, size: int, *, points_per_day: int = 24, seed: int = 8) -> Fleet:
    rng = random.Random(seed)
    fleet = Fleet(size=size, points_per_day=points_per_day)
    started = time.perf_counter()
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]["VpcId"]
    ipv6_block = ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
    v6_subnets = ipaddress.IPv6Network(ipv6_block).subnets(new_prefix=64)
    next(v6_subnets)
    subnets = {}
    for public, cidr in ((True, "10.0.0.0/17"), (False, "10.0.128.0/17")):
        v6 = str(next(v6_subnets))
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, Ipv6CidrBlock=v6)["Subnet"]["SubnetId"]
        if public:
            ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
        subnets[public] = subnet

    def group(name: str, permissions: list[dict[str, Any]]) -> str:
        gid = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        if permissions:
            ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=permissions)
        fleet.groups[name] = gid
        return gid

    app_tier = group("app-tier", [])
    group("closed", [])
    group("ssh-world", [tcp(22, v4=WORLD_V4)])
    group("https-world-v6", [tcp(443, v6=WORLD_V6)])
    group("all-traffic-world", [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": WORLD_V4}]}])
    group("postgres-world", [tcp(5432, v4=WORLD_V4)])
    group("icmp-world", [{"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": WORLD_V4}]}])
    group("ssh-from-app-tier", [tcp(22, group=app_tier)])
    group("ssh-from-10-8", [tcp(22, v4="10.0.0.0/8")])
    group("rdp-world", [tcp(3389, v4=WORLD_V4)])
    group("web-8080-world", [tcp(8080, v4=WORLD_V4)])
    # Filler groups, as real accounts have: one per 50 instances, each admitting a private range.
    fillers = [group(f"filler-{k:04d}", [tcp(443, v4=f"10.{k % 250}.0.0/16")]) for k in range(max(10, size // 50))]
    fleet.timings["network"] = time.perf_counter() - started

    started = time.perf_counter()
    names = list(STORIES)
    weights = [STORIES[s][0] for s in names]
    profile_names = list(PROFILES)
    profile_weights = [PROFILES[p][0] for p in profile_names]
    for n in range(size):
        story = rng.choices(names, weights)[0]
        _, public, group_names, ipv6, exposed = STORIES[story]
        gids = [rng.choice(fillers) if g == "+filler" else fleet.groups[g] for g in group_names]
        tags = {
            "Name": f"{story}-{n:05d}",
            "Environment": rng.choice(("prod", "staging", "dev", "lab")),
            "Owner": f"team-{rng.randrange(12):02d}",
        }
        if rng.random() < 0.05:
            tags["warden:protect"] = "bench"
        kwargs: dict[str, Any] = {
            "ImageId": AMI,
            "MinCount": 1,
            "MaxCount": 1,
            "InstanceType": rng.choice(("t3.micro", "t3.small", "m6i.large")),
            "SubnetId": subnets[public],
            "SecurityGroupIds": gids,
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
            ],
        }
        if ipv6:
            kwargs["Ipv6AddressCount"] = 1
        instance_id = ec2.run_instances(**kwargs)["Instances"][0]["InstanceId"]
        if story == "elastic-ip-rdp":
            allocation = ec2.allocate_address(Domain="vpc", Address=_public_address(n))["AllocationId"]
            ec2.associate_address(AllocationId=allocation, InstanceId=instance_id)
        elif story == "second-interface-open":
            eni = ec2.create_network_interface(SubnetId=subnets[False], Groups=[fleet.groups["web-8080-world"]])
            eni_id = eni["NetworkInterface"]["NetworkInterfaceId"]
            ec2.attach_network_interface(NetworkInterfaceId=eni_id, InstanceId=instance_id, DeviceIndex=1)
            allocation = ec2.allocate_address(Domain="vpc", Address=_public_address(n))["AllocationId"]
            ec2.associate_address(AllocationId=allocation, NetworkInterfaceId=eni_id)
        stopped = rng.random() < STOPPED_SHARE
        profile = "stopped" if stopped else rng.choices(profile_names, profile_weights)[0]
        fleet.instances[instance_id] = {
            "story": story,
            "state": "stopped" if stopped else "running",
            "profile": profile,
            "exposed": exposed and not stopped,
            "idle": not stopped and PROFILES[profile][1],
        }
    fleet.timings["launch"] = time.perf_counter() - started

    started = time.perf_counter()
    to_stop = [i for i, f in fleet.instances.items() if f["state"] == "stopped"]
    for batch in _chunks(to_stop, 100):
        ec2.stop_instances(InstanceIds=batch)
    fleet.timings["stop"] = time.perf_counter() - started
    fleet.volumes = sum(len(p["Volumes"]) for p in ec2.get_paginator("describe_volumes").paginate())

    started = time.perf_counter()
    until = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    fleet.until = until.isoformat()
    batch: list[dict[str, Any]] = []
    for instance_id, facts in fleet.instances.items():
        for datum in _usage(instance_id, facts["profile"], until, points_per_day, rng):
            batch.append(datum)
            if len(batch) == PUT_BATCH:
                cloudwatch.put_metric_data(Namespace="AWS/EC2", MetricData=batch)
                batch = []
    if batch:
        cloudwatch.put_metric_data(Namespace="AWS/EC2", MetricData=batch)
    fleet.timings["metrics"] = time.perf_counter() - started
    return fleet


def _public_address(n: int) -> str:
    # Documentation ranges are not public, and ec2-warden judges an Elastic IP public by owner, not by range.
    return f"198.51.{100 + n // 250 % 100}.{n % 250 + 1}"


def _usage(instance_id: str, profile: str, until: datetime, per_day: int, rng: random.Random) -> Iterator[dict]:
    """Datums for one instance, oldest first. Hourly points end one hour before `until`; daily ones sit mid-day."""
    if profile in ("stopped", "no-data"):
        return
    days = 3 if profile == "young" else DAYS
    busy_day = rng.randrange(4, DAYS - 4) if profile == "bursty" else -1
    dims = [{"Name": "InstanceId", "Value": instance_id}]
    step = timedelta(hours=24 / per_day)
    for day in range(days):  # day 0 is the most recent
        active = profile == "busy" or day == busy_day
        if active:
            cpu, net_mb = rng.uniform(25, 70), rng.uniform(200, 900)
        elif profile == "chatty":
            cpu, net_mb = rng.uniform(1, 4), rng.uniform(150, 400)
        else:
            cpu, net_mb = rng.uniform(1, 4), rng.uniform(0.3, 1.2)
        for slot in range(per_day):
            if per_day == 1:
                ts = until - timedelta(days=day, hours=12)
            else:
                ts = until - timedelta(days=day) - step * (slot + 1)
            net = net_mb * 1_000_000 / per_day
            yield {"MetricName": "CPUUtilization", "Dimensions": dims, "Timestamp": ts, "Value": cpu}
            yield {"MetricName": "NetworkIn", "Dimensions": dims, "Timestamp": ts, "Value": net, "Unit": "Bytes"}
            yield {"MetricName": "NetworkOut", "Dimensions": dims, "Timestamp": ts, "Value": net, "Unit": "Bytes"}


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
