"""infra/: every template lints clean, and keeps the promises docs/DEPLOY.md makes about it."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

import app as chalice_app
from devtools.infra_variants import PLACEHOLDER, switch_everything_on

from .project import INFRA_DIR, ROOT, cfn_lint_problems, stage_policy

TEMPLATES = sorted(INFRA_DIR.glob("*.yaml"))
EXPECTED = {
    "app-wiring.yaml",
    "detection.yaml",
    "insights.yaml",
    "event-forwarding.yaml",
    "event-receiving.yaml",
    "member-role.yaml",
    "patching.yaml",
    "queues.yaml",
    "slack-webhook.yaml",
    "state.yaml",
}


def load(path: Path) -> dict[str, Any]:
    template, errors = decode(str(path))
    assert not errors, errors
    return template


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_infra_holds_the_templates_the_deploy_guide_names() -> None:
    assert {p.name for p in TEMPLATES} == EXPECTED
    guide = (ROOT / "docs" / "DEPLOY.md").read_text()
    assert all(f"infra/{name}" in guide for name in EXPECTED)


@pytest.mark.parametrize("path", TEMPLATES, ids=[p.name for p in TEMPLATES])
def test_template_passes_cfn_lint(path: Path) -> None:
    assert cfn_lint_problems(path) == []


def test_cfn_lint_reports_a_broken_template(tmp_path: Path) -> None:
    # GIVEN a template with a property its resource type does not have THEN cfn-lint says so
    broken = tmp_path / "broken.yaml"
    broken.write_text((INFRA_DIR / "queues.yaml").read_text().replace("SqsManagedSseEnabled:", "SqsManagedSse:", 1))
    assert any(p.startswith("E3002") for p in cfn_lint_problems(broken))


@pytest.mark.parametrize("path", TEMPLATES, ids=[p.name for p in TEMPLATES])
def test_no_account_or_region_is_written_into_a_template(path: Path) -> None:
    # StackSets deploy the same text everywhere; pseudo parameters name the account and region.
    text = path.read_text()
    assert re.findall(r"\b\d{12}\b", text) == []
    assert re.findall(r"\b(?:us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d\b", text) == []


def test_every_bucket_is_encrypted_private_and_owner_enforced() -> None:
    buckets = {f"{p.name}:{k}": v for p in TEMPLATES for k, v in resources(load(p), "AWS::S3::Bucket").items()}
    assert buckets
    for name, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], name
        assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
            ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
        ), name
        assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}], name
        assert bucket["DeletionPolicy"] == "Retain", name


def test_every_queue_is_encrypted_and_refuses_plain_http() -> None:
    template = load(INFRA_DIR / "queues.yaml")
    queues = resources(template, "AWS::SQS::Queue")
    assert set(queues) == {
        "EventsDeadLetterQueue",
        "FanoutQueue",
        "FanoutRedriveQueue",
        "EventsQueue",
        "EventsRedriveQueue",
    }
    assert all(q["Properties"].get("SqsManagedSseEnabled") is True for q in queues.values())
    policies = {
        ("FanoutQueue" if {"Ref": "FanoutQueue"} in p["Properties"]["Queues"] else "EventsQueue"): p
        for p in resources(template, "AWS::SQS::QueuePolicy").values()
    }
    assert sorted(r["Ref"] for p in policies.values() for r in p["Properties"]["Queues"]) == sorted(queues)
    for policy in policies.values():
        deny = policy["Properties"]["PolicyDocument"]["Statement"][0]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # the fan-out queue: only the sweep role may send (what it lets through is judged by the IAM
    # simulator: test_iam_simulator.py)
    _, only_sweep = policies["FanoutQueue"]["Properties"]["PolicyDocument"]["Statement"]
    assert only_sweep["Effect"] == "Deny" and only_sweep["Resource"] == {"Fn::GetAtt": ["FanoutQueue", "Arn"]}
    # the events queue: EventBridge may send, from this stack's rules only
    for allow in policies["EventsQueue"]["Properties"]["PolicyDocument"]["Statement"][1:]:
        assert allow["Principal"] == {"Service": "events.amazonaws.com"} and allow["Action"] == "sqs:SendMessage"
        assert set(allow["Condition"]) == {"ArnEquals"}


def test_fanout_queue_redrives_to_its_redrive_queue() -> None:
    queues = resources(load(INFRA_DIR / "queues.yaml"), "AWS::SQS::Queue")
    redrive = queues["FanoutQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["FanoutRedriveQueue", "Arn"]}
    # A message expires by its first enqueue time, even in the redrive queue: keep it longer there.
    assert (
        queues["FanoutRedriveQueue"]["Properties"]["MessageRetentionPeriod"]
        > queues["FanoutQueue"]["Properties"]["MessageRetentionPeriod"]
    )


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_stage_policy_lets_lambda_send_to_that_stages_dead_letter_queue(stage: str) -> None:
    # GIVEN the name queues.yaml gives the DLQ WHEN compared with the policy's sqs resource
    name = load(INFRA_DIR / "queues.yaml")["Resources"]["EventsDeadLetterQueue"]["Properties"]["QueueName"]
    queue_arn = "arn:aws:sqs:eu-west-1:123456789012:" + name["Fn::Sub"].replace("${Stage}", stage)
    statements = [s for s in stage_policy(stage)["Statement"] if "sqs:SendMessage" in s["Action"]]
    # THEN the on-failure destination is reachable with the function's own role
    assert [fnmatch.fnmatchcase(queue_arn, s["Resource"]) for s in statements].count(True) == 1


def test_every_function_eventbridge_invokes_gets_an_on_failure_destination() -> None:
    # GIVEN the functions app.py hangs on EventBridge (rules and schedules)
    wired = load(INFRA_DIR / "app-wiring.yaml")
    configs = resources(wired, "AWS::Lambda::EventInvokeConfig").values()
    default_names = {c["Properties"]["FunctionName"]["Fn::If"][1]["Fn::Sub"] for c in configs}
    # (An SQS-triggered function is invoked synchronously by its mapping: no async destination;
    # its failed messages go to the queue's redrive queue instead.)
    eventbridge = ("CloudWatchEventConfig", "ScheduledEventConfig")
    expected = {
        f"ec2-warden-${{Stage}}-{e.name}" for e in chalice_app.app.event_sources if type(e).__name__ in eventbridge
    }
    # THEN app-wiring.yaml sends each one's failed invocations to the dead-letter queue
    assert default_names == expected
    assert all("OnFailure" in c["Properties"]["DestinationConfig"] for c in configs)


def test_no_template_holds_or_asks_for_a_secret() -> None:
    for path in TEMPLATES:
        template = load(path)
        assert resources(template, "AWS::SSM::Parameter") == {}, path.name
        assert "hooks.slack.com" not in path.read_text(), path.name
        for name in template.get("Parameters", {}):
            assert not re.search(r"webhook|secret|token|password", name, re.IGNORECASE), f"{path.name}:{name}"


def test_each_member_role_trusts_only_the_exact_home_role_arns_its_parameters_name() -> None:
    template = load(INFRA_DIR / "member-role.yaml")
    for role, param in (("ReaderRole", "ReaderHomeRoleArns"), ("WriterRole", "WriterHomeRoleArns")):
        (trust,) = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${HomeAccountId}:root"}}
        # ArnEquals: no pattern, so a role named like the enforce stage's cannot slip in
        assert trust["Condition"] == {"ArnEquals": {"aws:PrincipalArn": {"Ref": param}}}, role
        assert template["Parameters"][param]["Type"] == "CommaDelimitedList"
    # the writer exists only with AllowEnforce=true, and then needs its principals
    assert template["Resources"]["WriterRole"]["Condition"] == "Enforce"
    (rule,) = template["Rules"].values()
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::EachMemberIn": [{"Ref": "WriterHomeRoleArns"}, [""]]}]}


def test_every_redrive_alarm_tells_a_required_topic() -> None:
    template = load(INFRA_DIR / "queues.yaml")
    assert "Default" not in template["Parameters"]["AlarmTopicArn"]
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    assert set(alarms) == {"EventsDeadLetterAlarm", "FanoutRedriveAlarm", "EventsRedriveAlarm"}
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopicArn"}] for a in alarms.values())


def test_detection_refuses_to_deploy_nothing() -> None:
    rules = load(INFRA_DIR / "detection.yaml")["Rules"]
    (rule,) = rules.values()
    assert rule["Assertions"][0]["Assert"] == {
        "Fn::Or": [
            {"Fn::Equals": [{"Ref": "EnableSecurityHub"}, "true"]},
            {"Fn::Equals": [{"Ref": "CreateTrail"}, "true"]},
        ]
    }


def test_the_checkov_variant_switches_every_option_on() -> None:
    # GIVEN the templates as `make checkov` rewrites them THEN no resource hides behind a "false"
    for path in TEMPLATES:
        params = switch_everything_on(load(path)).get("Parameters", {})
        for name, param in params.items():
            if sorted(map(str, param.get("AllowedValues", []))) == ["false", "true"]:
                assert param["Default"] == "true", f"{path.name}:{name}"
            assert param.get("Default") != "", f"{path.name}:{name}"
    assert PLACEHOLDER
