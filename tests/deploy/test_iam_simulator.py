"""The guard rails, judged by a maintained IAM evaluator (@cloud-copilot/iam-simulate) on the
shipped policies: .chalice/policy-<stage>.json as the functions' identity policies, and the roles
and queue policy of infra/*.yaml with their CloudFormation parameters resolved. Every case is a
request AWS would see, with the context AWS would give it; the evaluator decides."""

from __future__ import annotations

from typing import Any

import pytest

from .cfn import Stack
from .iamsim import ALLOWED, EXPLICIT, IMPLICIT, Request, judge
from .project import INFRA_DIR, stage_policy

HOME = "210987654321"
MEMBER = "123456789012"
REGION = "eu-west-1"
PROD_ROLE = f"arn:aws:iam::{HOME}:role/ec2-warden-prod"
DEV_ROLE = f"arn:aws:iam::{HOME}:role/ec2-warden-dev"
PROD_SESSION = f"arn:aws:sts::{HOME}:assumed-role/ec2-warden-prod/ec2-warden-prod-sweep_worker"
DEV_SESSION = f"arn:aws:sts::{HOME}:assumed-role/ec2-warden-dev/ec2-warden-dev-sweep_worker"
INSTANCE = f"arn:aws:ec2:{REGION}:{MEMBER}:instance/i-0123456789abcdef0"
HOME_INSTANCE = INSTANCE.replace(MEMBER, HOME)
ALLOW_EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
ANALYST_FIELDS = (
    "Confidence",
    "Criticality",
    "RelatedFindings.Id",
    "RelatedFindings.ProductArn",
    "Severity.Label",
    "Severity.Normalized",
    "Severity.Product",
    "Types",
    "UserDefinedFields",
    "VerificationState",
)


def member_stack(enforce: bool) -> Stack:
    return Stack.load(
        INFRA_DIR / "member-role.yaml",
        {
            "HomeAccountId": HOME,
            "ReaderHomeRoleArns": f"{DEV_ROLE},{PROD_ROLE}",
            "WriterHomeRoleArns": PROD_ROLE if enforce else "",
            "AllowEnforce": "true" if enforce else "false",
        },
        account=MEMBER,
    )


def queues_stack(stage: str) -> Stack:
    return Stack.load(
        INFRA_DIR / "queues.yaml",
        {
            "Stage": stage,
            "AlarmTopicArn": f"arn:aws:sns:{REGION}:{HOME}:ec2-warden-alarms",
            "SweepRoleArns": PROD_ROLE if stage == "prod" else DEV_ROLE,
        },
        account=HOME,
    )


def writers() -> list[tuple[str, str, list[dict[str, Any]], str, str]]:
    """Every identity that may write: (label, principal, policies, account, instance ARN)."""
    writer = member_stack(enforce=True)
    return [
        ("policy-prod", PROD_SESSION, [stage_policy("prod")], HOME, HOME_INSTANCE),
        (
            "member-writer",
            f"arn:aws:sts::{MEMBER}:assumed-role/ec2-warden-member/s",
            writer.role_policies("WriterRole"),
            MEMBER,
            INSTANCE,
        ),
    ]


def readers() -> list[tuple[str, str, list[dict[str, Any]], str, str]]:
    reader = member_stack(enforce=False)
    return [
        ("policy-dev", DEV_SESSION, [stage_policy("dev")], HOME, HOME_INSTANCE),
        (
            "member-reader",
            f"arn:aws:sts::{MEMBER}:assumed-role/ec2-warden-member-reader/s",
            reader.role_policies("ReaderRole"),
            MEMBER,
            INSTANCE,
        ),
    ]


def tag_request(label, who, docs, account, instance, action, keys, name) -> Request:
    context = {"aws:TagKeys": keys} if keys is not None else {}
    if keys:
        context |= {f"aws:RequestTag/{k}": "x" for k in keys} if action == "ec2:CreateTags" else {}
    return Request(f"{label} {name}", who, docs, action, instance, account, context)


