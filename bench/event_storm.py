"""An event storm handled one by one (direct delivery) and queued in batches (on_event_batch).

    python -m bench.event_storm [--accounts 10] [--instances 200] [--events 1000] [--batch 100]
                                [--storm-seconds 60]

ACCOUNTS member accounts (moto maps assumed-role credentials to the role's account), each with
INSTANCES instances in 4 security groups; EVENTS events spread evenly over the accounts: 80 %
RunInstances naming a few of the instances each (every instance named once), 20 %
AuthorizeSecurityGroupIngress on the groups. The same events, shuffled, are then handled:

  one by one  chalicelib.runtime.entry.handle_event per event (what on_ec2_api_call runs)
  queued      chalicelib.runtime.batch_entry.handle_event_batch per BATCH records (on_event_batch)

in a warm container each (audit mode: nothing written, so both see the same world). Reported: AWS
calls in all and per event, DescribeInstances per account, the handler thread's CPU
(time.thread_time; moto's server threads not counted), and the DescribeInstances rate per account
if the storm arrives over STORM_SECONDS, against EC2's request token bucket for non-mutating
actions (Describe*: bucket 100, refill 20 a second, per account and region; EC2 API reference,
"Request throttling"), the calls spread evenly over the storm. Not a timed test; nothing is
deployed."""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from typing import Any

from bench.event_burst import HOME_REGION, BenchContext, environment, member_session

EC2_DESCRIBE_REFILL_PER_S = 20  # EC2 request token bucket, non-mutating actions


def seed(endpoint: str, accounts: int, per_account: int) -> dict[str, dict[str, list[str]]]:
    """account -> group -> instance ids."""
    world: dict[str, dict[str, list[str]]] = {}
    for n in range(accounts):
        account = f"{400000000000 + n:012d}"
        ec2 = member_session(endpoint, account, HOME_REGION).client("ec2", endpoint_url=endpoint)
        world[account] = {}
        for g in range(4):
            group = ec2.create_security_group(GroupName=f"tier-{g}", Description="storm")["GroupId"]
            count = per_account // 4 + (1 if g < per_account % 4 else 0)
            launched = ec2.run_instances(
                ImageId="ami-12c6146b", MinCount=count, MaxCount=count, SecurityGroupIds=[group]
            )
            world[account][group] = [i["InstanceId"] for i in launched["Instances"]]
        ec2.authorize_security_group_ingress(
            GroupId=next(iter(world[account])),
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
    return world


def storm(world: dict[str, dict[str, list[str]]], events_count: int) -> list[dict[str, Any]]:
    from devtools import events

    per_account = events_count // len(world)
    out: list[dict[str, Any]] = []
    for account, groups in world.items():
        launches = per_account * 4 // 5
        pairs = [(g, i) for g, ids in groups.items() for i in ids]
        for n in range(launches):
            chunk = pairs[n::launches]
            if chunk:
                out.append(
                    events.run_instances([i for _, i in chunk], chunk[0][0], account=account, region=HOME_REGION)
                )
        group_ids = list(groups)
        for n in range(per_account - launches):
            out.append(events.authorize_ingress(group_ids[n % 4], 22, account=account, region=HOME_REGION))
    random.Random(7).shuffle(out)
    return out


def _run(kind: str, stream: list[dict[str, Any]], batch: int) -> dict[str, Any]:
    from chalicelib.adapters.member_sessions import MEMBER_SESSIONS
    from chalicelib.runtime import entry
    from chalicelib.runtime.batch_entry import handle_event_batch
    from chalicelib.runtime.entry import handle_event

    entry._CLIENTS.clear()
    MEMBER_SESSIONS.clear()
    calls: Counter[str] = Counter()
    describe_by_account: Counter[str] = Counter()
    findings: set[str] = set()
    started, cpu0 = time.monotonic(), time.thread_time()
    invocations = 0
    if kind == "one-by-one":
        for event in stream:
            report = handle_event(event, BenchContext())
            invocations += 1
            calls.update(report["api_calls"])
            describe_by_account[event["account"]] += report["api_calls"].get("ec2:DescribeInstances", 0)
            findings |= {f["id"] for f in report["findings"]}
    else:
        for start in range(0, len(stream), batch):
            records = [
                {"messageId": f"m-{start + i}", "body": json.dumps(e)}
                for i, e in enumerate(stream[start : start + batch])
            ]
            answer = handle_event_batch(records, BenchContext())
            invocations += 1
            calls.update(answer["api_calls"])
            for group in answer["groups"]:
                report = group["report"]
                describe_by_account[report["scope"]["account"]] += report["api_calls"].get("ec2:DescribeInstances", 0)
                findings |= {f["id"] for f in report["findings"]}
    cpu = time.thread_time() - cpu0
    total = sum(calls.values())
    return {
        "invocations": invocations,
        "aws_calls": total,
        "calls_per_event": round(total / len(stream), 2),
        "describe_instances_per_account_max": max(describe_by_account.values(), default=0),
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_event": round(1000 * cpu / len(stream), 1),
        "wall_s": round(time.monotonic() - started, 1),
        "findings": len(findings),
        "assume_role": calls.get("sts:AssumeRole", 0),
        "calls": dict(sorted(calls.items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.event_storm", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--instances", type=int, default=200, help="per account")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--storm-seconds", type=float, default=60.0)
    parser.add_argument("--out")
    args = parser.parse_args(argv)

    import logging

    from devtools.embedded_aws import fake_credentials, moto_server

    logging.getLogger("ec2-warden").setLevel(logging.WARNING)
    base = {
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "AWS_DEFAULT_REGION": HOME_REGION,
        "AWS_REGION": HOME_REGION,
        "WARDEN_MODE": "audit",
    }
    with fake_credentials(), environment(base), moto_server() as endpoint, environment({"AWS_ENDPOINT_URL": endpoint}):
        world = seed(endpoint, args.accounts, args.instances)
        stream = storm(world, args.events)
        with environment({"ALLOWED_ACCOUNTS": ",".join(world)}):
            one = _run("one-by-one", stream, args.batch)
            queued = _run("queued", stream, args.batch)
    per_account_events = len(stream) / len(world)
    out = {
        "accounts": args.accounts,
        "instances": args.accounts * args.instances,
        "events": len(stream),
        "batch": args.batch,
        "one_by_one": one,
        "queued": queued,
        "queued_over_one_by_one_calls": round(queued["aws_calls"] / one["aws_calls"], 4),
        "same_findings": one["findings"] == queued["findings"],
        "describe_instances_per_account_per_s": {
            "ec2_refill_rate": EC2_DESCRIBE_REFILL_PER_S,
            "one_by_one_if_storm_spans_s": args.storm_seconds,
            "one_by_one": round(one["describe_instances_per_account_max"] / args.storm_seconds, 2),
            "queued": round(queued["describe_instances_per_account_max"] / args.storm_seconds, 2),
            "a_sweep_of_the_account": f"ceil({args.instances}/1000) = {-(-args.instances // 1000)} call(s)",
            "events_per_account": per_account_events,
        },
    }
    print(json.dumps(out, indent=2))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(out, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
