"""Organisation-wide events and sweeps on an embedded moto server with many accounts.

    python -m bench.event_burst [--accounts 100] [--regions 3] [--events 1000]
                                [--sweep-accounts 100] [--sweep-regions 17] [--skip-burst] [--skip-sweep]

Burst: an Organization of ACCOUNTS member accounts (moto maps assumed-role credentials to the
role's account), each with one instance behind one security group in each of REGIONS regions;
EVENTS events (AuthorizeSecurityGroupIngress, RunInstances, state `running`, in turn) spread over
every account x region, each handed to the Lambda entry point (chalicelib.runtime.entry.handle_event, as
on_ec2_api_call / on_instance_state_change call it) in one warm container with
ALLOWED_ACCOUNTS=organization in notify mode. Reported: AWS calls per event, AssumeRole calls in
all (goal: at most one per account per container), ListAccounts calls, and the handler thread's
CPU per event (time.thread_time: moto's server answers in its own threads, not counted).

Sweep: one fan-out over SWEEP_ACCOUNTS x SWEEP_REGIONS (the home account and members; a small
fleet: one instance in each account's first region), every worker message handled one per
invocation as deployed; calls per target and STS calls in all.

Not a timed test: `make bench-events` runs a small size. Nothing here is deployed."""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

REGIONS_17 = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "sa-east-1",
)
HOME = "123456789012"  # moto's account for the home credentials
HOME_REGION = "us-east-1"


class BenchContext:
    """A Lambda context as Lambda gives it: the function's ARN (home account) and 300 s to live."""

    invoked_function_arn = f"arn:aws:lambda:{HOME_REGION}:{HOME}:function:ec2-warden-prod-on_ec2_api_call"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def member_session(endpoint: str, account: str, region: str) -> Any:
    import boto3

    sts = boto3.client("sts", region_name=region, endpoint_url=endpoint)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/bench-seeding", RoleSessionName="seed")["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=region,
    )


def seed_box(session: Any, endpoint: str, region: str) -> tuple[str, str]:
    """One instance with a public address behind a group with SSH open (default VPC): (group, instance)."""
    ec2 = session.client("ec2", region_name=region, endpoint_url=endpoint)
    group = ec2.create_security_group(GroupName="bench", Description="bench")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SecurityGroupIds=[group])
    return group, instance["Instances"][0]["InstanceId"]


