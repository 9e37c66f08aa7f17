"""The opt-in path: a stage with POWERTOOLS_TRACE_DISABLED=false gets the Tracer, and its handlers
still do their whole work (a fresh interpreter that looks like Lambda, against moto's server).
X-Ray segments go over UDP to 127.0.0.1:2000, where nothing listens: harmless."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import boto3
import pytest

from devtools import events
from devtools.embedded_aws import moto_server
from tests.conftest import PROJECT_DIR

pytestmark = [pytest.mark.network_local]

CHILD = r"""
import json, os, sys
import app

class Context:
    function_name = "ec2-warden-dev-on_instance_state_change"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
    memory_limit_in_mb = 256
    aws_request_id = "tracing-test"
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "test"
    def get_remaining_time_in_millis(self):
        return 60000

report = app.on_instance_state_change(json.loads(os.environ["EVENT"]), Context())
print("RESULT " + json.dumps({
    "tracer": app.tracer is not None and not app.tracer.disabled,
    "xray_loaded": "aws_xray_sdk.core" in sys.modules,
    "findings": [f["check"] for f in report["findings"]],
    "errors": report["errors"],
    "api_calls": report["api_calls"],
}))
"""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.mark.parametrize("disabled", ["false", "true"])
def test_a_handler_does_its_work_with_the_tracer_on_and_off(endpoint, disabled):
    aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    ec2 = boto3.client(
        "ec2",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "LAMBDA_", "WARDEN_", "_X_"))
    }
    env |= aws | {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": str(PROJECT_DIR),
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "POWERTOOLS_TRACE_DISABLED": disabled,
        "WARDEN_CHECKS": "launch-hygiene",
        "EVENT": json.dumps(events.state_change(instance, "running")),
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    on = disabled == "false"
    assert result["tracer"] is on and result["xray_loaded"] is on
    assert result["errors"] == [] and result["findings"] == ["launch-hygiene"]
    assert result["api_calls"]["ec2:DescribeInstances"] == 1
