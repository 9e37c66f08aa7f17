"""Lambda entry points behind app.py's handlers: settings, clients, clock, then the pipeline.

Kept out of app.py so that app.py stays a list of thin handlers and so that tests can call the
same functions the handlers call."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters.clients import AwsClients
from chalicelib.adapters.log import logger
from chalicelib.events.scope import EventError, Scope, scope_from_event, sweep_scope
from chalicelib.model import ReadError, Report
from chalicelib.pipeline import run
from chalicelib.report.metrics import emit_run_metrics
from chalicelib.rules.ids import is_account_id
from chalicelib.rules.partitions import partition_of
from chalicelib.runtime.dispatch import run_routed
from chalicelib.settings import Settings, load_settings

# Clients cost ~0.3 s each to build; a warm Lambda keeps them. The call count is per run (a delta).
_CLIENTS: dict[tuple[str, str | None], AwsClients] = {}


def clients_for(region: str, settings: Settings, endpoint_url: str | None = None) -> AwsClients:
    key = (region, endpoint_url)
    if key not in _CLIENTS:
        _CLIENTS[key] = AwsClients(region, endpoint_url=endpoint_url, max_attempts=settings.aws_max_attempts)
    return _CLIENTS[key]


def handle_event(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """An EventBridge event (CloudTrail call or state change) -> the report as a dict."""
    settings = load_settings()
    try:
        scope = scope_from_event(event)
    except EventError as exc:
        logger.error("malformed event refused", extra={"error": str(exc)})
        report = Report(mode=settings.mode, trigger="invalid-event", account=None, region=None)
        report.errors.append(ReadError("event", str(exc)))
        emit_run_metrics(report, settings.metrics_namespace)
        return report.to_dict()
    return _finish(run_scope(scope, settings, context), settings)


def run_scope(scope: Scope, settings: Settings, context: Any) -> Report:
    """Run one event's (or one queued batch group's) scope as Lambda runs it: member accounts'
    events (ALLOWED_ACCOUNTS) are judged in their account with the member role. EventError when
    neither the event nor AWS_REGION names a region."""
    own_region = settings.region or _region_of(context)
    home_region = own_region or scope.region
    if home_region is None:
        raise EventError("the event names no region and AWS_REGION is not set")
    return run_routed(
        scope,
        settings,
        home=clients_for(home_region, settings),
        clients_in=lambda region: clients_for(region, settings),
        home_account=_account_of(context),
        own_region=own_region,
        partition=partition_of(home_region),
        now=datetime.now(UTC),
        budget=time_budget(context),
    )


def handle_sweep(event: Mapping[str, Any] | None = None, context: Any = None) -> dict[str, Any]:
    """A scheduled sweep of every instance in this function's account and region."""
    settings = load_settings()
    account = _account_of(context)
    region = settings.region or _region_of(context)
    if region is None:
        raise EventError("no region: set AWS_REGION (Lambda sets it) or pass one")
    return _run(sweep_scope(account, region), settings, context)


def _run(scope: Scope, settings: Settings, context: Any) -> dict[str, Any]:
    region = scope.region or settings.region or _region_of(context)
    if region is None:
        raise EventError("the event names no region and AWS_REGION is not set")
    clients = clients_for(region, settings)
    clients.set_deadline(time_budget(context))
    return _finish(run(scope, settings, clients, datetime.now(UTC)), settings)


def _finish(report: Report, settings: Settings) -> dict[str, Any]:
    logger.info(
        "run finished",
        extra={
            "trigger": report.trigger,
            "findings": len(report.findings),
            "resolved": len(report.resolved),
            "errors": len(report.errors),
            "api_calls": sum(report.api_calls.values()),
        },
    )
    emit_run_metrics(report, settings.metrics_namespace)
    return response_of(report)


# Lambda refuses a synchronous response over 6 MB (and an asynchronous invocation's destination
# record over 256 KB); a finding is ~1-2 KB of JSON. Past this many, the handler answers without
# the list: every finding is already in Security Hub (notify/enforce) and in the log, and the CLI's
# report (`sweep`, `replay`) always lists them all.
MAX_RESPONSE_FINDINGS = 1000


def response_of(report: Report) -> dict[str, Any]:
    """The handler's answer: the report, its findings list left empty (`findings_omitted` says how
    many) when there are more than MAX_RESPONSE_FINDINGS."""
    if len(report.findings) <= MAX_RESPONSE_FINDINGS:
        return report.to_dict()
    return report.to_dict(findings=False) | {"findings_omitted": len(report.findings)}


def time_budget(context: Any) -> float | None:
    """Seconds of AWS work this invocation may start: what Lambda leaves, less a margin to report.

    The margin covers one more attempt in flight (connect 5 s + read 20 s) and the report itself."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    seconds = float(remaining()) / 1000
    return max(0.0, seconds - min(30.0, 0.2 * seconds + 5.0))


def _account_of(context: Any) -> str | None:
    arn = getattr(context, "invoked_function_arn", None)
    if isinstance(arn, str) and arn.count(":") >= 5:
        account = arn.split(":")[4]
        return account if is_account_id(account) else None
    return None


def _region_of(context: Any) -> str | None:
    arn = getattr(context, "invoked_function_arn", None)
    if isinstance(arn, str) and arn.count(":") >= 5:
        return arn.split(":")[3] or None
    return None