def burst(endpoint: str, accounts: int, regions: tuple[str, ...], events_count: int) -> dict[str, Any]:
    import boto3

    from chalicelib.adapters.member_sessions import MEMBER_SESSIONS
    from chalicelib.runtime import entry
    from devtools import events

    org = boto3.client("organizations", region_name=HOME_REGION, endpoint_url=endpoint)
    org.create_organization(FeatureSet="ALL")
    members = [
        org.create_account(Email=f"m{i}@example.com", AccountName=f"m{i}")["CreateAccountStatus"]["AccountId"]
        for i in range(accounts)
    ]
    started = time.monotonic()
    boxes = {}
    for account in members:
        for region in regions:
            boxes[(account, region)] = seed_box(member_session(endpoint, account, region), endpoint, region)
    seeded_s = time.monotonic() - started
    places = list(boxes)
    stream = []
    for i in range(events_count):
        account, region = places[i % len(places)]
        group, instance = boxes[(account, region)]
        kind = (i // len(places)) % 3
        if kind == 0:
            stream.append(events.authorize_ingress(group, 22, account=account, region=region))
        elif kind == 1:
            stream.append(events.run_instances([instance], group, account=account, region=region))
        else:
            stream.append(events.state_change(instance, "running", account=account, region=region))

    entry._CLIENTS.clear()
    MEMBER_SESSIONS.clear()
    settings = {
        "WARDEN_MODE": "notify",
        "ALLOWED_ACCOUNTS": "organization",
        "SWEEP_REGIONS": ",".join(regions),
        "AWS_REGION": HOME_REGION,
    }
    calls: Counter[str] = Counter()
    cpu: list[float] = []
    errors = findings = 0
    touched: set[tuple[str, str]] = set()
    first_touch_cpu: list[float] = []
    started = time.monotonic()
    with environment(settings):
        for event in stream:
            place = (event["account"], event["region"])
            t0 = time.thread_time()
            report = entry.handle_event(event, BenchContext())
            spent = time.thread_time() - t0
            (cpu if place in touched else first_touch_cpu).append(spent)
            touched.add(place)
            calls.update(report["api_calls"])
            errors += len(report["errors"])
            findings += len(report["findings"])
    wall = time.monotonic() - started
    total = sum(calls.values())
    return {
        "events": events_count,
        "accounts": accounts,
        "regions": len(regions),
        "seed_s": round(seeded_s, 1),
        "wall_s": round(wall, 1),
        "aws_calls": total,
        "calls_per_event": round(total / events_count, 2),
        "assume_role": calls.get("sts:AssumeRole", 0),
        "list_accounts": calls.get("organizations:ListAccounts", 0),
        "calls": dict(sorted(calls.items())),
        "findings": findings,
        "errors": errors,
        "cpu_ms_per_event": round(1000 * (sum(cpu) + sum(first_touch_cpu)) / events_count, 1),
        "cpu_ms_per_event_first_in_account_region": round(1000 * statistics.mean(first_touch_cpu), 1),
        "cpu_ms_per_event_warm": round(1000 * statistics.mean(cpu), 1) if cpu else None,
    }


def sweep(endpoint: str, accounts: int, regions: tuple[str, ...]) -> dict[str, Any]:
    import boto3

    from chalicelib.fanout.worker import handle_scheduled_sweep, handle_sweep_messages
    from chalicelib.runtime import entry

    members = [f"{300000000000 + i:012d}" for i in range(accounts - 1)]
    for account in members:
        seed_box(member_session(endpoint, account, regions[0]), endpoint, regions[0])
    sqs = boto3.client("sqs", region_name=HOME_REGION, endpoint_url=endpoint)
    queue = sqs.create_queue(QueueName="ec2-warden-fanout")["QueueUrl"]
    entry._CLIENTS.clear()
    settings = {
        "WARDEN_MODE": "notify",
        "FANOUT_QUEUE_URL": queue,
        "SWEEP_ACCOUNTS": ",".join([HOME, *members]),
        "SWEEP_REGIONS": ",".join(regions),
        "AWS_REGION": HOME_REGION,
    }
    started = time.monotonic()
    t0 = time.thread_time()
    with environment(settings):
        fanout = handle_scheduled_sweep({"id": "bench-sweep"}, BenchContext())
        home = entry.clients_for(HOME_REGION, entry.load_settings())
        sts_before = home.counter.snapshot().get("sts:AssumeRole", 0)
        results = []
        while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:  # batch size 1, as deployed (app.py sweep_worker)
                record = {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                }
                results.extend(handle_sweep_messages([record], BenchContext())["results"])
            sqs.delete_message_batch(
                QueueUrl=queue,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
        sts = home.counter.snapshot().get("sts:AssumeRole", 0) - sts_before
    cpu = time.thread_time() - t0
    per_target = [r["api_calls"] for r in results]
    return {
        "accounts": accounts,
        "regions": len(regions),
        "targets": fanout["targets"],
        "sent": fanout["sent"],
        "handled": len(results),
        "failed": sum(r["failed"] for r in results),
        "fanout_calls": fanout["api_calls"],
        "worker_calls": sum(per_target),
        "calls_per_target_mean": round(statistics.mean(per_target), 2) if per_target else 0,
        "calls_per_target_max": max(per_target, default=0),
        "sts_assume_role": sts,
        "wall_s": round(time.monotonic() - started, 1),
        "cpu_ms_per_target": round(1000 * cpu / max(1, len(results)), 1),
        "instances": sum(r["instances"] for r in results),
    }


def on_paper(accounts: int, regions: int) -> dict[str, Any]:
    """The sweep's calls by the API limits, for the home account plus accounts-1 members, an empty or
    small fleet in each target (notify mode: GetFindings is read even when nothing is open)."""
    targets = accounts * regions
    return {
        "targets": targets,
        "fanout": {
            "organizations:ListAccounts (organization)": -(-accounts // 20),
            "sqs:SendMessageBatch": -(-targets // 10),
        },
        "sts:AssumeRole": (accounts - 1) * regions,
        "per_empty_target": "ec2:DescribeInstances 1 + securityhub:GetFindings 1",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.event_burst", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--regions", type=int, default=3, help="first N of the 17 default regions")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--sweep-accounts", type=int, default=100)
    parser.add_argument("--sweep-regions", type=int, default=17)
    parser.add_argument("--skip-burst", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--out", help="write the results as JSON here too")
    args = parser.parse_args(argv)

    from devtools.embedded_aws import fake_credentials, moto_server

    logging.getLogger("ec2-warden").setLevel(logging.WARNING)
    out: dict[str, Any] = {}
    base = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING", "AWS_DEFAULT_REGION": HOME_REGION}
    with fake_credentials(), environment(base):
        if not args.skip_burst:
            with moto_server() as endpoint, environment({"AWS_ENDPOINT_URL": endpoint}):
                out["burst"] = burst(endpoint, args.accounts, REGIONS_17[: args.regions], args.events)
            print(json.dumps({"burst": out["burst"]}, indent=2), flush=True)
        if not args.skip_sweep:
            with moto_server() as endpoint, environment({"AWS_ENDPOINT_URL": endpoint}):
                out["sweep"] = sweep(endpoint, args.sweep_accounts, REGIONS_17[: args.sweep_regions])
            out["sweep_on_paper"] = on_paper(args.sweep_accounts, args.sweep_regions)
            print(json.dumps({"sweep": out["sweep"], "sweep_on_paper": out["sweep_on_paper"]}, indent=2), flush=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(out, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
