"""Carry out a plan through one adapter per service, only as far as the mode allows.

Every action is idempotent (deterministic finding ids), and a failing action is reported in its
outcome without stopping the others."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from chalicelib import notify
from chalicelib.adapters.clients import AWS_ERRORS, AwsClients, aws_error_message
from chalicelib.adapters.log import logger
from chalicelib.adapters.securityhub import ImportResult, SecurityHubAdapter
from chalicelib.adapters.slack import SlackAdapter, SlackError, webhook_url
from chalicelib.apply.ec2 import mark_idle, stop_idle, tag_launched_by, unmark_idle
from chalicelib.apply.lease import new_holder, with_lease
from chalicelib.apply.owner import notify_owners
from chalicelib.apply.ssm import carry_out_patch
from chalicelib.apply.workflow import set_workflow
from chalicelib.model import ACTION_MODES, Action, ActionKind, ActionOutcome, Mode, Plan, ReadError, Snapshot
from chalicelib.rules.asff import finding_to_asff, resolution_note, resolution_to_asff
from chalicelib.settings import Settings


def apply_plan(
    plan: Plan,
    snapshot: Snapshot,
    clients: AwsClients,
    mode: Mode,
    now: datetime,
    *,
    settings: Settings | None = None,
    run_errors: Sequence[ReadError] = (),
) -> list[ActionOutcome]:
    outcomes: list[ActionOutcome] = []
    slack: list[Action] = []
    owners: list[Action] = []
    holder = new_holder()  # this run's name on the leases it takes (apply/lease.py)
    for action in plan.actions:
        if mode not in ACTION_MODES[action.kind]:
            # The plan's own reason stays: in audit, the report says what enforce would have done.
            reason = f"{mode.value} mode: not applied" + (f" ({action.reason})" if action.reason else "")
            outcomes.append(ActionOutcome(action.kind, action.resource_ids, done=False, reason=reason))
            continue
        if action.kind is ActionKind.NOTIFY_SLACK:
            slack.append(action)  # last, whatever the plan's order: messages say what the rest did
            continue
        if action.kind is ActionKind.NOTIFY_OWNER:
            owners.append(action)  # after the changes they report, before the digest that counts them
            continue
        action = with_lease(action, settings, holder, clients.region)  # patch and stop-idle only
        outcomes.append(_carry_out(action, snapshot, clients, now))
    if owners and settings is not None:
        outcomes.extend(
            notify_owners(
                owners, plan, snapshot, clients, settings, mode, now, list(outcomes), _home_ssm(clients, settings)
            )
        )
    if slack:
        outcomes.extend(_notify_slack(slack, plan, snapshot, clients, settings, mode, now, outcomes, run_errors))
    return outcomes


def _carry_out(action: Action, snapshot: Snapshot, clients: AwsClients, now: datetime) -> ActionOutcome:
    handler = _HANDLERS.get(action.kind)
    if handler is None:  # a programming error, not an AWS fault
        raise ValueError(f"no adapter carries out {action.kind}")
    try:
        return handler(action, snapshot, clients, now)
    except AWS_ERRORS as exc:
        return ActionOutcome(
            action.kind, action.resource_ids, done=False, error=aws_error_message(exc), reason=action.reason
        )


def _import(action: Action, snapshot: Snapshot, clients: AwsClients, now: datetime) -> ActionOutcome:
    by_id = {i.id: i for i in snapshot.instances}
    prior = snapshot.prior_findings or {}
    payload = [
        finding_to_asff(
            f, now, instance=by_id.get(f.resource_id), prior=prior.get(f.id), reporter=clients.findings_account
        )
        for f in action.findings
    ]
    result = SecurityHubAdapter(clients.securityhub).import_findings(payload)
    return _outcome(action, result)


def _resolve(action: Action, snapshot: Snapshot, clients: AwsClients, now: datetime) -> ActionOutcome:
    """Re-import each finding PASSED and ARCHIVED, then set Workflow.Status RESOLVED on those that
    imported, which only BatchUpdateFindings may do: one call per 100, none when nothing imported.

    Findings a person already marked RESOLVED or SUPPRESSED are left as they are (no call). An id
    whose workflow update fails is reported in failed_ids: it is archived, but not triaged."""
    payload = [
        resolution_to_asff(r, snapshot.account, snapshot.region, now, reporter=clients.findings_account)
        for r in action.resolutions
    ]
    hub = SecurityHubAdapter(clients.securityhub)
    result = hub.import_findings(payload)
    imported = set(result.imported)
    resolutions = {r.finding_id: r for r in action.resolutions}
    to_triage = [
        {"Id": f["Id"], "ProductArn": f["ProductArn"]}
        for f in payload
        if f["Id"] in imported and resolutions[f["Id"]].prior.workflow_status not in _TRIAGED
    ]
    if to_triage:
        update = hub.set_workflow_status(
            to_triage, "RESOLVED", note=lambda ids: resolution_note([resolutions[i].reason for i in ids])
        )
        result.imported = [i for i in result.imported if i not in update.failed]
        result.failed.update({i: f"Workflow.Status not set: {msg}" for i, msg in update.failed.items()})
    return _outcome(action, result)


_TRIAGED = frozenset({"RESOLVED", "SUPPRESSED"})  # Workflow.Status values a resolution leaves alone


def _notify_slack(
    actions: list[Action],
    plan: Plan,
    snapshot: Snapshot,
    clients: AwsClients,
    settings: Settings | None,
    mode: Mode,
    now: datetime,
    done_so_far: list[ActionOutcome],
    run_errors: Sequence[ReadError],
) -> list[ActionOutcome]:
    """Post each planned message. A Slack failure is an outcome with an error, never an exception."""

    def failed(action: Action, error: str) -> ActionOutcome:
        return ActionOutcome(action.kind, action.resource_ids, done=False, error=error, reason=action.reason)

    try:
        if settings is None:
            raise SlackError("Slack is not configured: apply_plan was given no settings")
        adapter = SlackAdapter(webhook_url(settings, _home_ssm(clients, settings)))
    except SlackError as exc:
        logger.error("slack unavailable", extra={"error": str(exc), "messages": len(actions)})
        return [failed(a, str(exc)) for a in actions]

    outcomes: list[ActionOutcome] = []
    gave_up: str | None = None
    for action in actions:
        if gave_up is not None:
            outcomes.append(failed(action, f"not sent: {gave_up}"))
            continue
        if action.message == notify.MESSAGE_DIGEST:
            digest = notify.sweep_digest(plan, snapshot, done_so_far, run_errors, mode, now, settings)
            payload = notify.digest_message(digest)
        else:
            notices = [notify.finding_notice(f, plan, snapshot, done_so_far, mode, settings) for f in action.findings]
            if action.message == notify.MESSAGE_ROLLUP:
                sent_singly = sum(1 for a in actions if a.message == notify.MESSAGE_FINDING)
                payload = notify.rollup_message(notices, sent_singly)
            else:
                payload = notify.finding_message(notices[0])
        where = {"instance_ids": sorted({f.resource_id for f in action.findings}), "slack_message": action.message}
        try:
            adapter.post(payload)
        except SlackError as exc:
            logger.error("slack message failed", extra={**where, "error": str(exc)})
            outcomes.append(failed(action, str(exc)))
            if exc.give_up:
                gave_up = str(exc)
            continue
        logger.info("slack message posted", extra={**where, "checks": sorted({f.check.value for f in action.findings})})
        outcomes.append(ActionOutcome(action.kind, action.resource_ids, done=True, reason=action.reason))
    return outcomes


def _home_ssm(clients: AwsClients, settings: Settings) -> object:
    """SSM where the webhook parameter lives: the function's own account and region (AWS_REGION).

    Not `clients.own("ssm")` alone: that is the home account's, but in the region these clients
    sweep, and a run for another region's event or fan-out target (SWEEP_REGIONS) would look for
    the SecureString there. own_in() keeps one client per region, so Powertools' cache holds."""
    if settings.region:
        return clients.own_in(settings.region, "ssm")
    return clients.own("ssm")  # no AWS_REGION (a local run): these clients' own region


