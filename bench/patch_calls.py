"""Measure the AWS calls of one enforce-mode sweep over a large fleet, patch loop included.

    python -m bench.patch_calls [--instances 1000] [--managed 800] [--noncompliant 300]

Runs in process under moto, with devtools/moto_ssm.py answering the SSM calls moto lacks. Prints
the report's api_calls (ec2-warden's own count, one per logical call) and the expected SSM counts:
ceil(running/50) DescribeInstanceInformation, ceil(managed/50) DescribeInstancePatchStates,
ceil(targets/50) SendCommand (and as many CreateTags)."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any


def measure(instances: int, managed: int, noncompliant: int) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from chalicelib.adapters.clients import AwsClients
    from chalicelib.events.scope import sweep_scope
    from chalicelib.model import Mode
    from chalicelib.pipeline import run
    from chalicelib.settings import load_settings
    from devtools import moto_ssm

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    region = "us-east-1"
    moto_ssm.install()
    try:
        with mock_aws():
            ec2 = boto3.client("ec2", region_name=region)
            ids: list[str] = []
            while len(ids) < instances:  # 100 per reservation: moto pages by reservation
                count = min(100, instances - len(ids))
                reply = ec2.run_instances(ImageId="ami-12c6146b", MinCount=count, MaxCount=count)
                ids.extend(i["InstanceId"] for i in reply["Instances"])
            for k, iid in enumerate(ids[:managed]):
                facts = moto_ssm.PatchFacts(missing=4, security=1) if k < noncompliant else moto_ssm.PatchFacts()
                moto_ssm.FLEET.register(iid, region=region, patch=facts)
            settings = load_settings({}, mode=Mode.ENFORCE, region=region)
            started = time.monotonic()
            report = run(
                sweep_scope(region=region), settings, AwsClients(region), datetime.now(UTC) + timedelta(hours=1)
            )
            seconds = time.monotonic() - started
    finally:
        moto_ssm.FLEET.reset()
    return {
        "instances": instances,
        "managed": managed,
        "noncompliant": noncompliant,
        "api_calls": dict(sorted(report.api_calls.items())),
        "total_calls": sum(report.api_calls.values()),
        "expected_ssm": {
            "ssm:DescribeInstanceInformation": math.ceil(instances / 50),
            "ssm:DescribeInstancePatchStates": math.ceil(managed / 50),
            "ssm:SendCommand": math.ceil(noncompliant / 50),
        },
        "findings": len(report.findings),
        "seconds_in_pipeline_under_moto": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--managed", type=int, default=800)
    parser.add_argument("--noncompliant", type=int, default=300)
    args = parser.parse_args(argv)
    json.dump(measure(args.instances, args.managed, args.noncompliant), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
