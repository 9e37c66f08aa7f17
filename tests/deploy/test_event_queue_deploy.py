"""Queued event delivery holds together: a stage with EVENT_DELIVERY=queued registers on_event_batch
on the queue infra/queues.yaml creates (batch size and window from the stage) and no direct rule,
its trigger gets partial batch responses when packaged, and the stage policy may read that queue."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys

import pytest
from cfnlint.decode import decode

from .iam_rules import as_list, grants
from .project import CHALICE_DIR, INFRA_DIR, MERGE_TEMPLATE, ROOT, chalice_config, stage_policy

STAGES = sorted(chalice_config()["stages"])
QUEUED_MERGE = CHALICE_DIR / "package-merge-queued.json"


def events_queue_name(stage: str) -> str:
    template, errors = decode(str(INFRA_DIR / "queues.yaml"))
    assert not errors
    return template["Resources"]["EventsQueue"]["Properties"]["QueueName"]["Fn::Sub"].replace("${Stage}", stage)


def sources_with(**env: str) -> list[dict]:
    code = (
        "import json, app\n"
        "print(json.dumps([{'name': e.name, 'type': type(e).__name__, 'queue': getattr(e, 'queue', None),"
        " 'batch_size': getattr(e, 'batch_size', None),"
        " 'window': getattr(e, 'maximum_batching_window_in_seconds', None)} for e in app.app.event_sources]))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EVENT", "POWERTOOLS_"))}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean | env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_a_queued_stage_takes_events_in_batches_from_its_queue_and_has_no_direct_rule() -> None:
    queue = events_queue_name("prod")
    sources = sources_with(
        EVENT_DELIVERY="queued", EVENTS_QUEUE_NAME=queue, EVENT_BATCH_SIZE="100", EVENT_BATCH_WINDOW_SECONDS="10"
    )
    by_name = {s["name"]: s for s in sources}
    assert set(by_name) == {"sweep", "sweep_worker", "on_event_batch"}
    batch = by_name["on_event_batch"]
    assert (batch["type"], batch["queue"], batch["batch_size"], batch["window"]) == ("SQSEventConfig", queue, 100, 10)


def test_a_direct_stage_keeps_the_three_eventbridge_handlers() -> None:
    names = {s["name"] for s in sources_with(EVENT_DELIVERY="direct") if s["type"] == "CloudWatchEventConfig"}
    assert names == {"on_ec2_api_call", "on_instance_state_change", "on_patch_command"}


def test_an_unknown_delivery_refuses_to_load() -> None:
    with pytest.raises(subprocess.CalledProcessError) as info:
        sources_with(EVENT_DELIVERY="carrier-pigeon")
    assert "EVENT_DELIVERY='carrier-pigeon'" in info.value.stderr


def test_the_queued_merge_template_adds_partial_batch_responses_to_on_event_batch_only() -> None:
    default = json.loads(MERGE_TEMPLATE.read_text())
    queued = json.loads(QUEUED_MERGE.read_text())
    assert queued["Resources"]["SweepWorker"] == default["Resources"]["SweepWorker"]
    assert set(queued["Resources"]) == {"SweepWorker", "OnEventBatch"}
    source = queued["Resources"]["OnEventBatch"]["Properties"]["Events"]["OnEventBatchSqsEventSource"]
    assert source == {"Properties": {"FunctionResponseTypes": ["ReportBatchItemFailures"]}}


@pytest.mark.parametrize("stage", STAGES)
def test_the_stage_policy_reads_only_its_own_events_queue(stage: str) -> None:
    queue = f"arn:aws:sqs:eu-west-1:123456789012:{events_queue_name(stage)}"
    other = queue.replace(f"-{stage}-", "-other-")
    statements = stage_policy(stage)["Statement"]
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        resources = [r for s in statements if grants(s, action) for r in as_list(s["Resource"])]
        assert any(fnmatch.fnmatchcase(queue, r) for r in resources), action
        assert not any(fnmatch.fnmatchcase(other, r) for r in resources), action


@pytest.mark.network_registry
def test_a_queued_stage_packages_on_event_batch_with_partial_batch_responses_and_no_direct_rule(tmp_path) -> None:
    # GIVEN a copy of the project whose prod stage says EVENT_DELIVERY=queued
    project = tmp_path / "project"
    skip = shutil.ignore_patterns(".venv*", "build", ".git", "__pycache__", ".pytest_cache", ".ruff_cache", "tests")
    shutil.copytree(ROOT, project, ignore=skip)
    config = json.loads((project / ".chalice" / "config.json").read_text())
    config["stages"]["prod"]["environment_variables"]["EVENT_DELIVERY"] = "queued"
    (project / ".chalice" / "config.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_ENDPOINT_URL")}
    cmd = [sys.executable, "-c", "from chalice.cli import main; main()", "package", "--stage", "prod"]
    cmd += ["--merge-template", str(QUEUED_MERGE), str(tmp_path / "out")]
    # WHEN packaged as `make package STAGE=prod` does for such a stage
    done = subprocess.run(
        cmd, cwd=project, env=env | {"AWS_DEFAULT_REGION": "us-east-1"}, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    resources = json.loads((tmp_path / "out" / "sam.json").read_text())["Resources"]
    # THEN on_event_batch reads the stage's events queue in batches, reporting failed records
    [source] = resources["OnEventBatch"]["Properties"]["Events"].values()
    assert source["Properties"]["Queue"]["Fn::Sub"].endswith(f":{events_queue_name('prod')}")
    assert (source["Properties"]["BatchSize"], source["Properties"]["MaximumBatchingWindowInSeconds"]) == (100, 10)
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # AND no direct EventBridge rule is left to invoke a function per event
    assert not [k for k, v in resources.items() if v["Type"] == "AWS::Events::Rule"]
    assert resources["SweepWorker"]["Properties"]["Events"]["SweepWorkerSqsEventSource"]["Properties"][
        "FunctionResponseTypes"
    ] == ["ReportBatchItemFailures"]