def stop_request(label, who, docs, account, instance, tags: dict[str, str], name) -> Request:
    context = {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
    return Request(f"{label} {name}", who, docs, "ec2:StopInstances", instance, account, context)


def document(name: str, account: str) -> str:
    return f"arn:aws:ssm:{REGION}:{account}:document/{name}"


def update_findings(label, who, docs, account, fields: dict[str, str], name) -> Request:
    hub = f"arn:aws:securityhub:{REGION}:{account}:hub/default"
    context = {f"securityhub:ASFFSyntaxPath/{k}": v for k, v in fields.items()}
    return Request(f"{label} {name}", who, docs, "securityhub:BatchUpdateFindings", hub, account, context)


def writer_cases() -> dict[str, tuple[Request, str]]:
    cases: dict[str, tuple[Request, str]] = {}

    def add(req: Request, expected: str) -> None:
        cases[req.name] = (req, expected)

    for label, who, docs, account, instance in writers():
        args = (label, who, docs, account, instance)
        # The protect tag can be neither written nor removed, alone or beside an allowed key.
        add(tag_request(*args, "ec2:CreateTags", ["warden:protect"], "CreateTags warden:protect"), EXPLICIT)
        add(tag_request(*args, "ec2:DeleteTags", ["warden:protect"], "DeleteTags warden:protect"), EXPLICIT)
        add(tag_request(*args, "ec2:DeleteTags", ["WARDEN:Protect"], "DeleteTags WARDEN:Protect"), EXPLICIT)
        add(
            tag_request(
                *args, "ec2:DeleteTags", ["warden:stop-after", "warden:protect"], "DeleteTags stop-after+protect"
            ),
            EXPLICIT,
        )
        # DeleteTags without keys deletes every tag, protect included.
        add(tag_request(*args, "ec2:DeleteTags", None, "DeleteTags every tag"), EXPLICIT)
        # The keys the product writes, and no other.
        for key in (
            "warden:idle-since",
            "warden:stop-after",
            "warden:stopped-by",
            "warden:patch-requested-at",
            "warden:launched-by",
        ):
            add(tag_request(*args, "ec2:CreateTags", [key], f"CreateTags {key}"), ALLOWED)
        add(tag_request(*args, "ec2:DeleteTags", ["warden:stop-after"], "DeleteTags warden:stop-after"), ALLOWED)
        add(tag_request(*args, "ec2:CreateTags", ["Owner"], "CreateTags Owner"), IMPLICIT)
        add(tag_request(*args, "ec2:CreateTags", ["warden:public-ok"], "CreateTags warden:public-ok"), IMPLICIT)
        add(tag_request(*args, "ec2:CreateTags", ["warden:exception"], "CreateTags warden:exception"), IMPLICIT)
        add(tag_request(*args, "ec2:DeleteTags", ["Owner"], "DeleteTags Owner"), IMPLICIT)
        # Stopping: only past a stop-after tag, never with protect.
        due = {"warden:stop-after": "2026-01-01T00:00:00Z"}
        add(stop_request(*args, due, "StopInstances stop-after"), ALLOWED)
        add(stop_request(*args, due | {"warden:protect": "yes"}, "StopInstances stop-after+protect"), EXPLICIT)
        add(stop_request(*args, {"warden:protect": ""}, "StopInstances protect"), EXPLICIT)
        add(stop_request(*args, {"Owner": "me"}, "StopInstances untagged"), IMPLICIT)
        # Patching: the patch baseline document only, on instances.
        for doc, expected in (("AWS-RunPatchBaseline", ALLOWED), ("AWS-RunShellScript", IMPLICIT)):
            add(
                Request(f"{label} SendCommand {doc}", who, docs, "ssm:SendCommand", document(doc, account), account),
                expected,
            )
        add(Request(f"{label} SendCommand instance", who, docs, "ssm:SendCommand", instance, account), ALLOWED)
        # BatchUpdateFindings: Workflow.Status RESOLVED, SUPPRESSED or NEW (and a note), nothing else.
        resolved = {"Workflow.Status": "RESOLVED"}
        add(update_findings(label, who, docs, account, resolved, "BUF Workflow.Status"), ALLOWED)
        note = resolved | {"Note.Text": "Resolved by ec2-warden", "Note.UpdatedBy": "ec2-warden"}
        add(update_findings(label, who, docs, account, note, "BUF Workflow.Status+Note"), ALLOWED)
        # Exceptions: SUPPRESSED while one holds, NEW when it ends, each with a Note; nothing else.
        for status in ("SUPPRESSED", "NEW"):
            waived = {"Workflow.Status": status, "Note.Text": "exception", "Note.UpdatedBy": "ec2-warden"}
            add(update_findings(label, who, docs, account, waived, f"BUF {status}+Note"), ALLOWED)
        add(update_findings(label, who, docs, account, {"Workflow.Status": "NOTIFIED"}, "BUF NOTIFIED"), IMPLICIT)
        add(
            update_findings(
                label, who, docs, account, {"Workflow.Status": "SUPPRESSED", "Types": "x"}, "BUF SUPPRESSED+Types"
            ),
            EXPLICIT,
        )
        for f in ANALYST_FIELDS:
            value = "LOW" if f == "Severity.Label" else "1"
            add(update_findings(label, who, docs, account, resolved | {f: value}, f"BUF Workflow.Status+{f}"), EXPLICIT)
    return cases


def reader_cases() -> dict[str, tuple[Request, str]]:
    cases: dict[str, tuple[Request, str]] = {}
    for label, who, docs, account, instance in readers():
        args = (label, who, docs, account, instance)
        due = {"warden:stop-after": "2026-01-01T00:00:00Z"}
        for req in (
            tag_request(*args, "ec2:CreateTags", ["warden:stop-after"], "CreateTags warden:stop-after"),
            tag_request(*args, "ec2:DeleteTags", ["warden:idle-since"], "DeleteTags warden:idle-since"),
            stop_request(*args, due, "StopInstances stop-after"),
            Request(
                f"{label} SendCommand patch",
                who,
                docs,
                "ssm:SendCommand",
                document("AWS-RunPatchBaseline", account),
                account,
            ),
        ):
            cases[req.name] = (req, IMPLICIT)
        ok = update_findings(label, who, docs, account, {"Workflow.Status": "RESOLVED"}, "BUF Workflow.Status")
        cases[ok.name] = (ok, ALLOWED)
        bad = update_findings(
            label, who, docs, account, {"Workflow.Status": "RESOLVED", "Severity.Label": "LOW"}, "BUF +Severity"
        )
        cases[bad.name] = (bad, EXPLICIT)
    return cases


def assume_cases() -> dict[str, tuple[Request, str]]:
    """AssumeRole across accounts: the home stage's identity policy AND the member role's trust
    policy (the resource policy) must both allow. Each stage is also tried with an identity policy
    that allows everything, to show that the trust policy alone holds the line."""
    stack = member_stack(enforce=True)
    roles = {
        "writer": (stack.role_arn("WriterRole"), stack.trust_policy("WriterRole")),
        "reader": (stack.role_arn("ReaderRole"), stack.trust_policy("ReaderRole")),
    }
    other = f"arn:aws:sts::{HOME}:assumed-role/ec2-warden-prod-other/s"
    stranger = "arn:aws:sts::999999999999:assumed-role/ec2-warden-prod/s"
    expected = {
        ("dev", "writer", "shipped"): IMPLICIT,
        ("dev", "writer", "allow-all"): IMPLICIT,
        ("prod", "writer", "shipped"): ALLOWED,
        ("dev", "reader", "shipped"): ALLOWED,
        ("prod", "reader", "shipped"): IMPLICIT,  # prod assumes the writer, nothing else
        ("prod", "reader", "allow-all"): ALLOWED,  # the reader trusts it, should it be needed
        ("other", "writer", "allow-all"): IMPLICIT,
        ("stranger", "writer", "allow-all"): IMPLICIT,
    }
    sessions = {"dev": DEV_SESSION, "prod": PROD_SESSION, "other": other, "stranger": stranger}
    out = {}
    for (who, role, identity), result in expected.items():
        arn, trust = roles[role]
        docs = [stage_policy(who)] if identity == "shipped" else [ALLOW_EVERYTHING]
        name = f"{who} ({identity}) AssumeRole member {role}"
        out[name] = (Request(name, sessions[who], docs, "sts:AssumeRole", arn, MEMBER, resource_policy=trust), result)
    return out


def platform_cases() -> dict[str, tuple[Request, str]]:
    out: dict[str, tuple[Request, str]] = {}
    # The Slack webhook's key: only through Parameter Store, only for the parameter, only that key.
    # The key policy of infra/slack-webhook.yaml is the resource policy (KMS needs both).
    for stage, role in (("prod", PROD_SESSION), ("dev", DEV_SESSION)):
        key = f"arn:aws:kms:{REGION}:{HOME}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        slack = Stack.load(INFRA_DIR / "slack-webhook.yaml", {"Stage": stage}, account=HOME)
        key_policy = slack.resolve(slack.template["Resources"]["SlackWebhookKey"]["Properties"]["KeyPolicy"])
        good = {
            "kms:ViaService": f"ssm.{REGION}.amazonaws.com",
            "kms:ResourceAliases": [f"alias/ec2-warden-{stage}-slack-webhook"],
        }
        variants = {
            "through SSM": (good, ALLOWED),
            "directly": ({k: v for k, v in good.items() if k != "kms:ViaService"}, EXPLICIT),  # key policy
            "another key": (good | {"kms:ResourceAliases": ["alias/finance"]}, IMPLICIT),
        }
        for variant, (context, result) in variants.items():
            name = f"policy-{stage} kms:Decrypt {variant}"
            req = Request(name, role, [stage_policy(stage)], "kms:Decrypt", key, HOME, context, key_policy)
            out[name] = (req, result)
    # The fan-out queue: only the sweep's role may send targets.
    for stage, role in (("prod", PROD_SESSION), ("dev", DEV_SESSION)):
        stack = queues_stack(stage)
        policy = stack.resolve(stack.template["Resources"]["TlsOnlyQueuePolicy"]["Properties"]["PolicyDocument"])
        queue = f"arn:aws:sqs:{REGION}:{HOME}:ec2-warden-{stage}-fanout"
        tls = {"aws:SecureTransport": "true"}
        someone = f"arn:aws:sts::{HOME}:assumed-role/developer/s"
        for name, who, docs, context, result in (
            (f"{stage} sweep sends", role, [stage_policy(stage)], tls, ALLOWED),
            (f"{stage} sweep sends over http", role, [stage_policy(stage)], {"aws:SecureTransport": "false"}, EXPLICIT),
            (f"{stage} another home role sends", someone, [ALLOW_EVERYTHING], tls, EXPLICIT),
        ):
            out[name] = (Request(name, who, docs, "sqs:SendMessage", queue, HOME, context, policy), result)
    return out


CASES = writer_cases() | reader_cases() | assume_cases() | platform_cases()


@pytest.fixture(scope="module")
def verdicts() -> dict[str, str]:
    return judge([req for req, _ in CASES.values()])


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_simulator_judges_each_guard_rail(verdicts: dict[str, str], name: str) -> None:
    assert verdicts[name] == CASES[name][1]


def test_the_simulator_refuses_what_the_old_policies_allowed() -> None:
    # GIVEN the tag statement as it was (any warden:* key) WHEN the protect tag is deleted
    loose = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
                "Resource": "arn:aws:ec2:*:*:instance/*",
                "Condition": {"ForAllValues:StringLike": {"aws:TagKeys": "warden:*"}, "Null": {"aws:TagKeys": "false"}},
            }
        ],
    }
    old_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{HOME}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{HOME}:role/ec2-warden-*"}},
            }
        ],
    }
    member = f"arn:aws:iam::{MEMBER}:role/ec2-warden-member"
    got = judge(
        [
            Request(
                "old delete protect",
                PROD_SESSION,
                [loose],
                "ec2:DeleteTags",
                HOME_INSTANCE,
                HOME,
                {"aws:TagKeys": ["warden:protect"]},
            ),
            Request(
                "old trust dev",
                DEV_SESSION,
                [ALLOW_EVERYTHING],
                "sts:AssumeRole",
                member,
                MEMBER,
                resource_policy=old_trust,
            ),
        ]
    )
    # THEN the evaluator allows both: the cases above would catch a return to them
    assert got == {"old delete protect": ALLOWED, "old trust dev": ALLOWED}


def test_the_tag_allow_list_is_exactly_the_keys_the_product_writes() -> None:
    from chalicelib.rules.idle import IDLE_SINCE, STOP_AFTER, STOPPED_BY
    from chalicelib.rules.patch_tag import PATCH_REQUESTED_TAG
    from chalicelib.rules.tags import LAUNCHED_BY

    written = {IDLE_SINCE, STOP_AFTER, STOPPED_BY, PATCH_REQUESTED_TAG, LAUNCHED_BY}
    for label, _, docs, _, _ in writers():
        (tagging,) = [s for d in docs for s in d["Statement"] if s.get("Sid") == "TagOnlyWardenKeys"]
        assert set(tagging["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"]) == written, label