def _outcome(action: Action, result: ImportResult) -> ActionOutcome:
    if not result.failed:
        return ActionOutcome(action.kind, action.resource_ids, done=True, reason=action.reason)
    detail = "; ".join(f"{fid}: {msg}" for fid, msg in sorted(result.failed.items())[:5])
    more = f" (and {len(result.failed) - 5} more)" if len(result.failed) > 5 else ""
    return ActionOutcome(
        action.kind,
        action.resource_ids,
        done=bool(result.imported),
        error=f"{len(result.failed)} of {len(action.resource_ids)} failed: {detail}{more}",  # retried where AWS allows
        reason=action.reason,
        failed_ids=tuple(sorted(result.failed)),
    )


Handler = Callable[[Action, Snapshot, AwsClients, datetime], ActionOutcome]

# One line per action kind: the adapter call that carries it out.
_HANDLERS: dict[ActionKind, Handler] = {
    ActionKind.IMPORT_FINDINGS: _import,
    ActionKind.RESOLVE_FINDINGS: _resolve,
    ActionKind.PATCH: carry_out_patch,
    ActionKind.MARK_IDLE: mark_idle,
    ActionKind.UNMARK_IDLE: unmark_idle,
    ActionKind.STOP_IDLE: stop_idle,
    ActionKind.TAG_LAUNCHED_BY: tag_launched_by,
    ActionKind.SUPPRESS_FINDINGS: set_workflow,
    ActionKind.REOPEN_FINDINGS: set_workflow,
}
