"""Run one event's scope in the account it belongs to: route it (chalicelib/events/routing.py),
take the member role's clients when it is a served member account's, and run the one pipeline.

The Lambda entry point (chalicelib/runtime/entry.py) and `replay` (chalicelib/cli.py) both end here, so a
captured member event replays the way Lambda runs it. A role that is missing or refuses fails this
event alone: the report says so under `sts:AssumeRole` (and the ActionErrors metric counts it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib.adapters.clients import AWS_ERRORS, AwsClients, aws_error_message
from chalicelib.adapters.log import logger
from chalicelib.adapters.member_sessions import MEMBER_SESSIONS, MemberSessions
from chalicelib.events.routing import Route, needs_home_account, needs_organization, route_event
from chalicelib.events.scope import Scope
from chalicelib.fanout.targets import member_role_arn
from chalicelib.model import ReadError, Report
from chalicelib.pipeline import run
from chalicelib.settings import Settings

ASSUME_ROLE = "sts:AssumeRole"


def run_routed(
    scope: Scope,
    settings: Settings,
    *,
    home: AwsClients,
    clients_in: Callable[[str], AwsClients],
    home_account: str | None,
    own_region: str | None,
    partition: str,
    now: datetime,
    budget: float | None = None,
    sessions: MemberSessions = MEMBER_SESSIONS,
    read_findings: bool = False,
) -> Report:
    """`home`: the function's own clients in its own region (STS and Organizations calls go there);
    `clients_in(region)`: its own clients in another region; `home_account`: its account when
    known (from the Lambda context), else read with GetCallerIdentity once, only if needed."""
    before = home.counter.snapshot()
    try:
        if home_account is None and needs_home_account(scope, settings):
            where = "sts:GetCallerIdentity"
            home_account = sessions.home_account(home)
        organization = None
        if needs_organization(scope, settings):
            where = "organizations:ListAccounts"
            organization = sessions.organization_accounts(home)
    except AWS_ERRORS as exc:
        report = _failed(scope, settings, own_region, ReadError(where, aws_error_message(exc)))
        logger.error("event not routed", extra={"event_id": scope.event_id, "error": report.errors[0].message})
        return _with_calls(report, home, before)
    route = route_event(scope, settings, home_account, own_region, organization)
    region = route.scope.region or own_region or home.region
    if route.member is None:
        clients = clients_in(region)
    else:
        try:
            clients = sessions.clients(route.member, region, settings, home, str(home_account), partition)
        except AWS_ERRORS as exc:
            return _with_calls(_role_refused(route, settings, region, partition, exc), home, before)
        logger.info(
            "event judged in its own account",
            extra={
                "event_id": scope.event_id,
                "account": route.member,
                "region": region,
                "role": settings.member_role_for_mode,
            },
        )
    clients.set_deadline(budget)
    routing_calls = _with_calls(Report(settings.mode, "", None, None), home, before).api_calls
    report = run(route.scope, settings, clients, now, read_findings=read_findings)
    for key, count in routing_calls.items():
        report.api_calls[key] = report.api_calls.get(key, 0) + count
    return report


def _role_refused(route: Route, settings: Settings, region: str, partition: str, exc: Exception) -> Report:
    role = member_role_arn(str(route.member), settings.member_role_for_mode, partition)
    error = ReadError(ASSUME_ROLE, f"cannot act in account {route.member} as {role}: {aws_error_message(exc)}")
    logger.error("event failed: member role refused", extra={"event_id": route.scope.event_id, "error": error.message})
    return _failed(route.scope, settings, region, error)


def _failed(scope: Scope, settings: Settings, region: str | None, error: ReadError) -> Report:
    report = Report(settings.mode, scope.trigger, scope.account, scope.region or region, event_id=scope.event_id)
    report.errors.append(error)
    return report


def _with_calls(report: Report, home: AwsClients, before: dict[str, int]) -> Report:
    """The routing's own calls (GetCallerIdentity, ListAccounts, AssumeRole), counted on the home
    clients since `before`, join the report's."""
    after = home.counter.snapshot()
    for key, count in after.items():
        extra = count - before.get(key, 0)
        if extra > 0:
            report.api_calls[key] = report.api_calls.get(key, 0) + extra
    return report
