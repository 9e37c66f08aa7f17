"""`ec2-warden lab` / `make lab`: an embedded AWS (moto's server) with a seeded, realistic fleet in which
every check has something to find, kept running until Ctrl-C so that a user can point the command at it."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import boto3

from . import moto_ssm
from .embedded_aws import FAKE_CREDENTIALS, moto_server
from .fleet import launch, make_group, seed_exposure_fleet
from .idle_fleet import backdate_stop, launch_one, seed_idle_fleet

REGION = "us-east-1"
SSM_LOST, UNPATCHED, LAB_IN_PROD, STOPPED_LONG = "ssm-agent-lost", "web-legacy", "lab-vm-in-prod", "old-batch"


def seed_lab(endpoint: str) -> dict[str, str]:
    """Seed the fleet; returns the settings the sweep needs to judge it (production networks)."""

    def client(service: str) -> Any:
        return boto3.client(
            service, region_name=REGION, endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="t"
        )

    ec2, cloudwatch = client("ec2"), client("cloudwatch")
    now = datetime.now(UTC)
    fleet = seed_exposure_fleet(ec2)  # public-exposure, each rule with a passing twin (and untagged: hygiene)
    seed_idle_fleet(ec2, cloudwatch, now)  # idle, protected, busy, not enough data
    quiet = make_group(ec2, fleet, "lab-private", [])
    prod = {"Environment": "prod", "Owner": "web-team"}
    ids = {
        UNPATCHED: launch(ec2, fleet, UNPATCHED, subnet=fleet.private_subnet, groups=[quiet], tags=prod),
        SSM_LOST: launch(ec2, fleet, SSM_LOST, subnet=fleet.private_subnet, groups=[quiet], tags=prod),
        LAB_IN_PROD: launch(
            ec2, fleet, LAB_IN_PROD, subnet=fleet.private_subnet, groups=[quiet], tags={"Environment": "lab"}
        ),
        STOPPED_LONG: launch_one(ec2, STOPPED_LONG, {"Environment": "dev", "Owner": "data-team"}),
    }
    ec2.stop_instances(InstanceIds=[ids[STOPPED_LONG]])
    backdate_stop(ids[STOPPED_LONG], now - timedelta(days=75), region=REGION)
    every = [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    for instance_id in every:
        moto_ssm.backdate_launch(instance_id, timedelta(days=20), region=REGION)  # past the SSM grace period
        if instance_id == ids[UNPATCHED]:
            moto_ssm.FLEET.register(
                instance_id, region=REGION, patch=moto_ssm.PatchFacts(missing=14, security=5, critical=2)
            )
        elif instance_id != ids[SSM_LOST]:
            moto_ssm.FLEET.register(instance_id, region=REGION, patch=moto_ssm.PatchFacts())
    # The private subnet is production: the lab VM there is environment drift.
    return {"PRODUCTION_SUBNETS": fleet.private_subnet}


class PortInUse(OSError):
    """The lab's port is taken (moto's server would wait forever for a socket it cannot bind)."""


def serve_lab(port: int, out: TextIO, stop: threading.Event | None = None) -> int:
    if port:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                raise PortInUse(f"port {port} on 127.0.0.1 is in use: pass --port N (0: any free port)") from None
    with moto_server(port or None) as endpoint:
        settings = seed_lab(endpoint)
        exports = {"AWS_ENDPOINT_URL": endpoint, **_keys(), "AWS_DEFAULT_REGION": REGION, **settings}
        try:  # from the first line printed on: a Ctrl-C as soon as the user has read it is a clean stop
            out.write(f"ec2-warden lab: an embedded AWS at {endpoint} with a seeded fleet (Ctrl-C stops it)\n")
            out.write("In another shell:\n")
            out.write("export " + " ".join(f"{k}={v}" for k, v in exports.items()) + "\n")
            out.write("ec2-warden sweep\n")
            out.flush()
            (stop or threading.Event()).wait()
        except KeyboardInterrupt:
            out.write("\nec2-warden lab: stopped\n")
    return 0


def _keys() -> dict[str, str]:
    return {k: v for k, v in FAKE_CREDENTIALS.items() if k != "AWS_SESSION_TOKEN"}
