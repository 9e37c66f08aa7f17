"""The one flow: scope -> snapshot -> checks -> plan -> apply -> report.

Every handler and every CLI command ends here, so an event replayed on a laptop takes exactly
the path it takes in Lambda."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib.adapters.clients import AwsClients
from chalicelib.adapters.log import logger
from chalicelib.apply import apply_plan
from chalicelib.checks import run_checks
from chalicelib.events.scope import Scope, scope_from_event
from chalicelib.model import ActionKind, Mode, ReadError, Report
from chalicelib.plan import plan_actions
from chalicelib.plan.exceptions import apply_exceptions, exception_reminders, restrain_plan
from chalicelib.plan.owner import with_owner_messages
from chalicelib.report.facts import audit_facts
from chalicelib.report.sprawl import sprawl_census
from chalicelib.rules.cost import totals_of, with_idle_costs
from chalicelib.settings import Settings
from chalicelib.snapshot import RefusedEventError, SnapshotError, take_snapshot
from chalicelib.snapshot.costs import read_cost_facet
from chalicelib.snapshot.exceptions import read_exception_facet


def run_event(event: Mapping[str, Any], settings: Settings, clients: AwsClients, now: datetime) -> Report:
    """Parse an event (EventError if it is not one) and run the pipeline on its scope."""
    return run(scope_from_event(event), settings, clients, now)


def run(scope: Scope, settings: Settings, clients: AwsClients, now: datetime, *, read_findings: bool = False) -> Report:
    """`read_findings`: read ec2-warden's open Security Hub findings in audit mode too (the CLI's
    preview: each finding's status and what notify would resolve; audit still writes nothing)."""
    region = scope.region or clients.region
    report = Report(
        mode=settings.mode,
        trigger=scope.trigger,
        account=scope.account,
        region=region,
        event_id=scope.event_id,
    )
    if scope.ignored:
        report.ignored = scope.ignored
        logger.info("event ignored", extra={"trigger": scope.trigger, "reason": scope.ignored})
        return report

    clients = clients.for_region(region)
    calls_before = clients.counter.snapshot()
    try:
        _run_stages(scope, settings, clients, now, report, read_findings)
    finally:
        report.api_calls = _delta(clients.counter.snapshot(), calls_before)
    return report


def _run_stages(
    scope: Scope, settings: Settings, clients: AwsClients, now: datetime, report: Report, read_findings: bool
) -> None:
    try:
        snapshot = take_snapshot(
            scope,
            clients,
            now,
            read_prior=settings.mode is not Mode.AUDIT or read_findings,
            usage_days=settings.idle_lookback_days,
            settings=settings,
        )
    except RefusedEventError as exc:
        report.ignored = str(exc)
        logger.warning("event refused", extra={"trigger": scope.trigger, "reason": str(exc)})
        return
    except SnapshotError as exc:
        report.errors.append(ReadError("snapshot", str(exc)))
        logger.error("snapshot failed", extra={"trigger": scope.trigger, "error": str(exc)})
        return
    report.account = snapshot.account
    report.instance_ids = tuple(i.id for i in snapshot.instances)
    report.errors.extend(snapshot.errors)
    report.census = _census(snapshot.instances, snapshot.missing_instance_ids)

    results = run_checks(snapshot, settings, now)
    for result in results:
        if result.not_evaluated:
            report.errors.append(
                ReadError(
                    result.check.value,
                    f"{len(result.not_evaluated)} instance(s) not evaluated, facts missing: "
                    + ", ".join(sorted(result.not_evaluated)[:10]),
                )
            )

    # Exceptions (warden:exception tags, the approved table) before anything is planned or priced for a waived finding.
    held = read_exception_facet(snapshot, settings, clients, now)
    report.errors.extend(held.errors)
    results, snapshot, waivers = apply_exceptions(results, snapshot, held.held, now, held.invalid)
    if waivers.held or waivers.invalid:
        report.exceptions = waivers.to_report(now)
        _log_exceptions(report.exceptions)

    if settings.cost_estimates:  # after the checks: only idle and warden-stopped instances are priced
        costs = read_cost_facet(snapshot, results, clients)
        snapshot = replace(snapshot, costs=costs.costs)
        results = with_idle_costs(results, costs.costs)
        totals = totals_of(costs.costs)
        report.cost = {**totals.to_report(), "price_errors": list(costs.errors)}

    plan = restrain_plan(plan_actions(results, snapshot, settings, now), waivers, snapshot)
    reminders = exception_reminders(waivers.held, now, settings.sweep_interval) if snapshot.is_sweep else {}
    plan = with_owner_messages(plan, snapshot, settings, now, reminders)
    for finding in plan.findings:
        logger.info(
            "finding",
            extra={
                "instance_id": finding.resource_id,
                "check": finding.check.value,
                "severity": finding.severity.value,
                "status": plan.statuses[finding.id].value,
                "finding_id": finding.id,
            },
        )
    outcomes = apply_plan(
        plan, snapshot, clients, settings.mode, now, settings=settings, run_errors=tuple(report.errors)
    )
    report.findings = list(plan.findings)
    report.statuses = dict(plan.statuses)
    report.actions = outcomes
    report.sprawl = sprawl_census(snapshot, results, settings)
    report.facts = audit_facts(snapshot, results, settings)
    for outcome in outcomes:
        if outcome.error:
            report.errors.append(ReadError(f"action:{outcome.kind.value}", outcome.error))
        if outcome.kind is ActionKind.RESOLVE_FINDINGS and outcome.done:
            failed = set(outcome.failed_ids)
            report.resolved.extend(i for i in outcome.resource_ids if i not in failed)
    for resolution in plan.resolutions:
        logger.info(
            "resolution",
            extra={
                "instance_id": resolution.resource_id,
                "check": resolution.check,
                "reason": resolution.reason,
                "applied": resolution.finding_id in report.resolved,
            },
        )


def _log_exceptions(exceptions: dict[str, Any]) -> None:
    """The audit trail: every exception the run saw, and what it did."""
    for state in ("active", "ended"):
        for e in exceptions[state]:
            logger.info(f"exception {state}", extra={"exception": e})
    for w in exceptions["waived"]:
        logger.info("finding waived", extra=w)
    for finding_id in exceptions["returning"]:
        logger.info("exception ended: finding announced again", extra={"finding_id": finding_id})
    for bad in exceptions["invalid"]:
        logger.warning("invalid exception tag", extra=bad)


def _census(instances: Any, missing: tuple[str, ...]) -> dict[str, int]:
    states = Counter(i.state for i in instances)
    census = {"instances": sum(states.values()), **dict(sorted(states.items()))}
    if missing:
        census["missing"] = len(missing)
    return census


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
