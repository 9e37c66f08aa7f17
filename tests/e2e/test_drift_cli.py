"""The CLI against a moto server started with MOTO_AMIS_PATH, so AMIs carry real creation dates:
the whole drift fleet, AMI age included, judged as a user would run it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from devtools.drift_fleet import DRIFT, FRESH_AMI, HYGIENE, JUDGED_AT, OLD_AMI, seed_drift_fleet, write_ami_catalog

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}

pytestmark = pytest.mark.network_local


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# moto's server, with the SSM and Security Hub extensions (every instance managed and Online: the drift fleet's SSM
# story needs per-instance state, so it is told in tests/integration/test_drift_moto.py).
LAUNCHER = (
    "import sys\n"
    "from devtools import moto_ssm\n"
    "moto_ssm.install()\n"
    "moto_ssm.FLEET.manage_every_instance()\n"
    "from devtools import moto_securityhub\n"
    "moto_securityhub.install()\n"
    "from moto.server import main\n"
    "main(sys.argv[1:])\n"
)


@pytest.fixture(scope="module")
def moto_with_amis(tmp_path_factory):
    """moto reads MOTO_AMIS_PATH once, at import: a server process of its own gets the catalog."""
    catalog = write_ami_catalog(tmp_path_factory.mktemp("amis") / "amis.json")
    port = _free_port()
    env = {**os.environ, **CREDENTIALS, "MOTO_AMIS_PATH": str(catalog)}
    server = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, "-H", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    return subprocess.run(
        [sys.executable, "-m", "chalicelib", *args],
        cwd=ROOT,
        env={**base, **CREDENTIALS, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_sweep_finds_every_seeded_story_and_nothing_else(moto_with_amis):
    # GIVEN the drift fleet, with a fresh and an old AMI from the catalog
    session = boto3.session.Session(region_name=REGION, **{k.lower(): v for k, v in CREDENTIALS.items()})
    ec2 = session.client("ec2", endpoint_url=moto_with_amis)
    fleet = seed_drift_fleet(ec2, session.client("iam", endpoint_url=moto_with_amis), fresh_ami=FRESH_AMI,
                             old_ami=OLD_AMI, ssm_story=False)  # fmt: skip
    assert (HYGIENE, "hyg-old-ami") in fleet.expected
    # WHEN a user sweeps it through the CLI, judging at a fixed time
    done = _cli(
        "sweep", "--region", REGION, "--endpoint-url", moto_with_amis, "--format", "json", "--now", JUDGED_AT,
        env=fleet.settings_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    # THEN precision and recall are 1.0, severities included
    got = {(f["check"], f["resource_id"]): f["severity"] for f in report["findings"] if f["check"] in (HYGIENE, DRIFT)}
    truth = fleet.truth()
    hits = set(got) & set(truth)
    precision, recall = len(hits) / len(got), len(hits) / len(truth)
    assert (precision, recall) == (1.0, 1.0), {"extra": set(got) - set(truth), "missed": set(truth) - set(got)}
    assert got == truth
    old = next(f for f in report["findings"] if f["resource_id"] == fleet.instances["hyg-old-ami"])
    assert old["details"]["gaps"][0]["rule"] == "ami-too-old"
    # AND the distinct AMIs (fresh, old, gone) and volumes were read in one call each
    assert report["api_calls"]["ec2:DescribeImages"] == 1
    assert report["api_calls"]["ec2:DescribeVolumes"] == 1
    assert report["errors"] == []


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PRODUCTION_VPCS", "subnet-0123456789abcdef0"),
        ("PRODUCTION_SUBNETS", "vpc-0123456789abcdef0"),
        ("NON_PRODUCTION_ENVIRONMENTS", "lab,prod"),
        ("AMI_MAX_AGE_DAYS", "-5"),
    ],
)
def test_bad_settings_stop_the_cli_before_any_aws_call(variable, value):
    # No endpoint at all: a call would fail differently. Settings fail first, with exit code 2.
    done = _cli("sweep", "--region", REGION, "--endpoint-url", "http://127.0.0.1:9", env={variable: value})
    assert done.returncode == 2
    assert variable in done.stderr
    assert done.stdout == ""
