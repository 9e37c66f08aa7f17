"""The IAM permissions ec2-warden needs, declared next to what needs them.

Pure data. A meta-test (tests/deploy/test_policy_declarations.py) holds these declarations and
the stage policy files in .chalice/ equal both ways: a permission declared here but missing from
a stage that may use it fails, and so does an allowed action in a policy file that nothing here
declares. Adding a kind of action is one line in ACTION_PERMISSIONS (plus its statement, with
its guard-rail condition, in .chalice/policy-prod.json)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from chalicelib.model import ACTION_MODES, ActionKind, Mode
from chalicelib.rules.leases import LEASED_KIND_NAMES

# What the snapshot reads, in every mode (audit included). Describe* calls take no resource ARN.
READ_PERMISSIONS: tuple[str, ...] = (
    "ec2:DescribeInstances",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeNetworkInterfaces",
    # Launch hygiene and environment drift: AMIs and volumes by distinct id, and the
    # CIDR blocks of non-production VPCs. None takes a resource ARN.
    "ec2:DescribeImages",
    "ec2:DescribeVolumes",
    "ec2:DescribeVpcs",
    # The entries of managed prefix lists that security-group rules reference (public-exposure).
    "ec2:GetManagedPrefixListEntries",
    "sts:GetCallerIdentity",
    "securityhub:GetFindings",
    # Patch loop: managed instances, patch states, and which invocations of a failed
    # patch command failed. None of the three takes a resource ARN.
    "ssm:DescribeInstanceInformation",
    "ssm:DescribeInstancePatchStates",
    "ssm:ListCommandInvocations",
    "cloudwatch:GetMetricData",  # the idle check's daily usage; takes no resource ARN
)

# Keyed by ActionKind value. Keys may name a kind before its ActionKind member exists (see
# PENDING_KIND_MODES); the meta-test fails when an ActionKind member has no entry here.
ACTION_PERMISSIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        ActionKind.IMPORT_FINDINGS.value: ("securityhub:BatchImportFindings",),
        # Re-import PASSED and ARCHIVED, then Workflow.Status RESOLVED (only BatchUpdateFindings sets
        # it); the policies allow that call on the hub for Workflow.Status RESOLVED only.
        ActionKind.RESOLVE_FINDINGS.value: ("securityhub:BatchImportFindings", "securityhub:BatchUpdateFindings"),
        # The webhook URL is a SecureString under /ec2-warden/, encrypted with the key of
        # infra/slack-webhook.yaml (its key policy defers to IAM, hence kms:Decrypt here).
        ActionKind.NOTIFY_SLACK.value: ("ssm:GetParameter", "kms:Decrypt"),
        # Patch loop: SendCommand AWS-RunPatchBaseline, then tag warden:patch-requested-at.
        ActionKind.PATCH.value: ("ssm:SendCommand", "ec2:CreateTags"),
        # The idle lifecycle, granted in the prod policy under its guard rails (tag keys
        # warden:*; stop only with a warden:stop-after tag, never with warden:protect). The stop also
        # re-reads the instances (DescribeInstances, a read) and tags warden:stopped-by.
        ActionKind.MARK_IDLE.value: ("ec2:CreateTags",),
        ActionKind.UNMARK_IDLE.value: ("ec2:DeleteTags",),
        ActionKind.STOP_IDLE.value: ("ec2:StopInstances", "ec2:CreateTags"),
        # warden:launched-by on instances a RunInstances launched (TAG_LAUNCHED_BY=on), under the
        # same warden:* tag-key guard rail.
        ActionKind.TAG_LAUNCHED_BY.value: ("ec2:CreateTags",),
        # Owner messages: the Slack bot token is a SecureString under /ec2-warden/ (like the webhook
        # URL, which carries the "owner unknown" fallback); email goes out through SES (OWNER_NOTIFY=email).
        ActionKind.NOTIFY_OWNER.value: ("ssm:GetParameter", "kms:Decrypt", "ses:SendEmail"),
        # Exceptions: Workflow.Status SUPPRESSED with a Note while one holds, NEW when it ends; the
        # policies' condition on BatchUpdateFindings admits RESOLVED, SUPPRESSED and NEW only.
        ActionKind.SUPPRESS_FINDINGS.value: ("securityhub:BatchUpdateFindings",),
        ActionKind.REOPEN_FINDINGS.value: ("securityhub:BatchUpdateFindings",),
    }
)

# Hardening: with LEASE_TABLE set, the kinds that must not run twice take a per-instance
# lease first (chalicelib/apply/lease.py): a conditional PutItem, and a DeleteItem to give it back
# when the action failed. The table is the home account's and the lease is taken with the
# function's own identity, so a member role never carries these; the prod policy grants them on
# the stage's ec2-warden-<stage>-leases table only (infra/state.yaml).
LEASE_PERMISSIONS: tuple[str, ...] = ("dynamodb:PutItem", "dynamodb:DeleteItem")
LEASED_KINDS: frozenset[str] = LEASED_KIND_NAMES  # rules/leases.py

# Modes of kinds named above before their ActionKind exists. They change instances, so only
# enforce carries them out. When a kind lands in model.ACTION_MODES, its line here goes.
PENDING_KIND_MODES: Mapping[str, frozenset[Mode]] = MappingProxyType({})

# What the Lambda runtime itself needs, whatever the pipeline does: its logs, and the on-failure
# destination of asynchronous invocations (Lambda sends there with the function's own role;
# the queue is infra/queues.yaml's EventsDeadLetterQueue).
PLATFORM_PERMISSIONS: tuple[str, ...] = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "sqs:SendMessage",
    # X-Ray active tracing (`xray: true`: Lambda sends its own segments with the function role),
    # and the Powertools Tracer's subsegments when a stage turns tracing on.
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
)


# The organisation-wide sweep (chalicelib/fanout/worker.py), in every mode and in the home account
# only: listing the Organization's accounts (SWEEP_ACCOUNTS=organization), sending one message
# per account x region to the fan-out queue (SendMessageBatch is authorised as sqs:SendMessage),
# the worker's SQS trigger (Lambda polls with the function's role), and assuming
# WARDEN_MEMBER_ROLE in member accounts. The stage policies scope the queue actions to the
# stage's ec2-warden-<stage>-fanout queue and AssumeRole to role/ec2-warden-member.
FANOUT_PERMISSIONS: tuple[str, ...] = (
    "organizations:ListAccounts",
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sts:AssumeRole",
)

# Cost estimates (COST_ESTIMATES=on), in every mode: on-demand list prices from the Price List
# API, asked with the function's own identity (snapshot/costs.py), so never in a member role.
# GetProducts takes no resource ARN.
COST_PERMISSIONS: tuple[str, ...] = ("pricing:GetProducts",)

# Approved exceptions (EXCEPTIONS_TABLE), in every mode: one Scan of the home account's
# ec2-warden-<stage>-exceptions table (infra/state.yaml) with the function's own identity. Only
# people write it, through the CLI with their own credentials: the functions never do.
EXCEPTION_PERMISSIONS: tuple[str, ...] = ("dynamodb:Scan",)

# What only the home account's functions need; a member role never carries these.
HOME_ONLY_PERMISSIONS: frozenset[str] = (
    frozenset(PLATFORM_PERMISSIONS)
    | frozenset(FANOUT_PERMISSIONS)
    | frozenset(COST_PERMISSIONS)
    | frozenset(EXCEPTION_PERMISSIONS)
)


def kind_modes(kind: str) -> frozenset[Mode]:
    """The modes that may carry out `kind` (an ActionKind value, or a pending kind's name)."""
    try:
        return ACTION_MODES[ActionKind(kind)]
    except ValueError:
        return PENDING_KIND_MODES[kind]


def permissions_for_mode(mode: Mode) -> frozenset[str]:
    """Every IAM action a deployment running in `mode` needs: reads, platform, fan-out, and the
    writes of the kinds that mode carries out."""
    writes = {p for kind, perms in ACTION_PERMISSIONS.items() if mode in kind_modes(kind) for p in perms}
    if any(mode in kind_modes(kind) for kind in LEASED_KINDS):
        writes |= set(LEASE_PERMISSIONS)
    return frozenset(READ_PERMISSIONS) | HOME_ONLY_PERMISSIONS | writes


# Kinds carried out from the home account only, never with a member account's role: Slack posts.
HOME_ONLY_KINDS: frozenset[str] = frozenset({ActionKind.NOTIFY_SLACK.value, ActionKind.NOTIFY_OWNER.value})


def member_permissions_for_mode(mode: Mode) -> frozenset[str]:
    """What the member-account role (infra/member-role.yaml) grants: the mode's needs, less the
    Lambda platform's, the fan-out's and the home-only kinds'."""
    home_only = {p for kind in HOME_ONLY_KINDS for p in ACTION_PERMISSIONS[kind]}
    return permissions_for_mode(mode) - HOME_ONLY_PERMISSIONS - home_only - set(LEASE_PERMISSIONS)
