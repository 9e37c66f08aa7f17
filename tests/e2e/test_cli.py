"""The CLI as a user runs it: a subprocess against moto's server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from devtools import events
from devtools.embedded_aws import free_port, moto_server
from devtools.fleet import seed_exposure_fleet, tcp
from tests.conftest import PROJECT_DIR, SHARED_EVENTS

# Patch loop (issue 4): these tests are about exposure, on a fleet SSM manages and keeps patched.
pytestmark = [pytest.mark.network_local, pytest.mark.usefixtures("ssm_manages_every_instance")]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def server(endpoint: str) -> str:
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    return endpoint


# The exposure story alone; the other checks have their own end-to-end tests.
EXPOSURE_ONLY = {"WARDEN_CHECKS": "public-exposure"}


def cli(*args: str, env: dict[str, str] | None = None, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WARDEN_"))}
    base.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "chalicelib", *args],
        cwd=PROJECT_DIR,
        env=base,
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def client(service: str, url: str) -> Any:
    return boto3.client(
        service, region_name="us-east-1", endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def hub_findings(url: str) -> list[dict[str, Any]]:
    hub = client("securityhub", url)
    return [f for page in hub.get_paginator("get_findings").paginate() for f in page["Findings"]]


def test_sweep_then_fix_then_replay_resolves(server, tmp_path: Path):
    # GIVEN a seeded fleet on the moto server
    ec2 = client("ec2", server)
    fleet = seed_exposure_fleet(ec2)
    # WHEN the user sweeps in notify mode with JSON output
    done = cli(
        "sweep",
        "--endpoint-url",
        server,
        "--region",
        "us-east-1",
        "--mode",
        "notify",
        "--format",
        "json",
        "--now",
        "2026-11-27T12:00:00Z",
        env=EXPOSURE_ONLY,
    )
    # THEN every exposed instance is found, posted, and the call counts are there
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) >= {"scope", "findings", "resolved", "actions", "errors", "api_calls"}
    assert {f["resource_id"] for f in report["findings"]} == fleet.exposed_ids()
    assert report["api_calls"]["ec2:DescribeInstances"] == 1
    assert len(hub_findings(server)) == len(fleet.exposed_ids())

    # WHEN the SSH rule is revoked and the CloudTrail event is replayed
    group = fleet.groups["ssh-world"]
    ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[tcp(22, v4="0.0.0.0/0")])
    event_file = tmp_path / "revoke.json"
    event_file.write_text(json.dumps(events.revoke_ingress(group, 22)))
    done = cli(
        "replay", str(event_file), "--endpoint-url", server, "--mode", "notify", "--format", "json", env=EXPOSURE_ONLY
    )
    # THEN the finding it fixes is resolved
    assert done.returncode == 0, done.stderr
    replayed = json.loads(done.stdout)
    assert replayed["resolved"] == [
        f"ec2-warden/123456789012/us-east-1/public-exposure/{fleet.instances['ipv4-ssh-open']}"
    ]


def test_table_output_reads_as_a_summary(server):
    seed_exposure_fleet(client("ec2", server))
    done = cli("sweep", "--endpoint-url", server)
    assert done.returncode == 0, done.stderr
    assert "ec2-warden audit | sweep" in done.stdout
    assert "CRITICAL  public-exposure" in done.stdout
    # 2 EC2 reads, 2 SSM reads, GetMetricData (idle), DescribeImages + DescribeVolumes (launch-hygiene, drift)
    assert "AWS calls: 7" in done.stdout


@pytest.mark.parametrize(
    ("fixture", "expect"),
    [
        ("cloudtrail-raw-run-instances-unauthorized-error.json", "ignored"),
        ("cloudtrail-raw-terminate-instances-logfile.json", "ignored"),
        # a record of another account than the server's: the replay says so and writes nothing
        ("cloudtrail-raw-run-instances.json", "foreign"),
        ("ec2-instance-state-change-pending.json", "ignored"),
    ],
)
def test_replay_of_published_raw_records(server, fixture, expect):
    done = cli("replay", str(SHARED_EVENTS / fixture), "--endpoint-url", server, "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    if expect == "ignored":
        assert report["ignored"] and report["api_calls"] == {}
    elif expect == "foreign":
        account = json.loads((SHARED_EVENTS / fixture).read_text())["recipientAccountId"]
        assert report["ignored"] == (
            f"the event is for account {account}, but this run's credentials act in account 123456789012: "
            "refused, nothing written"
        )
        assert report["findings"] == [] and report["actions"] == []
        assert all(op.split(":")[1].startswith(("Describe", "Get")) for op in report["api_calls"])
    else:
        assert report["census"]["missing"] == 2 and report["findings"] == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"detail-type": "AWS API Call via CloudTrail", "detail": {"eventName": "RunIns', "not valid JSON"),
        ("[1, 2, 3]", "JSON object"),
        ('{"hello": "world"}', "not an EventBridge event"),
        ("\xff\xfe", "not UTF-8 text"),
    ],
)
def test_bad_event_files_exit_2_and_write_nothing(server, tmp_path: Path, content, message):
    seed_exposure_fleet(client("ec2", server))
    path = tmp_path / "event.json"
    path.write_text(content, encoding="latin-1")
    done = cli("replay", str(path), "--endpoint-url", server, "--mode", "enforce")
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.count("\n") == 1
    assert done.stdout == ""
    assert hub_findings(server) == []


def test_oversized_event_file_is_refused(tmp_path: Path):
    path = tmp_path / "big.json"
    path.write_text('{"pad": "' + "x" * (1024 * 1024 + 10) + '"}')
    done = cli("replay", str(path))
    assert done.returncode == 2 and "at most" in done.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["sweep"], {"WARDEN_MODE": "destroy"}, "WARDEN_MODE"),
        (["sweep", "--now", "yesterday"], {}, "--now"),
        (["sweep", "--mode", "burn"], {}, "invalid choice"),
        (["replay", "/no/such/file.json"], {}, "cannot read"),
        (["launch-missiles"], {}, "invalid choice"),
    ],
)
def test_bad_usage_exits_2(args, env, message):
    done = cli(*args, env=env)
    assert done.returncode == 2
    assert message in done.stderr


def test_unreachable_aws_exits_1_with_one_line():
    dead = f"http://127.0.0.1:{free_port()}"
    done = cli("sweep", "--endpoint-url", dead, env={"AWS_MAX_ATTEMPTS": "1"})
    assert done.returncode == 1
    assert "could not read instances" in done.stderr
