"""Entry points of the organisation-wide sweep: the scheduled sweep fans out, the worker sweeps.

    schedule -> handle_scheduled_sweep: FANOUT_QUEUE_URL unset -> entry.handle_sweep (own account
                and region, as before); set -> one SQS message per account x region
    SQS      -> handle_sweep_messages: per message, assume WARDEN_MEMBER_ROLE in the account (not
                in the home account), run the one pipeline there, answer with the failed messages

Where findings go (FINDINGS_DESTINATION). Security Hub's BatchImportFindings, with the default
product ARN that a custom integration like ec2-warden uses, accepts a finding only from the
account named in its AwsAccountId (AWS API reference, BatchImportFindings; importing for other
accounts is reserved to allow-listed partner products). An administrator account, delegated or
not, therefore cannot import a member's findings under the member's AwsAccountId. So:
  - member (default): the worker imports with the member role's credentials into the member's own
    hub, AwsAccountId and ProductArn being the member's. When the home account is the Security Hub
    (delegated) administrator, it sees these findings anyway, through the administrator view.
  - home: the worker imports with its own identity into the home account's hub; AWS then requires
    AwsAccountId (and the product ARN) to be the home account's, so the member account is named in
    the resource ARN, in ProductFields ec2-warden/ResourceAccount and in the finding id. For
    members without Security Hub, or a member role without Security Hub rights.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters.clients import AWS_ERRORS, AwsClients, aws_error_message
from chalicelib.adapters.fanout_aws import assume_role, list_active_accounts, send_targets
from chalicelib.adapters.log import logger
from chalicelib.events.scope import EventError, sweep_scope
from chalicelib.fanout.targets import (
    FanoutReport,
    MessageError,
    MessageResult,
    Target,
    batch_response,
    decode_target,
    encode_target,
    member_role_arn,
    outside_plan,
    plan_targets,
    sweep_regions,
)
from chalicelib.model import ReadError
from chalicelib.pipeline import run
from chalicelib.report.metrics import emit_run_metrics
from chalicelib.runtime.entry import _account_of, _region_of, clients_for, handle_sweep, time_budget
from chalicelib.settings import FindingsDestination, Settings, load_settings


class FanoutBatchFailed(RuntimeError):
    """Every message of a batch failed. Raised rather than returned: without ReportBatchItemFailures
    on the event source mapping Lambda ignores the answer and deletes the batch, while an error
    makes it retry in both set-ups (Powertools' batch processor does the same)."""


def handle_scheduled_sweep(event: Mapping[str, Any] | None = None, context: Any = None) -> dict[str, Any]:
    settings = load_settings()
    if not settings.fanout_queue_url:
        return handle_sweep(event, context)
    return fan_out(settings, event or {}, context)


def fan_out(settings: Settings, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """List the targets and send one message per account x region. Nothing is swept here."""
    region = settings.region or _region_of(context)
    if region is None:
        raise EventError("no region: set AWS_REGION (Lambda sets it) or pass one")
    queue_url = settings.fanout_queue_url
    if not queue_url:
        raise ValueError("fan_out needs FANOUT_QUEUE_URL")
    clients = clients_for(region, settings)
    clients.set_deadline(time_budget(context))
    before = clients.counter.snapshot()
    sweep_id = event.get("id") if isinstance(event.get("id"), str) else None
    report = FanoutReport(mode=settings.mode, sweep_id=sweep_id)
    try:
        accounts = _accounts_to_sweep(settings, clients, context)
    except AWS_ERRORS as exc:
        where = "organizations:ListAccounts" if settings.sweeps_organization else "sts:GetCallerIdentity"
        report.errors.append(ReadError(where, aws_error_message(exc)))
        accounts = ()
    report.targets = plan_targets(accounts, sweep_regions(settings, region))
    if not report.targets and not report.errors:
        report.errors.append(ReadError("fanout", "no target: no ACTIVE account to sweep"))
    if report.targets:
        messages = [(t, encode_target(t, sweep_id)) for t in report.targets]
        sent = send_targets(clients.get("sqs"), queue_url, messages)
        report.sent, report.failed = sent.sent, sent.failed
    report.api_calls = _delta(clients.counter.snapshot(), before)
    log = logger.error if report.errors or report.failed else logger.info
    log(
        "fan-out sent",
        extra={
            "sweep_id": sweep_id,
            "targets": len(report.targets),
            "sent": len(report.sent),
            "failed": len(report.failed),
            "errors": [e.message for e in report.errors],
        },
    )
    return report.to_dict()


def _accounts_to_sweep(settings: Settings, clients: AwsClients, context: Any) -> tuple[str, ...]:
    if settings.sweeps_organization:
        return list_active_accounts(clients.get("organizations"))
    if settings.sweep_accounts:
        return settings.sweep_accounts
    return (_own_account(clients, context),)


def _own_account(clients: AwsClients, context: Any) -> str:
    return _account_of(context) or str(clients.sts.get_caller_identity()["Account"])


def handle_sweep_messages(records: Iterable[Mapping[str, Any]], context: Any = None) -> dict[str, Any]:
    """Sweep each message's account and region; answer with Lambda's partial batch response."""
    settings = load_settings()
    home_region = settings.region or _region_of(context)
    if home_region is None:
        raise EventError("no region: set AWS_REGION (Lambda sets it) or pass one")
    home = clients_for(home_region, settings)
    home.set_deadline(time_budget(context))
    home_account = _own_account(home, context)  # an error here fails the whole batch: nothing can run
    partition = _partition_of(context)
    members = _OrganizationMembers(home)
    results = [_sweep_message(r, settings, context, home_account, home_region, partition, members) for r in records]
    if results and all(r.failed for r in results):
        detail = "; ".join(f"{r.message_id}: {', '.join(r.errors)[:300]}" for r in results[:3])
        raise FanoutBatchFailed(f"all {len(results)} message(s) failed: {detail}")
    return batch_response(results)


def _sweep_message(
    record: Mapping[str, Any],
    settings: Settings,
    context: Any,
    home_account: str,
    home_region: str,
    partition: str,
    members: _OrganizationMembers,
) -> MessageResult:
    message_id = str(record.get("messageId", ""))
    try:
        target, sweep_id = decode_target(record.get("body"))
    except MessageError as exc:
        # Failed, not dropped: after its retries it waits in the redrive queue for someone to look.
        logger.error("fan-out message refused", extra={"message_id": message_id, "error": str(exc)})
        return MessageResult(message_id, None, failed=True, errors=(f"message: {exc}",))
    where = {"message_id": message_id, "sweep_id": sweep_id, "account": target.account, "region": target.region}
    reason = outside_plan(target, settings, home_account, home_region)
    if reason is None and settings.sweeps_organization and target.account != home_account:
        try:
            reason = members.refusal(target.account)
        except AWS_ERRORS as exc:  # membership unknown: refuse to assume anything, retry later
            error = f"organizations:ListAccounts: {aws_error_message(exc)}"
            logger.error("fan-out target failed", extra={**where, "errors": [error]})
            return MessageResult(message_id, target, failed=True, errors=(error,), api_calls=1)
    if reason:
        logger.warning("fan-out message ignored", extra={**where, "reason": reason})
        return MessageResult(message_id, target, failed=False, ignored=reason)
    try:
        clients, assumed = _clients_for_target(target, settings, home_account, home_region, partition)
    except AWS_ERRORS as exc:  # role missing or not trusting us: this account fails, not the batch
        error = f"sts:AssumeRole: {aws_error_message(exc)}"
        logger.error("fan-out target failed", extra={**where, "errors": [error]})
        return MessageResult(message_id, target, failed=True, errors=(error,), api_calls=1)
    clients.set_deadline(time_budget(context))
    try:
        report = run(sweep_scope(target.account, target.region), settings, clients, datetime.now(UTC))
    except Exception as exc:
        # One account's surprise must not fail the other messages of the batch: this message is
        # reported failed (so retried, then redriven) and its traceback is in the log.
        logger.exception("fan-out target crashed", extra=where)
        return MessageResult(message_id, target, failed=True, errors=(f"{type(exc).__name__}: {exc}"[:500],))
    emit_run_metrics(report, settings.metrics_namespace)
    errors = tuple(f"{e.where}: {e.message}" for e in report.errors)
    log = logger.error if errors else logger.info
    log(
        "fan-out target swept",
        extra={**where, "findings": len(report.findings), "errors": list(errors), "census": report.census},
    )
    return MessageResult(
        message_id,
        target,
        failed=bool(errors),
        errors=errors,
        instances=len(report.instance_ids),
        findings=len(report.findings),
        api_calls=sum(report.api_calls.values()) + assumed,
    )


def _clients_for_target(
    target: Target, settings: Settings, home_account: str, home_region: str, partition: str
) -> tuple[AwsClients, int]:
    """Clients acting in the target account, and how many AssumeRole calls that took."""
    if target.account == home_account:
        return clients_for(target.region, settings), 0
    # The reader for audit and notify, the writer for enforce: a notify deployment never holds
    # credentials that could write in a member account (and the writer's trust policy refuses it).
    role_arn = member_role_arn(target.account, settings.member_role_for_mode, partition)
    credentials = assume_role(clients_for(home_region, settings).sts, role_arn, f"ec2-warden-{target.region}")
    to_home = settings.findings_destination is FindingsDestination.HOME
    clients = AwsClients.from_credentials(
        target.region,
        credentials,
        max_attempts=settings.aws_max_attempts,
        own_identity_for=("securityhub",) if to_home else (),
        findings_account=home_account if to_home else None,
        home=clients_for(home_region, settings),
    )
    return clients, 1


class _OrganizationMembers:
    """With SWEEP_ACCOUNTS=organization, the Organization's ACTIVE accounts, listed once per
    invocation (on the first message that needs them): a message naming any other account is
    refused before a role is assumed there."""

    def __init__(self, home: AwsClients) -> None:
        self._home = home
        self._accounts: frozenset[str] | None = None

    def refusal(self, account: str) -> str | None:
        if self._accounts is None:
            self._accounts = frozenset(list_active_accounts(self._home.get("organizations")))
        if account not in self._accounts:
            return f"account {account} is not an ACTIVE account of the Organization (SWEEP_ACCOUNTS=organization)"
        return None


def _partition_of(context: Any) -> str:
    arn = getattr(context, "invoked_function_arn", None)
    if isinstance(arn, str) and arn.startswith("arn:") and arn.count(":") >= 5:
        return arn.split(":")[1] or "aws"
    return "aws"


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
