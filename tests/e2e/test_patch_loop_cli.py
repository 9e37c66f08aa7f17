"""The patch loop as a user runs it: the CLI in a subprocess against moto's server on 127.0.0.1,
whose SSM is extended in this process by devtools/moto_ssm.py (managed instances, patch state)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from devtools import moto_ssm
from tests.e2e.test_cli import cli, client, endpoint, server  # noqa: F401  (the module's server fixtures)

pytestmark = pytest.mark.network_local
REGION = "us-east-1"


PATCH_ONLY = {"WARDEN_CHECKS": "ssm-unmanaged,patch-noncompliant"}  # the patch loop's checks alone


def test_sweep_patches_then_the_replayed_command_event_resolves(server, tmp_path: Path):  # noqa: F811
    # GIVEN a 3-day-old prod web server that SSM manages and that misses security patches
    ec2 = client("ec2", server)
    web = ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Environment", "Value": "prod"}]}],
    )["Instances"][0]["InstanceId"]
    moto_ssm.backdate_launch(web, timedelta(days=3), region=REGION)
    moto_ssm.FLEET.register(web, region=REGION, patch=moto_ssm.PatchFacts(missing=9, security=4))
    # WHEN the user sweeps in enforce mode
    done = cli(
        "sweep",
        "--endpoint-url",
        server,
        "--region",
        REGION,
        "--mode",
        "enforce",
        "--yes",
        "--format",
        "json",
        env=PATCH_ONLY,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    # THEN the finding is posted and one AWS-RunPatchBaseline command is sent
    assert [(f["check"], f["severity"]) for f in report["findings"]] == [("patch-noncompliant", "HIGH")]
    assert report["api_calls"]["ssm:SendCommand"] == 1
    (command,) = moto_ssm.ssm_backends["123456789012"][REGION]._commands
    assert command.instance_ids == [web]
    # WHEN Run Command's status event for that command is replayed
    invocation, _ = moto_ssm.command_events(command.command_id, region=REGION)
    event_file = tmp_path / "invocation.json"
    event_file.write_text(json.dumps(invocation))
    done = cli("replay", str(event_file), "--endpoint-url", server, "--mode", "enforce", "--yes", "--format", "json",
               env=PATCH_ONLY)  # fmt: skip
    # THEN the instance is verified compliant and the finding resolved, with no second command
    assert done.returncode == 0, done.stderr
    replayed = json.loads(done.stdout)
    assert replayed["resolved"] == [f"ec2-warden/123456789012/{REGION}/patch-noncompliant/{web}"]
    assert "ssm:SendCommand" not in replayed["api_calls"]
