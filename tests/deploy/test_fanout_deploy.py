"""The fan-out's deployment holds together: the packaged worker is triggered by the queue
infra/queues.yaml creates, with partial batch responses on; the stage policies name that queue and
the member role the worker assumes; the queue waits long enough for a worker's try."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest
from cfnlint.decode import decode

import app as chalice_app
from chalicelib.model import Mode
from chalicelib.settings import Settings

from .iam_rules import as_list, grants
from .project import INFRA_DIR, MERGE_TEMPLATE, chalice_config, stage_policy

STAGES = sorted(chalice_config()["stages"])


def stage_env(stage: str) -> dict[str, str]:
    config = chalice_config()
    return {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}


def queues_template() -> dict[str, Any]:
    template, errors = decode(str(INFRA_DIR / "queues.yaml"))
    assert not errors
    return template


def fanout_queue_name(stage: str) -> str:
    return queues_template()["Resources"]["FanoutQueue"]["Properties"]["QueueName"]["Fn::Sub"].replace(
        "${Stage}", stage
    )


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_triggers_the_worker_from_the_queue_queues_yaml_creates(stage: str) -> None:
    assert stage_env(stage)["FANOUT_QUEUE_NAME"] == fanout_queue_name(stage)


@pytest.mark.network_registry
def test_the_packaged_worker_reports_batch_item_failures(packaged_prod) -> None:
    # GIVEN the prod template as `make package` writes it (with .chalice/package-merge.json)
    _, template = packaged_prod
    worker = template["Resources"]["SweepWorker"]
    # THEN the merge landed on Chalice's own function and SQS event (not on a name of its own)
    assert worker["Type"] == "AWS::Serverless::Function"
    assert worker["Properties"]["Handler"] == "app.sweep_worker"
    [sqs] = worker["Properties"]["Events"].values()
    assert sqs["Type"] == "SQS"
    assert sqs["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert sqs["Properties"]["Queue"]["Fn::Sub"].endswith(f":{fanout_queue_name('prod')}")
    assert sqs["Properties"]["BatchSize"] == 1


def test_the_merge_template_touches_only_the_workers_sqs_event() -> None:
    merge = json.loads(MERGE_TEMPLATE.read_text())
    assert merge == {
        "Resources": {
            "SweepWorker": {
                "Properties": {
                    "Events": {
                        "SweepWorkerSqsEventSource": {
                            "Properties": {"FunctionResponseTypes": ["ReportBatchItemFailures"]}
                        }
                    }
                }
            }
        }
    }
    registered = [e for e in chalice_app.app.event_sources if type(e).__name__ == "SQSEventConfig"]
    assert [e.name for e in registered] == ["sweep_worker"]


@pytest.mark.parametrize("stage", STAGES)
def test_the_stage_policy_lets_the_sweep_send_and_the_worker_receive_only_on_its_fanout_queue(stage: str) -> None:
    queue = f"arn:aws:sqs:eu-west-1:123456789012:{fanout_queue_name(stage)}"
    other_stage = queue.replace(f"-{stage}-", "-other-")
    statements = stage_policy(stage)["Statement"]
    for action in ("sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        resources = [r for s in statements if grants(s, action) for r in as_list(s["Resource"])]
        assert any(fnmatch.fnmatchcase(queue, r) for r in resources), action
        assert not any(fnmatch.fnmatchcase(other_stage, r) for r in resources), action


@pytest.mark.parametrize("stage", STAGES)
def test_the_stage_policy_assumes_the_member_role_its_mode_needs_as_the_settings_and_the_stackset_name(
    stage: str,
) -> None:
    # GIVEN the stage's mode and the member role names its settings give (defaults included)
    env = stage_env(stage)
    settings = Settings(
        mode=Mode(env["WARDEN_MODE"]),
        member_role=env.get("WARDEN_MEMBER_ROLE", Settings().member_role),
        member_reader_role=env.get("WARDEN_MEMBER_READER_ROLE", Settings().member_reader_role),
    )
    role = settings.member_role_for_mode
    # THEN the StackSet's default name for that role is the same
    params = decode(str(INFRA_DIR / "member-role.yaml"))[0]["Parameters"]
    writer = settings.mode is Mode.ENFORCE
    assert role == params["RoleName" if writer else "ReaderRoleName"]["Default"]
    # AND the stage's policy may assume that role and no other
    resources = [
        r for s in stage_policy(stage)["Statement"] if grants(s, "sts:AssumeRole") for r in as_list(s["Resource"])
    ]
    assert resources == [f"arn:aws:iam::*:role/{role}"]


def test_a_fanout_message_is_not_handed_out_again_while_a_try_still_runs() -> None:
    # AWS's advice for a Lambda event source: visibility timeout at least 6x the function timeout.
    visibility = queues_template()["Parameters"]["FanoutVisibilityTimeoutSeconds"]["Default"]
    assert int(visibility) >= 6 * chalice_config()["lambda_timeout"]
